"""Listed transfer on the listing page: its terms and period, the registrant's status and
registration, the outcome and the next step, and the seller's registrant count and relist
form (UI.md). The rules are transfer.py's; these views only call them."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Flask, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from market import settings_store
from market.db import get_session
from market.errors import DomainError
from market.payments import services as payments
from market.settlement import services as settlement_services
from market.timeutil import utcnow
from market.web import role_required

from .. import services
from ..forms import ActionForm
from ..web import bp
from . import transfer

RULE_SOURCE = settings_store.SPECS["transfer_disclosure_days"].source


def transfer_view(listing) -> dict | None:
    """What the listing page shows of a transfer, for the viewer."""
    terms = listing.transfer_terms
    if listing.mode != "transfer" or terms is None:
        return None
    s = get_session()
    user = current_user if current_user.is_authenticated else None
    seller_side = user is not None and (user.role == "operator"
                                        or services.is_seller(user, listing))
    st = settlement_services.for_listing(s, listing.id) if terms.outcome == "agreement" else None
    mine = transfer.my_deposit(s, listing.id, user) if user is not None and not seller_side else None
    return {
        "terms": terms, "days": transfer.disclosure_days(s, terms), "source": RULE_SOURCE,
        "open": (listing.status == "published" and terms.status == "disclosure"
                 and terms.disclosure_ends_at is not None and utcnow() < terms.disclosure_ends_at),
        "registrants": transfer.registrants(s, listing.id) if seller_side else None,
        "seller_side": seller_side, "mine": mine,
        "settlement": st, "is_buyer": bool(st and user and settlement_services.is_buyer(user, st)),
        "can_register": user is not None and user.role == "investor",
        "can_relist": user is not None and services.is_seller(user, listing)
        and listing.status == "unsold",
        "form": ActionForm(),
    }


def _back(listing_id: int):
    return redirect(url_for("listings_web.detail", listing_id=listing_id) + "#transfer")


def _listing(s, listing_id: int):
    try:
        return services.get_listing(s, current_user, listing_id, for_update=True)
    except DomainError:
        from flask import abort
        abort(404)


@bp.route("/listings/<int:listing_id>/transfer/register", methods=["POST"])
@role_required("investor")
def transfer_register(listing_id: int):
    s = get_session()
    listing = _listing(s, listing_id)
    if ActionForm().validate_on_submit():
        try:
            dep = transfer.register(s, current_user, listing, "offline")
            s.commit()
            flash(_("Registered. Pay the deposit of %(amount)s by bank transfer quoting %(ref)s.",
                    amount=f"{dep.amount:.2f}", ref=dep.reference), "info")
        except DomainError as exc:
            s.rollback()
            flash(exc.message, "error")
    return _back(listing_id)


@bp.route("/listings/<int:listing_id>/transfer/pay", methods=["POST"])
@role_required("investor")
def transfer_pay(listing_id: int):
    s = get_session()
    _listing(s, listing_id)
    if ActionForm().validate_on_submit():
        try:
            p = payments.start_balance_payment(s, listing_id=listing_id, user=current_user,
                                               method="offline")
            s.commit()
            flash(_("Pay the balance of %(amount)s by bank transfer quoting %(ref)s.",
                    amount=f"{p.amount:.2f}", ref=p.reference), "info")
        except DomainError as exc:
            s.rollback()
            flash(exc.message, "error")
    return _back(listing_id)


def _money(name: str) -> Decimal | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise DomainError("validation_error", _("Enter an amount like 900000.00"), 422) from None
    return value


@bp.route("/listings/<int:listing_id>/transfer/relist", methods=["POST"])
@role_required("bank", "owner")
def transfer_relist(listing_id: int):
    s = get_session()
    listing = _listing(s, listing_id)
    if ActionForm().validate_on_submit():
        try:
            price = _money("list_price")
            if price is None:
                raise DomainError("validation_error", _("Enter the new list price."), 422)
            data = {"list_price": price}
            if _money("deposit") is not None:
                data["deposit"] = _money("deposit")
            transfer.relist(s, current_user, listing, data)
            s.commit()
            flash(_("Published again with a new disclosure period.") if listing.status == "published"
                  else _("Below %(r)s of the value: sent to the exchange for review.", r="90%"), "info")
        except DomainError as exc:
            s.rollback()
            flash(exc.message, "error")
    return _back(listing_id)


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"transfer_view": transfer_view})
