"""Web pages: browse and listing detail (everyone), my listings + create/edit (banks and
owners), the moderation queue (operators), data room and watchlist."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import (Blueprint, Flask, abort, current_app, flash, redirect, render_template,
                   request, send_file, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select

from market import settings_store
from market.accounts.models import Org
from market.api import paginate
from market.assets.models import ASSET_KINDS, Asset
from market.db import get_session
from market.errors import DomainError
from market.i18n import percent
from market.inputs import parse_int
from market.lending.models import Loan, Pledge, PledgeAsset
from market.timeutil import utcnow
from market.money import parse_amount
from market.web import add_nav, add_panel, role_required

from . import dataroom, services
from .browse import SORTS, Filters, listing_stmt, round_figures
from .forms import ActionForm, CommentForm, CostForm, DocumentForm, ListingForm, ReasonForm
from .guides import asset_guides, default_start_price
from .labels import (KIND_LABELS, LEGAL_LABELS, LOAN_LABELS, METHOD_LABELS, MODE_LABELS,
                     PLEDGE_LABELS, SORT_LABELS, STATUS_BADGE, STATUS_LABELS, time_left)
from .lifecycle import EDITABLE, history
from .models import Listing, PriorityHolder
from .rules import appraisal_total, market_date

bp = Blueprint("listings_web", __name__)
PER_PAGE = 12


def _user():
    return current_user if getattr(current_user, "is_authenticated", False) else None


def _amount(raw: str | None) -> Decimal | None:
    """A price filter as a person types it ("1,000"); anything else is no filter."""
    try:
        return parse_amount(raw.replace(",", "").strip()) if raw else None
    except ValueError:
        return None


# ---------------------------------------------------------------- browse / detail

@bp.route("/listings")
def browse():
    s = get_session()
    args = request.args
    closing = args.get("closing", "")
    f = Filters(q=(args.get("q") or "").strip()[:200] or None,
                mode=args.get("mode") if args.get("mode") in MODE_LABELS else None,
                kind=args.get("kind") if args.get("kind") in ASSET_KINDS else None,
                classification=(args.get("classification") or "").strip()[:60] or None,
                min_price=_amount(args.get("min_price")),
                max_price=_amount(args.get("max_price")),
                closing_within_h=parse_int(closing, 0, 0, 2199) or None,
                sort=args.get("sort") if args.get("sort") in SORTS else "newest")
    page = parse_int(args.get("page"), 1, 1, 10000)
    result = paginate(s, listing_stmt(s, None, f), page, PER_PAGE)
    items = result["items"]
    pages = max(1, -(-result["total"] // PER_PAGE))
    return render_template("listings/browse.html", f=f, items=items, total=result["total"],
                           page=page, pages=pages, cards=_cards(s, items))


def _cards(s, items: list[Listing]) -> dict[int, dict]:
    figures = round_figures(s, items)
    by_listing = services.assets_by_listing(s, items)
    out = {}
    for lst in items:
        assets = by_listing.get(lst.id, [])
        fig = figures.get(lst.id)
        if lst.mode == "auction":
            price = (fig.current_price or fig.start_price) if fig else lst.start_price
            ends = fig.ends_at if fig else lst.ends_at
        else:
            price, ends = lst.ask_price, None
        out[lst.id] = {"assets": assets, "price": price, "ends_at": ends,
                       "bids": fig.bid_count if fig else 0,
                       "has_bid": bool(fig and fig.current_price is not None)}
    return out


def _valuation_chart(valuations) -> Markup | None:
    """A small inline SVG of an asset's valuation history (no JS, no library)."""
    vals = sorted(valuations, key=lambda v: v.valued_on)
    if not vals:
        return None
    w, h, pad = 240, 60, 6
    top = max(v.amount for v in vals) or Decimal(1)
    n = len(vals)
    pts = []
    for i, v in enumerate(vals):
        x = pad + (w - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        y = h - pad - float(v.amount / top) * (h - 2 * pad)
        pts.append(f"{x:.1f},{y:.1f}")
    dots = "".join(f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3"/>' for p in pts)
    return Markup(f'<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
                  f'role="img" aria-label="valuation history">'
                  f'<polyline fill="none" stroke="currentColor" stroke-width="2" '
                  f'points="{" ".join(pts)}"/>{dots}</svg>')


def _latest_pledges(s, asset_ids: list[int]) -> dict:
    """Each asset's most recently registered pledge with its pledgee and pledgor, in two
    queries whatever the number of assets (the page once ran one per asset)."""
    pledges: dict = {}
    if not asset_ids:
        return pledges
    rows = s.execute(select(PledgeAsset.asset_id, Pledge, Loan)
                     .join(Pledge, PledgeAsset.pledge_id == Pledge.id)
                     .join(Loan, Loan.id == Pledge.loan_id)
                     .where(PledgeAsset.asset_id.in_(asset_ids))
                     .order_by(Pledge.registered_on.desc(), Pledge.id.desc())).all()
    if not rows:
        return pledges
    orgs = {o.id: o for o in s.scalars(select(Org).where(Org.id.in_(
        {loan.bank_org_id for *_, loan in rows} | {loan.borrower_org_id for *_, loan in rows})))}
    for asset_id, pledge, loan in rows:
        if asset_id not in pledges:  # rows come newest first
            pledges[asset_id] = {"pledge": pledge, "pledgee": orgs.get(loan.bank_org_id),
                                 "pledgor": orgs.get(loan.borrower_org_id)}
    return pledges


def _context(s, listing: Listing) -> dict:
    """Everything the detail and the moderation pages show beside the listing."""
    user = _user()
    assets = services.listing_assets(s, listing)
    pledges = _latest_pledges(s, [a.id for a in assets])
    loan = s.get(Loan, listing.loan_id) if listing.loan_id else None
    holders = list(s.execute(select(PriorityHolder, Org).join(Org, Org.id == PriorityHolder.org_id)
                             .where(PriorityHolder.listing_id == listing.id)
                             .order_by(PriorityHolder.rank)))
    start_on = market_date(listing.starts_at) if listing.starts_at else None
    appraisal = appraisal_total(assets, start_on or market_date(dt.datetime.now(dt.timezone.utc)))
    values = settings_store.all_values(s)
    floor = (appraisal * values["start_price_floor_ratio"]).quantize(Decimal("0.01")) \
        if appraisal is not None else None
    docs = dataroom.documents(s, listing.id)
    figures = round_figures(s, [listing]).get(listing.id)
    return {
        "listing": listing, "assets": assets, "pledges": pledges, "loan": loan,
        "borrower": s.get(Org, loan.borrower_org_id) if loan else None,
        "seller": s.get(Org, listing.seller_org_id), "holders": holders,
        "appraisal": appraisal, "appraisal_on": start_on, "floor": floor, "settings": values,
        "charts": {a.id: _valuation_chart(a.valuations) for a in assets},
        "docs": docs, "nda": dataroom.nda_accepted(s, user, listing.id),
        "can_manage": dataroom.can_manage(user, listing),
        "is_seller": services.is_seller(user, listing),
        "watching": dataroom.is_watching(s, user, listing.id),
        "history": history(s, listing.id), "figures": figures,
        "costs": services.costs_of(s, listing.id) if (user and (user.role == "operator" or
                                                            services.is_seller(user, listing)))
        else [],
        "costs_total": services.disposal_costs_total(s, listing.id),
        "action_form": ActionForm(), "doc_form": DocumentForm(), "cost_form": CostForm(),
        "reason_form": ReasonForm(), "comment_form": CommentForm(),
        "today": market_date(dt.datetime.now(dt.timezone.utc)),
    }


def _listing_or_404(s, listing_id: int) -> Listing:
    listing = s.get(Listing, listing_id) if services.valid_id(listing_id) else None
    if listing is None:
        abort(404)
    return listing


def _visible_or_404(s, listing_id: int) -> Listing:
    listing = s.get(Listing, listing_id) if services.valid_id(listing_id) else None
    if listing is None or not services.can_see(_user(), listing):
        abort(404)
    return listing


@bp.route("/listings/<int:listing_id>")
def detail(listing_id: int):
    s = get_session()
    listing = _visible_or_404(s, listing_id)
    return render_template("listings/detail.html", **_context(s, listing))


@bp.route("/listings/<int:listing_id>/nda", methods=["POST"])
@role_required()
def accept_nda(listing_id: int):
    s = get_session()
    listing = _visible_or_404(s, listing_id)
    if ActionForm().validate_on_submit():
        dataroom.accept_nda(s, current_user, listing)
        s.commit()
        flash(_("NDA accepted. The data room is open to you."), "info")
    return redirect(url_for("listings_web.detail", listing_id=listing_id) + "#dataroom")


@bp.route("/listings/<int:listing_id>/watch", methods=["POST"])
@role_required()
def toggle_watch(listing_id: int):
    s = get_session()
    listing = _visible_or_404(s, listing_id)
    if ActionForm().validate_on_submit():
        on = dataroom.toggle_watch(s, current_user, listing)
        s.commit()
        flash(_("Added to your watchlist.") if on else _("Removed from your watchlist."), "info")
    return redirect(url_for("listings_web.detail", listing_id=listing_id))


@bp.route("/listings/<int:listing_id>/documents", methods=["POST"])
@role_required("bank", "owner", "operator")
def upload_document(listing_id: int):
    s = get_session()
    listing = _visible_or_404(s, listing_id)
    form = DocumentForm()
    if not form.validate_on_submit():
        flash(_("Choose a file to upload."), "error")
    else:
        data = form.file.data.read(dataroom.size_limit() + 1)
        try:
            dataroom.upload(s, current_user, listing, form.file.data.filename, data,
                            form.public.data)
            s.commit()
            flash(_("Document uploaded."), "info")
        except DomainError as exc:
            s.rollback()
            flash(exc.message, "error")
    return redirect(url_for("listings_web.detail", listing_id=listing_id) + "#dataroom")


@bp.route("/listings/<int:listing_id>/documents/<int:doc_id>")
def document(listing_id: int, doc_id: int):
    s = get_session()
    listing = _visible_or_404(s, listing_id)
    try:
        doc, path = dataroom.open_document(s, _user(), listing, doc_id)
    except DomainError as exc:
        abort(exc.status)
    s.commit()  # the view is audited
    resp = send_file(path, mimetype=doc.content_type, download_name=dataroom.download_name(doc),
                     as_attachment=doc.content_type == "application/pdf", max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/listings/<int:listing_id>/costs", methods=["POST"])
@role_required("bank", "operator")
def add_cost(listing_id: int):
    s = get_session()
    listing = _visible_or_404(s, listing_id)
    form = CostForm()
    if form.validate_on_submit():
        services.add_cost(s, current_user, listing, form.amount.data, form.description.data)
        s.commit()
        flash(_("Cost recorded."), "info")
    else:
        flash(_("Give an amount and a description."), "error")
    return redirect(url_for("listings_web.detail", listing_id=listing_id) + "#costs")


# ---------------------------------------------------------------- sellers

@bp.route("/my/listings")
@role_required("bank", "owner")
def mine():
    s = get_session()
    rows = list(s.scalars(select(Listing).where(Listing.seller_org_id == current_user.org_id)
                          .order_by(Listing.updated_at.desc())))
    loans = []
    if current_user.role == "bank":
        loans = _defaulted_loans(s)
    return render_template("listings/mine.html", rows=rows, loans=loans)


def _defaulted_loans(s) -> list[Loan]:
    return list(s.scalars(select(Loan).where(Loan.bank_org_id == current_user.org_id,
                                             Loan.status == "defaulted").order_by(Loan.id)))


def _pledged_asset_ids(s, loan_id: int) -> list[int]:
    return list(s.scalars(select(PledgeAsset.asset_id).join(Pledge, Pledge.id == PledgeAsset.pledge_id)
                          .where(Pledge.loan_id == loan_id, PledgeAsset.active.is_(True))
                          .order_by(PledgeAsset.id)))


def _prepare_form(s, form: ListingForm, loan_id: int | None) -> list[Asset]:
    loans = _defaulted_loans(s) if current_user.role == "bank" else []
    form.loan_id.choices = [("", _("— none: my own assets —"))] + [
        (str(ln.id), f"#{ln.id} {ln.reference or ''} · {s.get(Org, ln.borrower_org_id).name}")
        for ln in loans]
    if loan_id:
        ids = _pledged_asset_ids(s, loan_id)
        assets = list(s.scalars(select(Asset).where(Asset.id.in_(ids)))) if ids else []
    else:
        pledged = select(PledgeAsset.asset_id).where(PledgeAsset.active.is_(True))
        assets = list(s.scalars(select(Asset).where(Asset.owner_org_id == current_user.org_id,
                                                    Asset.id.not_in(pledged))
                                .order_by(Asset.id)))
    form.asset_ids.choices = [(a.id, f"{a.registry_no} · {a.title}") for a in assets]
    return assets


def _save(s, form: ListingForm, listing: Listing | None):
    data = form.to_data()
    try:
        if listing is None:
            listing = services.create_listing(s, current_user, data)
        else:
            services.update_listing(s, current_user, listing, data)
        if request.form.get("and_submit"):
            services.submit(s, current_user, listing)
    except DomainError as exc:
        s.rollback()
        return None, exc.message
    s.commit()
    return listing, None


@bp.route("/listings/new", methods=["GET", "POST"])
@role_required("bank", "owner")
def create():
    s = get_session()
    form = ListingForm()
    loan_id = form.loan_id.data if request.method == "POST" else \
        (request.args.get("loan_id", type=int) or None)
    if loan_id and loan_id not in {ln.id for ln in _defaulted_loans(s)}:
        loan_id = None
    _prepare_form(s, form, loan_id)
    if request.method == "GET":
        form.loan_id.data = loan_id
        form.extension_window_s.data = settings_store.get(s, "default_extension_window_s")
        form.extension_s.data = settings_store.get(s, "default_extension_s")
        if loan_id:
            form.asset_ids.data = [c[0] for c in form.asset_ids.choices]
            form.mode.data = "auction"
    error = None
    if request.method == "POST" and request.form.get("reload") is None:
        if form.validate_on_submit():
            listing, error = _save(s, form, None)
            if listing is not None:
                flash(_("Listing saved.") if listing.status == "draft"
                      else _("Listing submitted for review."), "info")
                return redirect(url_for("listings_web.detail", listing_id=listing.id))
        else:
            error = _("Please correct the marked fields.")
    return _form_page(s, form, None, error, loan_id)


@bp.route("/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@role_required("bank", "owner")
def edit(listing_id: int):
    s = get_session()
    listing = _visible_or_404(s, listing_id)
    if not services.is_seller(current_user, listing):
        abort(403)
    if listing.status not in EDITABLE:
        flash(_("This listing can no longer be edited."), "error")
        return redirect(url_for("listings_web.detail", listing_id=listing_id))
    form = ListingForm(obj=None if request.method == "POST" else _form_obj(listing))
    form.loan_id.data = listing.loan_id
    _prepare_form(s, form, listing.loan_id)
    error = None
    if request.method == "POST":
        if form.validate_on_submit():
            saved, error = _save(s, form, listing)
            if saved is not None:
                flash(_("Listing saved.") if saved.status != "pending_review"
                      else _("Listing submitted for review."), "info")
                return redirect(url_for("listings_web.detail", listing_id=listing_id))
        else:
            error = _("Please correct the marked fields.")
    return _form_page(s, form, listing, error, listing.loan_id)


def _form_page(s, form, listing, error, loan_id):
    v = settings_store.all_values(s)
    guides = asset_guides(s, [c[0] for c in form.asset_ids.choices], market_date(utcnow()),
                          current_app.config["MARKET_TIMEZONE"])
    if request.method == "GET" and listing is None and form.start_price.data is None:
        form.start_price.data = default_start_price(guides, list(form.asset_ids.data or []))
    return render_template(
        "listings/form.html", form=form, listing=listing, error=error, loan_id=loan_id,
        guides=guides,
        settings_floor=percent(v["start_price_floor_ratio"], 0),
        settings_dep_lo=percent(v["deposit_min_ratio"], 0),
        settings_dep_hi=percent(v["deposit_max_ratio"], 0),
        settings_hours=f"{v['min_auction_seconds'] / 3600:g}")


def _form_obj(listing: Listing):
    tz = ZoneInfo(current_app.config.get("MARKET_TIMEZONE", "Asia/Shanghai"))

    def local(v):
        return v.astimezone(tz).replace(tzinfo=None) if v else None

    terms = listing.transfer_terms
    return SimpleNamespace(
        title=listing.title, description=listing.description, mode=listing.mode,
        asset_ids=[la.asset_id for la in listing.assets], ask_price=listing.ask_price,
        start_price=listing.start_price, increment=listing.increment, deposit=listing.deposit,
        reserve_price=listing.reserve_price, starts_at=local(listing.starts_at),
        ends_at=local(listing.ends_at), extension_window_s=listing.extension_window_s,
        extension_s=listing.extension_s, allow_proxy=listing.allow_proxy, loan_id=listing.loan_id,
        transfer_deposit=terms.deposit if terms else None,
        transfer_increment=terms.increment if terms else None,
        disclosure_days=terms.disclosure_days if terms else None)


def _seller_action(listing_id: int, action, done: str):
    s = get_session()
    listing = _visible_or_404(s, listing_id)
    if ActionForm().validate_on_submit():
        try:
            action(s, current_user, listing)
        except DomainError as exc:
            s.rollback()
            flash(exc.message, "error")
            return redirect(url_for("listings_web.detail", listing_id=listing_id))
        s.commit()
        flash(done, "info")
    return redirect(url_for("listings_web.detail", listing_id=listing_id))


@bp.route("/listings/<int:listing_id>/submit", methods=["POST"])
@role_required("bank", "owner")
def submit(listing_id: int):
    return _seller_action(listing_id, services.submit, _("Listing submitted for review."))


@bp.route("/listings/<int:listing_id>/withdraw", methods=["POST"])
@role_required("bank", "owner")
def withdraw(listing_id: int):
    return _seller_action(listing_id, services.withdraw, _("Listing withdrawn."))


# ---------------------------------------------------------------- operators

@bp.route("/operator/listings")
@role_required("operator")
def queue():
    s = get_session()
    rows = list(s.scalars(select(Listing).where(Listing.status == "pending_review")
                          .order_by(Listing.updated_at.asc(), Listing.id.asc())))
    sellers = {o.id: o for o in s.scalars(select(Org).where(
        Org.id.in_({r.seller_org_id for r in rows} or {0})))}
    return render_template("listings/queue.html", rows=rows, sellers=sellers)


@bp.route("/operator/listings/<int:listing_id>")
@role_required("operator")
def review(listing_id: int):
    s = get_session()
    listing = _listing_or_404(s, listing_id)
    ctx = _context(s, listing)
    nxt = s.scalar(select(Listing.id).where(Listing.status == "pending_review",
                                            Listing.id != listing_id)
                   .order_by(Listing.updated_at.asc(), Listing.id.asc()).limit(1))
    return render_template("listings/review.html", next_id=nxt, **ctx)


def _operator_action(listing_id: int, form_cls, action, done: str):
    s = get_session()
    listing = _listing_or_404(s, listing_id)
    form = form_cls()
    if not form.validate_on_submit():
        flash(_("Give a reason the seller can act on."), "error")
        return redirect(url_for("listings_web.review", listing_id=listing_id))
    try:
        action(s, current_user, listing, form)
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for("listings_web.review", listing_id=listing_id))
    s.commit()
    flash(done, "info")
    return redirect(url_for("listings_web.queue"))


@bp.route("/operator/listings/<int:listing_id>/approve", methods=["POST"])
@role_required("operator")
def approve(listing_id: int):
    return _operator_action(listing_id, ActionForm,
                            lambda s, u, lst, f: services.approve(s, u, lst),
                            _("Approved and published."))


@bp.route("/operator/listings/<int:listing_id>/reject", methods=["POST"])
@role_required("operator")
def reject(listing_id: int):
    return _operator_action(listing_id, ReasonForm,
                            lambda s, u, lst, f: services.reject(s, u, lst, f.reason.data),
                            _("Rejected; the seller sees your reason."))


@bp.route("/operator/listings/<int:listing_id>/request-changes", methods=["POST"])
@role_required("operator")
def request_changes(listing_id: int):
    return _operator_action(listing_id, CommentForm,
                            lambda s, u, lst, f: services.request_changes(s, u, lst,
                                                                          f.comment.data),
                            _("Changes requested; the seller sees your comment."))


@bp.route("/operator/listings/<int:listing_id>/unpublish", methods=["POST"])
@role_required("operator")
def unpublish(listing_id: int):
    return _operator_action(listing_id, ReasonForm,
                            lambda s, u, lst, f: services.unpublish(s, u, lst, f.reason.data),
                            _("Unpublished."))


# ---------------------------------------------------------------- watchlist

@bp.route("/my/watchlist")
@role_required()
def watchlist():
    s = get_session()
    items = dataroom.watchlist(s, current_user)
    return render_template("listings/watchlist.html", items=items, cards=_cards(s, items))


# ---------------------------------------------------------------- dashboard, home

def _operator_panel(user, s) -> str:
    n = s.scalar(select(func.count()).select_from(Listing)
                 .where(Listing.status == "pending_review"))
    return render_template("listings/_panel_operator.html", pending=n)


def _seller_panel(user, s) -> str:
    counts = dict(s.execute(select(Listing.status, func.count()).where(
        Listing.seller_org_id == user.org_id).group_by(Listing.status)).all())
    if not counts:
        return ""
    return render_template("listings/_panel_seller.html", counts=counts)


def latest_listings(n: int = 6) -> tuple[list[Listing], dict]:
    s = get_session()
    items = list(s.scalars(listing_stmt(s, None, Filters()).limit(n)))
    return items, _cards(s, items)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav(app, "listings_web.browse", _l("Listings"), order=20)
    add_nav(app, "listings_web.queue", _l("Moderation"), roles=("operator",), order=25)
    add_nav(app, "listings_web.mine", _l("My listings"), roles=("bank", "owner"), order=30)
    add_nav(app, "listings_web.watchlist", _l("My watchlist"), roles=("investor",), order=35)
    add_panel(app, _operator_panel, roles=("operator",), order=20)
    add_panel(app, _seller_panel, roles=("bank", "owner"), order=40)
    app.jinja_env.globals.update(
        listing_status_label=lambda st: STATUS_LABELS.get(st, st),
        listing_status_badge=lambda st: STATUS_BADGE.get(st, ""),
        listing_mode_label=lambda m: MODE_LABELS.get(m, m),
        ip_kind_label=lambda k: KIND_LABELS.get(k, k),
        legal_status_label=lambda k: LEGAL_LABELS.get(k, k),
        valuation_method_label=lambda k: METHOD_LABELS.get(k, k),
        pledge_status_label=lambda k: PLEDGE_LABELS.get(k, k),
        loan_status_label=lambda k: LOAN_LABELS.get(k, k),
        listing_time_left=time_left, latest_listings=latest_listings,
        listing_kind_labels=KIND_LABELS, listing_mode_labels=MODE_LABELS,
        listing_sort_labels=SORT_LABELS)
