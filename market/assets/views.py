"""Asset pages: the asset list (banks and operators: all; owners: their own), registering
an asset, the asset page with its valuation history, pledges and an appraisal form."""
from __future__ import annotations

from decimal import Decimal

from flask import (Blueprint, Flask, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import or_, select

from ..accounts.models import Org
from ..db import get_session
from ..forms import BaseForm
from ..lending.models import Loan, Pledge, PledgeAsset
from ..lending.services import active_pledge_of_asset
from ..timeutil import business_date, utcnow
from ..web import add_nav, add_panel, role_required
from . import access, services
from .access import Right
from .forms import AssetForm, ConsentForm, StatusForm, ValuationForm
from .labels import KIND_LABELS, LEGAL_LABELS, METHOD_LABELS, ORG_KIND_LABELS
from .models import ASSET_KINDS, Asset, Valuation

bp = Blueprint("assets_web", __name__)


def today():
    return business_date(utcnow(), current_app.config["MARKET_TIMEZONE"])


def valuation_chart(valuations, width: int = 320, height: int = 90) -> Markup | None:
    """A small inline SVG of a valuation history: a step line of values over time."""
    vals = sorted(valuations, key=lambda v: (v.valued_on, v.id))
    if not vals:
        return None
    pad = 8
    top = max(v.amount for v in vals) or Decimal(1)
    first, last = vals[0].valued_on, vals[-1].valued_on
    span = max((last - first).days, 1)
    pts = []
    for v in vals:
        x = pad + (width - 2 * pad) * (((v.valued_on - first).days / span) if len(vals) > 1
                                       else 0.5)
        y = height - pad - float(v.amount / top) * (height - 2 * pad - 12)
        pts.append((x, y, v))
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y, _v in pts)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(str(v.valued_on))}: '
        f'{v.amount:,.2f}</title></circle>' for x, y, v in pts)
    return Markup(
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(_("Valuation history"))}" data-test="valuation-chart">'
        f'<polyline fill="none" stroke="currentColor" stroke-width="2" points="{line}"/>'
        f'{dots}<text x="{pad}" y="12" font-size="10">{top:,.0f}</text></svg>')


def _asset_with_right(s, asset_id: int) -> tuple[Asset, Right]:
    """The asset and the user's right over it (access.py); 404 for anyone without one."""
    asset = services.get_row(s, Asset, asset_id)
    right = access.change_right(s, current_user, asset) if asset is not None else Right.NONE
    if right is Right.NONE:
        abort(404)
    return asset, right


def _pledge_history(s, asset_id: int) -> list:
    rows = s.execute(select(Pledge, Loan, PledgeAsset.active)
                     .join(PledgeAsset, PledgeAsset.pledge_id == Pledge.id)
                     .join(Loan, Loan.id == Pledge.loan_id)
                     .where(PledgeAsset.asset_id == asset_id)
                     .order_by(Pledge.registered_on.desc())).all()
    orgs = {o.id: o for o in s.scalars(select(Org).where(
        Org.id.in_({r.Loan.bank_org_id for r in rows} or {0})))}
    return [{"pledge": r.Pledge, "loan": r.Loan, "pledgee": orgs.get(r.Loan.bank_org_id),
             "visible": current_user.role == "operator"
             or current_user.org_id in (r.Loan.bank_org_id, r.Loan.borrower_org_id)}
            for r in rows]


@bp.route("/assets")
@role_required("bank", "owner", "operator")
def index():
    s = get_session()
    q = (request.args.get("q") or "").strip()[:100]
    kind = request.args.get("kind") if request.args.get("kind") in ASSET_KINDS else None
    stmt = select(Asset).order_by(Asset.id.desc())
    shown = access.party_clause(current_user)
    if shown is not None:
        stmt = stmt.where(shown)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Asset.registry_no.ilike(like), Asset.title.ilike(like)))
    if kind:
        stmt = stmt.where(Asset.kind == kind)
    rows = list(s.scalars(stmt.limit(200)))
    day = today()
    values = {a.id: services.valuation_on(s, a.id, day) for a in rows}
    owners = {o.id: o for o in s.scalars(select(Org).where(
        Org.id.in_({a.owner_org_id for a in rows} or {0})))}
    pledged = {a.id: active_pledge_of_asset(s, a.id) for a in rows}
    return render_template("assets/index.html", rows=rows, values=values, owners=owners,
                           pledged=pledged, q=q, kind=kind, today=day)


@bp.route("/assets/new", methods=["GET", "POST"])
@role_required("bank", "owner")
def create():
    s = get_session()
    form = AssetForm()
    if current_user.role == "owner":
        form.owner_org_id.choices = [(current_user.org_id, current_user.org.name)]
    else:
        form.owner_org_id.choices = [(o.id, o.name) for o in s.scalars(
            select(Org).where(Org.kind.in_(("enterprise", "investor"))).order_by(Org.name))]
    if form.validate_on_submit():
        asset = services.create_asset(
            s, kind=form.kind.data, registry_no=form.registry_no.data, title=form.title.data,
            owner_org_id=form.owner_org_id.data, jurisdiction=form.jurisdiction.data,
            classification=form.classification.data or None,
            legal_status=form.legal_status.data, expires_on=form.expires_on.data,
            next_fee_due_on=form.next_fee_due_on.data, abstract=form.abstract.data or None,
            actor_id=current_user.id)
        s.commit()
        flash(_("Asset registered."), "info")
        return redirect(url_for("assets_web.detail", asset_id=asset.id))
    return render_template("assets/new.html", form=form)


@bp.route("/assets/<int:asset_id>")
@role_required("bank", "owner", "operator")
def detail(asset_id: int):
    s = get_session()
    asset = services.get_row(s, Asset, asset_id)
    if asset is None or not access.may_see(s, current_user, asset):
        abort(404)
    day = today()
    vals = (services.valuations_of(s, asset.id) if access.is_party(current_user, asset)
            else list(asset.valuations))
    current = services.valuation_on(s, asset.id, day)
    form = ValuationForm(formdata=None)
    form.valued_on.data = day
    status_form = StatusForm(formdata=None, obj=asset)
    return render_template("assets/detail.html", asset=asset, valuations=vals,
                           current=current, chart=valuation_chart(vals), form=form,
                           owner=s.get(Org, asset.owner_org_id), today=day,
                           co_owners=[(c, s.get(Org, c.org_id)) for c in asset.co_owners],
                           pledges=_pledge_history(s, asset.id),
                           right=access.change_right(s, current_user, asset).value,
                           may_consent=lambda org_id: access.may_record_consent(current_user,
                                                                                org_id),
                           status_form=status_form, consent_form=ConsentForm(formdata=None))


@bp.route("/assets/<int:asset_id>/valuations", methods=["POST"])
@role_required("bank", "owner", "operator")
def add_valuation(asset_id: int):
    s = get_session()
    _asset, right = _asset_with_right(s, asset_id)
    form = ValuationForm()
    if not form.validate_on_submit():
        flash(_("Check the valuation: %(errors)s", errors="; ".join(
            f"{form[k].label.text}: {', '.join(map(str, v))}" for k, v in form.errors.items())),
            "error")
        return redirect(url_for("assets_web.detail", asset_id=asset_id))
    proposed = right is Right.PROPOSE
    services.add_valuation(s, asset_id, amount=form.amount.data, valued_on=form.valued_on.data,
                           method=form.method.data, agency=form.agency.data,
                           valid_until=form.valid_until.data, actor_id=current_user.id,
                           status="proposed" if proposed else "applied", today=today())
    s.commit()
    flash(_("Valuation proposed: it counts once the pledgee applies it.") if proposed
          else _("Valuation recorded."), "info")
    return redirect(url_for("assets_web.detail", asset_id=asset_id))


@bp.route("/assets/<int:asset_id>/valuations/<int:valuation_id>/apply", methods=["POST"])
@role_required("bank", "owner", "operator")
def apply_valuation(asset_id: int, valuation_id: int):
    """The pledgee or an operator lets an owner's proposed valuation count."""
    s = get_session()
    asset, right = _asset_with_right(s, asset_id)
    v = services.get_row(s, Valuation, valuation_id)
    if right is not Right.CHANGE or v is None or v.asset_id != asset.id:
        abort(404)
    if BaseForm().validate_on_submit():  # the CSRF token
        services.apply_valuation(s, v, actor_id=current_user.id)
        s.commit()
        flash(_("Valuation applied."), "info")
    return redirect(url_for("assets_web.detail", asset_id=asset_id))


@bp.route("/assets/<int:asset_id>/status", methods=["POST"])
@role_required("bank", "owner", "operator")
def update_status(asset_id: int):
    """What the IP office says now: legal status, expiry, next annuity/renewal date."""
    s = get_session()
    _asset, right = _asset_with_right(s, asset_id)
    if right is not Right.CHANGE:  # the owner of a pledged asset: the pledgee decides
        abort(404)
    form = StatusForm()
    if form.validate_on_submit():
        services.update_legal_status(s, asset_id, legal_status=form.legal_status.data,
                                     expires_on=form.expires_on.data,
                                     next_fee_due_on=form.next_fee_due_on.data,
                                     actor_id=current_user.id)
        s.commit()
        flash(_("Legal status updated."), "info")
    else:
        flash(_("Check the form."), "error")
    return redirect(url_for("assets_web.detail", asset_id=asset_id))


@bp.route("/assets/<int:asset_id>/co-owners/<int:org_id>/consent", methods=["POST"])
@role_required("bank", "owner", "operator")
def consent(asset_id: int, org_id: int):
    """A co-owner's written consent to pledge (专利权质押登记办法)."""
    s = get_session()
    asset = services.get_row(s, Asset, asset_id)
    if asset is None or not access.may_record_consent(current_user, org_id):
        abort(404)
    form = ConsentForm()
    if form.validate_on_submit():
        services.record_consent(s, asset_id, org_id, consent_ref=form.consent_ref.data or "",
                                actor_id=current_user.id)
        s.commit()
        flash(_("Consent recorded."), "info")
    return redirect(url_for("assets_web.detail", asset_id=asset_id))


def _owner_panel(user, s):
    assets = list(s.scalars(select(Asset).where(Asset.owner_org_id == user.org_id)
                            .order_by(Asset.id.desc()).limit(20)))
    loans = list(s.scalars(select(Loan).where(Loan.borrower_org_id == user.org_id)
                           .order_by(Loan.id.desc()).limit(20)))
    day = today()
    return Markup(render_template("assets/_panel_owner.html", assets=assets, loans=loans, today=day,
                           pledged={a.id: active_pledge_of_asset(s, a.id) for a in assets},
                           values={a.id: services.valuation_on(s, a.id, day) for a in assets}))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav(app, "assets_web.index", _l("IP assets"), roles=("bank", "owner", "operator"),
            order=40)
    add_panel(app, _owner_panel, roles=("owner",), order=30)
    app.jinja_env.globals.update(
        asset_kind_label=lambda k: KIND_LABELS.get(k, k),
        asset_legal_label=lambda k: LEGAL_LABELS.get(k, k),
        valuation_method_label=lambda k: METHOD_LABELS.get(k, k),
        asset_kind_labels=KIND_LABELS,
        org_kind_label=lambda k: ORG_KIND_LABELS.get(k, k))
