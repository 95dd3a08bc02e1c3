"""Web pages: settlements list, the statement (HTML, PDF, CSV), the bank's recovery panel."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import BigInteger, case, func, literal_column, or_, select, type_coerce

from .. import providers
from ..db import get_session
from ..money import ZERO
from ..web import add_nav, add_panel, role_required
from . import services, statement
from .models import ForfeitApplication, Settlement

bp = Blueprint("settlement", __name__)


def _visible(stmt, user):
    if user.role == "operator":
        return stmt
    return stmt.where(or_(Settlement.seller_org_id == user.org_id,
                          Settlement.pledgor_org_id == user.org_id))


def _get_visible(listing_id: int) -> Settlement:
    st = services.for_listing(get_session(), listing_id)
    if st is None or not services.can_view(current_user, st):
        abort(404)
    return st


def _sale_visible(settlement_id: int) -> Settlement:
    """A sale by its own id: one no listing made (an agreed valuation) has only that."""
    st = get_session().get(Settlement, settlement_id)
    if st is None or not services.can_view(current_user, st):
        abort(404)
    return st


def statement_url(st: Settlement, fmt: str = "") -> str:
    """The statement's page (fmt "") or its "pdf" / "csv": by listing when a listing made
    the sale, else by the sale's id."""
    endpoint = "settlement." + ({"pdf": "pdf", "csv": "csv"}.get(fmt, "show"))
    if st.listing_id is not None:
        return url_for(endpoint, listing_id=st.listing_id)
    return url_for(endpoint + "_sale", settlement_id=st.id)


@bp.route("/settlements")
@role_required("operator", "bank", "owner")
def index():
    s = get_session()
    rows = list(s.scalars(_visible(select(Settlement), current_user)
                          .order_by(Settlement.id.desc()).limit(200)))
    names = statement.org_names(s, {r.seller_org_id for r in rows}
                                | {r.pledgor_org_id for r in rows})
    return render_template("settlement/index.html", rows=rows, names=names)


def _page(st: Settlement):
    s = get_session()
    names = statement.org_names(s, [st.seller_org_id, st.pledgor_org_id])
    return render_template("settlement/statement.html", st=st, lines=statement.lines(s, st),
                           names=names)


def _csv(st: Settlement) -> Response:
    body = "\ufeff" + statement.to_csv(get_session(), st)  # BOM: Excel reads UTF-8 Chinese
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=settlement-{st.id}.csv"})


def _pdf(st: Settlement) -> Response:
    try:
        data = statement.to_pdf(get_session(), st, _("Settlement statement"))
    except statement.FontMissing as exc:
        flash(_("The PDF cannot be made: %(why)s. Use the CSV or print this page.",
                why=str(exc)), "error")
        return redirect(statement_url(st))
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=settlement-{st.id}.pdf"})


@bp.route("/settlements/listing/<int:listing_id>")
@role_required("operator", "bank", "owner")
def show(listing_id: int):
    return _page(_get_visible(listing_id))


@bp.route("/settlements/listing/<int:listing_id>.csv")
@role_required("operator", "bank", "owner")
def csv(listing_id: int):
    return _csv(_get_visible(listing_id))


@bp.route("/settlements/listing/<int:listing_id>.pdf")
@role_required("operator", "bank", "owner")
def pdf(listing_id: int):
    return _pdf(_get_visible(listing_id))


@bp.route("/settlements/<int:settlement_id>")
@role_required("operator", "bank", "owner")
def show_sale(settlement_id: int):
    return _page(_sale_visible(settlement_id))


@bp.route("/settlements/<int:settlement_id>.csv")
@role_required("operator", "bank", "owner")
def csv_sale(settlement_id: int):
    return _csv(_sale_visible(settlement_id))


@bp.route("/settlements/<int:settlement_id>.pdf")
@role_required("operator", "bank", "owner")
def pdf_sale(settlement_id: int):
    return _pdf(_sale_visible(settlement_id))


def recovery_by_mode(session, org_id: int | None) -> list[dict]:
    """Per disposal mode: sales, claimed (claim at the close) and recovered (applied).
    The mode is the sale source's (providers.sale_sources: listings answers)."""
    sale_sources = providers.sale_sources.get()
    if sale_sources is None:  # no package that sells is installed: no sales
        return []
    sources = sale_sources()
    fen = [type_coerce(c, BigInteger) for c in (
        Settlement.claim_total, Settlement.applied_costs, Settlement.applied_penalty_interest,
        Settlement.applied_interest, Settlement.applied_principal)]
    # An agreed valuation is a sale no listing made: its own mode. (Inline SQL text, not
    # bound parameters, so GROUP BY repeats exactly the selected expression.)
    set_off = Settlement.sale_ref.like(literal_column(f"'{services.SET_OFF_PREFIX}%'"))
    mode = case((set_off, literal_column("'agreed_valuation'")), else_=sources.c.mode)
    stmt = (select(mode, Settlement.status, func.count(),
                   func.coalesce(func.sum(fen[0]), 0),
                   func.coalesce(func.sum(fen[1] + fen[2] + fen[3] + fen[4]), 0))
            .outerjoin(sources, sources.c.id == Settlement.listing_id)
            .where(Settlement.loan_id.is_not(None), Settlement.status != "defaulted",
                   or_(sources.c.id.is_not(None), set_off))
            .group_by(mode, Settlement.status))
    if org_id is not None:
        stmt = stmt.where(Settlement.seller_org_id == org_id)
    out: dict[str, dict] = {}
    for mode, status, n, claimed, recovered in session.execute(stmt):
        row = out.setdefault(mode, {"mode": mode, "sales": 0, "settled": 0, "claimed": ZERO,
                                    "recovered": ZERO, "pending": ZERO})
        # Money columns are integer fen; sums come back raw.
        claimed, recovered = Decimal(int(claimed)) / 100, Decimal(int(recovered)) / 100
        row["sales"] += n
        row["claimed"] += claimed
        if status == "settled":
            row["settled"] += n
            row["recovered"] += recovered
        else:
            row["pending"] += recovered
    # Forfeited deposits (悔拍) applied when a re-sale closed: money the bank already has,
    # taken off the claim before the sale's own figures.
    fstmt = (select(sources.c.mode, func.coalesce(func.sum(
                type_coerce(ForfeitApplication.applied_to_claim, BigInteger)), 0))
             .join(Settlement, Settlement.id == ForfeitApplication.settlement_id)
             .join(sources, sources.c.id == Settlement.listing_id)
             .where(Settlement.status != "defaulted").group_by(sources.c.mode))
    if org_id is not None:
        fstmt = fstmt.where(Settlement.seller_org_id == org_id)
    for mode, fen_sum in session.execute(fstmt):
        if mode in out:
            amount = Decimal(int(fen_sum)) / 100
            out[mode]["claimed"] += amount
            out[mode]["recovered"] += amount
    rows = sorted(out.values(), key=lambda r: r["mode"])
    for r in rows:
        r["ratio"] = (r["recovered"] / r["claimed"]) if r["claimed"] else None
    return rows


def _recovery_panel(user, session):
    rows = recovery_by_mode(session, None if user.role == "operator" else user.org_id)
    return Markup(render_template("settlement/_recovery_panel.html", rows=rows))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(statement_url=statement_url)
    add_nav(app, "settlement.index", _l("Settlements"), roles=("operator", "bank", "owner"),
            order=60)
    add_panel(app, _recovery_panel, roles=("bank", "operator"), order=40)
