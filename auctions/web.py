"""Web pages: the live block's JSON endpoints (session + CSRF header), My bids, the
operator's deposits desk."""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from listings.models import Listing
from market import settings_store
from market.accounts.models import User
from market.db import get_session
from market.errors import DomainError
from market.money import parse_amount
from market.payments import deposits as dep_service
from market.payments import services as pay_service
from market.payments.models import Deposit
from market.settlement.models import Settlement
from market.web import role_required

from . import flows
from .models import Auction, AuctionBidder
from .views_model import MAX_ID, auction_dict

bp = Blueprint("auctions_web", __name__)


@bp.url_value_preprocessor
def _ids_in_range(endpoint, values):
    if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
        abort(404)


def _json_error(exc: DomainError):
    return jsonify(exc.body()), exc.status


def _user():
    return current_user if getattr(current_user, "is_authenticated", False) else None


def live_context():
    def auction_live(listing):
        if listing is None or getattr(listing, "auction_id", None) is None:
            return None
        s = get_session()
        a = s.get(Auction, listing.auction_id)
        if a is None:
            return None
        # The page says whether a reserve exists (never its amount), so "reserve met" is
        # not claimed for an auction that has none.
        return {**auction_dict(a), "has_reserve": a.reserve_price is not None,
                "account": settings_store.receiving_account(s)}

    return {"auction_live": auction_live}


@bp.route("/auctions/<int:auction_id>")
def auction_page(auction_id: int):
    s = get_session()
    a = s.get(Auction, auction_id)
    if a is None:
        abort(404)
    for endpoint in ("listings_web.detail", "listings.detail", "listings_web.listing"):
        if endpoint in current_app.view_functions:
            return redirect(url_for(endpoint, listing_id=a.listing_id))

    return render_template("auctions/auction.html", listing=s.get(Listing, a.listing_id))


@bp.route("/auctions/<int:auction_id>/me.json")
def me_json(auction_id: int):
    try:
        return jsonify(flows.viewer_status(get_session(), auction_id, _user()))
    except DomainError as exc:
        return _json_error(exc)


def _json_object() -> dict:
    """The page posts a JSON object; anything else (an array, bad JSON) reads as empty."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _investor_json():
    user = _user()
    if user is None:
        return None, (jsonify({"error": {"code": "unauthorized",
                                         "message": _("Please log in.")}}), 401)
    if user.role != "investor":
        return None, (jsonify({"error": {"code": "forbidden",
                                         "message": _("Only investors bid.")}}), 403)
    get_session().info["actor_id"] = user.id
    return user, None


@bp.route("/auctions/<int:auction_id>/web-bid", methods=["POST"])
def web_bid(auction_id: int):
    user, err = _investor_json()
    if err:
        return err
    body = _json_object()
    try:
        amount = parse_amount(body.get("amount"))
        max_amount = parse_amount(body["max_amount"]) if body.get("max_amount") else None
    except ValueError as exc:
        return jsonify({"error": {"code": "validation_error", "message": str(exc)}}), 422
    try:
        return jsonify(flows.bid(get_session(), auction_id, user, amount, max_amount)), 201
    except DomainError as exc:
        return _json_error(exc)


@bp.route("/auctions/<int:auction_id>/web-deposit", methods=["POST"])
def web_deposit(auction_id: int):
    user, err = _investor_json()
    if err:
        return err
    body = _json_object()
    try:
        out = flows.deposit(get_session(), current_app.config, auction_id, user,
                            str(body.get("method") or "offline"))
        return jsonify(out), 201
    except DomainError as exc:
        return _json_error(exc)


@bp.route("/listings/<int:listing_id>/pay-balance", methods=["POST"])
@role_required("investor")
def pay_balance(listing_id: int):
    """The winner asks to pay the balance by bank transfer: the instructions name the
    exchange's account and the payment's reference; the operator's payments desk confirms."""
    s = get_session()
    s.info["actor_id"] = current_user.id
    try:
        payment = pay_service.start_balance_payment(s, listing_id=listing_id, user=current_user,
                                                    method="offline")
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for("auctions_web.my_bids"))
    s.commit()
    return render_template("auctions/pay_balance.html", payment=payment,
                           listing=s.get(Listing, listing_id),
                           account=settings_store.receiving_account(s))


def _my_rows(s, user_id: int):
    deps = list(s.scalars(select(Deposit).where(Deposit.user_id == user_id)
                          .order_by(Deposit.id.desc()).limit(200)))
    bidders = {b.auction_id: b for b in s.scalars(
        select(AuctionBidder).where(AuctionBidder.user_id == user_id))}
    ids = {d.auction_id for d in deps if d.auction_id is not None} | set(bidders)
    auctions = {a.id: a for a in s.scalars(select(Auction).where(Auction.id.in_(ids)))} if ids else {}
    listings = {x.id: x for x in s.scalars(select(Listing).where(
        Listing.id.in_({a.listing_id for a in auctions.values()})))} if auctions else {}
    rows = []
    for aid in sorted(ids, reverse=True):
        a = auctions[aid]
        me = bidders.get(aid)
        if me is not None and a.winner_bidder_id == me.id:
            status = "won"
        elif me is not None and a.status in ("closed", "failed", "cancelled"):
            status = "lost"
        elif me is not None and a.leader_bidder_id == me.id:
            status = "leading"
        elif me is not None and a.bid_count:
            status = "qualified_or_outbid"
        elif me is not None:
            status = "qualified"
        else:
            status = "deposit_pending"
        settlement = (s.scalar(select(Settlement).where(Settlement.sale_ref == f"auction:{a.id}"))
                      if status == "won" else None)
        rows.append({"auction": a, "view": auction_dict(a), "listing": listings.get(a.listing_id),
                     "code": me.code if me else None, "status": status,
                     "settlement": settlement})
    return rows, deps


@bp.route("/my/bids")
@role_required("investor")
def my_bids():
    s = get_session()
    rows, deps = _my_rows(s, current_user.id)
    return render_template("auctions/my_bids.html", rows=rows, deposits=deps)


def my_bids_panel(user, session):
    rows, deps = _my_rows(session, user.id)
    if not rows and not deps:
        return ""
    return Markup(render_template("auctions/_my_bids_panel.html", rows=rows[:5]))


@bp.route("/desk/deposits")
@role_required("operator")
def deposit_desk():
    s = get_session()
    pending = list(s.scalars(select(Deposit).where(Deposit.status == "pending",
                                                   Deposit.method == "offline")
                             .order_by(Deposit.id)))

    users = {u.id: u for u in s.scalars(select(User).where(
        User.id.in_({d.user_id for d in pending})))} if pending else {}
    # The listing title names the auction for the operator, as "我的竞买" does (not "#2").
    listings = {a_id: listing for a_id, listing in s.execute(
        select(Auction.id, Listing).join(Listing, Listing.id == Auction.listing_id)
        .where(Auction.id.in_({d.auction_id for d in pending})))} if pending else {}
    return render_template("auctions/deposit_desk.html", pending=pending, users=users,
                           listings=listings)


@bp.route("/desk/deposits/<int:deposit_id>/confirm", methods=["POST"])
@role_required("operator")
def confirm_deposit(deposit_id: int):
    s = get_session()
    try:
        dep = dep_service.confirm_offline(s, deposit_id, current_user.id)
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for("auctions_web.deposit_desk"))
    ref = dep.reference
    s.commit()
    flash(_("Deposit %(ref)s confirmed.", ref=ref), "info")
    return redirect(url_for("auctions_web.deposit_desk"))
