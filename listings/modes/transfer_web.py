"""Listed transfer on the listing page: its terms and period, the registrant's status and
registration, the outcome and the next step, and the seller's registrant count and relist
form (UI.md). The rules are transfer.py's; these views only call them."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Flask, abort, flash, redirect, request, url_for
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
    # The sale an agreement or the buyers' auction made: its buyer pays from this page.
    st = settlement_services.for_listing(s, listing.id) if listing.status == "sold" else None
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
        abort(404)


def _attempt(listing_id: int, action) -> None:
    """Run one page action on the locked listing: its message flashed on success, the
    refusal's (nothing written) otherwise."""
    s = get_session()
    listing = _listing(s, listing_id)
    if not ActionForm().validate_on_submit():
        return
    try:
        message = action(s, listing)
        s.commit()
        flash(message, "info")
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")


@bp.route("/listings/<int:listing_id>/transfer/register", methods=["POST"])
@role_required("investor")
def transfer_register(listing_id: int):
    def register(s, listing):
        dep = transfer.register(s, current_user, listing, "offline")
        return _("Registered. Pay the deposit of %(amount)s by bank transfer quoting %(ref)s.",
                 amount=f"{dep.amount:.2f}", ref=dep.reference)

    _attempt(listing_id, register)
    return _back(listing_id)


@bp.route("/listings/<int:listing_id>/transfer/pay", methods=["POST"])
@role_required("investor")
def transfer_pay(listing_id: int):
    def pay(s, listing):
        p = payments.start_balance_payment(s, listing_id=listing.id, user=current_user,
                                           method="offline")
        return _("Pay the balance of %(amount)s by bank transfer quoting %(ref)s.",
                 amount=f"{p.amount:.2f}", ref=p.reference)

    _attempt(listing_id, pay)
    return _back(listing_id)


def _money(name: str) -> Decimal | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return Decimal(raw).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise DomainError("validation_error", _("Enter an amount like 900000.00"), 422) from None


@bp.route("/listings/<int:listing_id>/transfer/relist", methods=["POST"])
@role_required("bank", "owner")
def transfer_relist(listing_id: int):
    def relist(s, listing):
        price, deposit = _money("list_price"), _money("deposit")
        if price is None:
            raise DomainError("validation_error", _("Enter the new list price."), 422)
        transfer.relist(s, current_user, listing,
                        {"list_price": price, **({"deposit": deposit} if deposit else {})})
        if listing.status == "published":
            return _("Published again with a new disclosure period.")
        return _("Below %(r)s of the value: sent to the exchange for review.", r="90%")

    _attempt(listing_id, relist)
    return _back(listing_id)


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"transfer_view": transfer_view})
