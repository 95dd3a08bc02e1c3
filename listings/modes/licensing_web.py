"""Licensing pages: the terms and licence actions on a listing's page (take an open
licence and pay in one step; apply; the seller decides), a licence's page, "my licences"
for the licensee and the public licence register beside the pledge register."""
from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from market.accounts.models import Org
from market.assets.models import Asset
from market.db import get_session
from market.errors import DomainError
from market.payments.models import Payment
from market.settlement.statement import FontMissing
from market.web import add_nav, role_required

from .. import services as listing_services
from ..forms import ActionForm, ReasonForm
from . import licence_statement, licensing, royalties, royalty_reminders
from .licensing_forms import RoyaltyReportForm
from .licensing_models import RoyaltyReport

bp = Blueprint("licensing_web", __name__)

KIND_LABELS = {"exclusive": _l("Exclusive (独占)"), "sole": _l("Sole (排他)"),
               "non_exclusive": _l("Non-exclusive (普通)")}
STATUS_LABELS = {"applied": _l("Applied"), "awaiting_payment": _l("Awaiting payment"),
                 "active": _l("In force"), "rejected": _l("Rejected"),
                 "cancelled": _l("Cancelled"), "expired": _l("Expired")}


def panel(listing) -> dict | None:
    """What the listing page shows of licensing (a Jinja global, called by the template)."""
    if listing.mode != "licensing":
        return None
    s = get_session()
    user = current_user if getattr(current_user, "is_authenticated", False) else None
    terms = licensing.terms_of(s, listing.id)
    seller = user is not None and listing_services.is_seller(user, listing)
    rows = licensing.applications_of(s, listing.id)
    mine = [lc for lc in rows if user is not None and lc.licensee_org_id == user.org_id]
    orgs = {o.id: o.name for o in s.scalars(select(Org).where(
        Org.id.in_({lc.licensee_org_id for lc in rows} or {0})))}
    return {"terms": terms, "seller": seller, "applications": rows if seller else [],
            "mine": mine, "orgs": orgs,
            "may_take": (user is not None and user.role in ("investor", "owner")
                         and not seller and listing.status == "published" and not mine)}


def in_force(registry_no: str):
    """Licences in force on an asset (the public register's rows for it)."""
    return get_session().execute(licensing.register_stmt(registry_no)).all()


def in_force_by_asset(listing) -> list[tuple[str, list]]:
    """(registry number, its licences in force) for each of the listing's assets, in the
    listing's order, from one query (the panel once ran two per asset)."""
    s = get_session()
    ids = [la.asset_id for la in listing.assets]
    numbers = dict(s.execute(select(Asset.id, Asset.registry_no)
                             .where(Asset.id.in_(ids or [0]))).all())
    rows: dict[str, list] = {}
    for r in s.execute(licensing.register_stmt(None)
                       .where(Asset.registry_no.in_(set(numbers.values()) or {""}))):
        rows.setdefault(r.registry_no, []).append(r)
    return [(numbers[i], rows.get(numbers[i], [])) for i in ids if i in numbers]


def registry_no_of(asset_id: int) -> str:
    return get_session().get(Asset, asset_id).registry_no


def _licence_or_404(s, licence_id: int):
    try:
        return licensing.get_licence(s, current_user, licence_id)
    except DomainError:
        abort(404)


def _fail(s, exc: DomainError) -> None:
    s.rollback()
    flash(exc.message, "error")


@bp.route("/listings/<int:listing_id>/licences", methods=["POST"])
@role_required("investor", "owner")
def take(listing_id: int):
    """Apply for a licence; an open licence is taken and its offline payment started."""
    s = get_session()
    listing = listing_services.get_listing(s, current_user, listing_id, for_update=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        lic = licensing.apply(s, current_user, listing)
        if lic.status == "awaiting_payment":
            licensing.start_payment(s, current_user, lic, "offline")
        s.commit()
    except DomainError as exc:
        _fail(s, exc)
        return redirect(url_for("listings_web.detail", listing_id=listing_id))
    flash(_("Licence taken: pay the fee by bank transfer quoting the reference.")
          if lic.open else _("Application sent to the seller."), "info")
    return redirect(url_for("licensing_web.licence", licence_id=lic.id))


@bp.route("/licences/<int:licence_id>/<any(accept, reject):decision>", methods=["POST"])
@role_required("bank", "owner")
def decide(licence_id: int, decision: str):
    s = get_session()
    lic, listing = _licence_or_404(s, licence_id)
    form = ReasonForm() if decision == "reject" else ActionForm()
    if not form.validate_on_submit():
        flash(_("Give the applicant a reason."), "error")
        return redirect(url_for("listings_web.detail", listing_id=listing.id))
    try:
        if decision == "accept":
            licensing.accept(s, current_user, lic, listing)
        else:
            licensing.reject(s, current_user, lic, listing, form.reason.data)
        s.commit()
        flash(_("Licence accepted: the licensee may pay.") if decision == "accept"
              else _("Application rejected."), "info")
    except DomainError as exc:
        _fail(s, exc)
    return redirect(url_for("listings_web.detail", listing_id=listing.id))


@bp.route("/licences/<int:licence_id>/pay", methods=["POST"])
@role_required("investor", "owner")
def pay(licence_id: int):
    s = get_session()
    lic, _listing = _licence_or_404(s, licence_id)
    if ActionForm().validate_on_submit():
        try:
            licensing.start_payment(s, current_user, lic, "offline")
            s.commit()
        except DomainError as exc:
            _fail(s, exc)
    return redirect(url_for("licensing_web.licence", licence_id=licence_id))


@bp.route("/licences/<int:licence_id>")
@role_required()
def licence(licence_id: int):
    s = get_session()
    lic, listing = _licence_or_404(s, licence_id)
    reports = list(s.scalars(select(RoyaltyReport).where(RoyaltyReport.licence_id == lic.id)
                             .order_by(RoyaltyReport.period_start)))
    pays = list(s.scalars(select(Payment).where(
        ((Payment.purpose == licensing.PURPOSE) & (Payment.payable_id == lic.id))
        | ((Payment.purpose == royalties.PURPOSE)
           & Payment.payable_id.in_([r.id for r in reports] or [0])))
        .order_by(Payment.id)))
    return render_template("listings/licensing/licence.html", lic=lic, listing=listing,
                           payments=pays, orgs={o.id: o.name for o in s.scalars(select(Org).where(
                               Org.id.in_([lic.licensor_org_id, lic.licensee_org_id])))},
                           is_licensee=lic.licensee_org_id == current_user.org_id,
                           action_form=ActionForm(), reports=reports,
                           next_due=royalty_reminders.next_report_due(lic, licensing.today()),
                           years=licence_statement.year_bounds(lic),
                           royalty_form=RoyaltyReportForm(formdata=None))


@bp.route("/licences/<int:licence_id>/royalty-reports", methods=["POST"])
@role_required("investor", "owner")
def report_royalties(licence_id: int):
    s = get_session()
    lic, _listing = _licence_or_404(s, licence_id)
    form = RoyaltyReportForm()
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "error")
    else:
        try:
            _rep, p = royalties.report(s, current_user, lic, period_start=form.period_start.data,
                                       period_end=form.period_end.data,
                                       net_sales=form.net_sales.data, method="offline")
            s.commit()
            flash(_("Royalty reported: pay it by bank transfer quoting the reference.")
                  if p else _("Royalty reported: nothing to pay."), "info")
        except DomainError as exc:
            _fail(s, exc)
    return redirect(url_for("licensing_web.licence", licence_id=licence_id))


@bp.route("/licences/<int:licence_id>/statements/<int:year>",
          defaults={"fmt": "html"})
@bp.route("/licences/<int:licence_id>/statements/<int:year>.<any(csv, pdf):fmt>")
@role_required()
def statement(licence_id: int, year: int, fmt: str):
    """A licence year's statement: for the licensor, the seller, the licensee, operators."""
    s = get_session()
    lic, listing = _licence_or_404(s, licence_id)
    try:
        st = licence_statement.build(s, lic, year)
    except DomainError:
        abort(404)
    name = f"licence-{lic.id}-year-{year}"
    if fmt == "csv":
        return Response("\ufeff" + licence_statement.to_csv(st), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    if fmt == "pdf":
        try:
            data = licence_statement.to_pdf(st, _("Licence statement"))
        except FontMissing as exc:
            flash(_("The PDF cannot be made: %(why)s. Use the CSV or print this page.",
                    why=str(exc)), "error")
            return redirect(url_for("licensing_web.statement", licence_id=lic.id, year=year))
        return Response(data, mimetype="application/pdf",
                        headers={"Content-Disposition": f"inline; filename={name}.pdf"})
    return render_template("listings/licensing/statement.html", st=st, listing=listing)


@bp.route("/my/licences")
@role_required("investor", "owner")
def mine():
    s = get_session()
    rows = licensing.licences_of_org(s, current_user.org_id)
    return render_template("listings/licensing/mine.html", licences=rows)


@bp.route("/register/licences")
def register():
    """The public licence register: licences in force, by registry number."""
    s = get_session()
    registry_no = (request.args.get("registry_no") or "").strip()[:100]
    rows = s.execute(licensing.register_stmt(registry_no or None).limit(200)).all()
    return render_template("listings/licensing/register.html", rows=rows,
                           registry_no=registry_no)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav(app, "licensing_web.mine", _l("My licences"), roles=("investor", "owner"), order=36)
    add_nav(app, "licensing_web.register", _l("Licence register"), order=62)
    app.jinja_env.globals.update(
        licensing_panel=panel, licences_in_force=in_force, la_registry_no=registry_no_of,
        licences_in_force_by_asset=in_force_by_asset,
        licence_kind_label=lambda k: KIND_LABELS.get(k, k),
        licence_status_label=lambda k: STATUS_LABELS.get(k, k),
        licence_action_form=ActionForm, licence_reason_form=ReasonForm,
        royalty_overdue=royalty_reminders.is_overdue)
