"""Listed transfer (挂牌转让, API.md "Listed transfer", DOMAIN.md "Ways to dispose" 2).

A transfer listing is published at a list price for a disclosure period of working days
(≥10, ≥20 above ¥10M: operator settings); buyers register with a deposit meanwhile. When
the period ends the scheduler decides once on the organisations whose deposits are held:
none → the listing is `unsold` (its seller may relist); one → a sale by agreement at the
list price (market/settlement/sale.py); two or more → an auction among exactly them, which
the auctions package opens when asked (`open_auction`, a provider it answers).
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import ROUND_DOWN, Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from market import audit, calendar, lifecycle, settings_store
from market.db import Database
from market.errors import Conflict, Forbidden, Invalid
from market.notifications import notify
from market.payments import deposits as payments_deposits
from market.payments.models import Deposit
from market.providers import Provider
from market.settlement import sale
from market.settlement.forfeits import ForfeitedDeposit
from market.settlement.models import Settlement
from market.timeutil import business_date, utcnow

from .. import rules
from ..lifecycle import transition
from ..models import Listing
from ..parties import pledgor_org_id, seller_side_orgs
from .transfer_models import ListingTransfer

log = logging.getLogger("listings.transfer")

LARGE = Decimal("10000000.00")  # above this list price the longer disclosure rule applies
RELIST_RATIO = Decimal("0.90")  # a relist at ≥ 90% of the value goes straight back on sale
REF = "transfer:"


class OpenAuction(Protocol):
    def __call__(self, session: Session, listing: Listing, terms: ListingTransfer,
                 deposits: list[Deposit], now: dt.datetime) -> int: ...


# auctions: open a round among the registered buyers (their held deposits qualify them);
# returns the auction's id.
open_auction: Provider[OpenAuction] = Provider("listings.transfer.open_auction")


def _tz() -> str:
    return current_app.config.get("MARKET_TIMEZONE", "Asia/Shanghai")


def _seconds() -> int | None:
    return current_app.config.get("MARKET_DISCLOSURE_SECONDS")


# ---------------------------------------------------------------- terms

def apply_terms(listing: Listing, data: dict[str, Any]) -> None:
    """Set (or keep, on an edit that leaves them out) a transfer listing's terms."""
    terms = data.get("transfer")
    if listing.mode != "transfer":
        if terms:
            raise Invalid("transfer_terms_not_allowed",
                          f"a {listing.mode} listing takes no transfer terms")
        listing.transfer_terms = None
        return
    if not terms:
        if listing.transfer_terms is not None:
            return
        raise Invalid("transfer_terms_required",
                      "a transfer listing needs list_price, deposit and increment")
    row = listing.transfer_terms or ListingTransfer(status="awaiting")
    row.list_price, row.deposit = terms["list_price"], terms["deposit"]
    row.increment = terms["increment"]
    row.disclosure_days = terms.get("disclosure_days")
    row.auction_seconds = terms.get("auction_seconds") or 86400
    listing.transfer_terms = row
    # Browsing sorts and filters by coalesce(start_price, ask_price): the list price.
    listing.ask_price = row.list_price


def rule_days(session: Session, list_price: Decimal) -> int:
    key = "transfer_disclosure_days_large" if list_price > LARGE else "transfer_disclosure_days"
    return settings_store.get(session, key)


def disclosure_days(session: Session, terms: ListingTransfer) -> int:
    return terms.disclosure_days or rule_days(session, terms.list_price)


def check_terms(session: Session, listing: Listing, assets) -> None:
    """On create, submit, approve and relist: floor, deposit, period, auction length."""
    terms = listing.transfer_terms
    if listing.mode != "transfer" or terms is None:
        return
    if terms.list_price <= 0:
        raise Invalid("start_price_not_positive", "the list price must be greater than zero")
    if terms.increment <= 0:
        raise Invalid("increment_not_positive", "the increment must be greater than zero")
    if listing.loan_id is not None:
        on = rules.market_date(utcnow())
        total = rules.appraisal_total(assets, on)
        if total is None:
            raise Invalid("no_valid_valuation", f"an asset has no appraisal valid on {on}")
        ratio = settings_store.get(session, "start_price_floor_ratio")
        if terms.list_price < total * ratio:
            raise Invalid("start_price_below_floor",
                          f"the list price must be at least {ratio * 100:.0f}% of the "
                          f"appraisal ({total:.2f} on {on}) (法释〔2016〕18号)")
    lo = settings_store.get(session, "deposit_min_ratio")
    hi = settings_store.get(session, "deposit_max_ratio")
    if not terms.list_price * lo <= terms.deposit <= terms.list_price * hi:
        raise Invalid("deposit_out_of_range",
                      f"the deposit must be {lo * 100:.0f}%–{hi * 100:.0f}% of the list price")
    rule = rule_days(session, terms.list_price)
    if terms.disclosure_days is not None and terms.disclosure_days < rule:
        raise Invalid("disclosure_too_short",
                      f"the disclosure period must be at least {rule} working days "
                      "(企业国有资产交易监督管理办法)")
    min_s = settings_store.get(session, "min_auction_seconds")
    if terms.auction_seconds < min_s:
        raise Invalid("auction_too_short", f"bidding must last at least {min_s} seconds")


def terms_dict(session: Session, listing: Listing) -> dict | None:
    terms = listing.transfer_terms
    if listing.mode != "transfer" or terms is None:
        return None
    return {"list_price": terms.list_price, "deposit": terms.deposit,
            "increment": terms.increment, "disclosure_days": disclosure_days(session, terms),
            "auction_seconds": terms.auction_seconds,
            "disclosure_ends_at": terms.disclosure_ends_at, "outcome": terms.outcome}


# ---------------------------------------------------------------- the period

def period_end(session: Session, published_at: dt.datetime, days: int) -> tuple[dt.datetime, dt.date]:
    """(end instant, last day): 24:00 market time of the days-th working day after the
    publication's business date; with MARKET_DISCLOSURE_SECONDS, that many seconds on."""
    tz = _tz()
    seconds = _seconds()
    if seconds:
        ends = published_at + dt.timedelta(seconds=seconds)
        return ends, business_date(ends, tz)
    last = calendar.nth_working_day_after(session, business_date(published_at, tz), days)
    midnight = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), ZoneInfo(tz))
    return midnight.astimezone(dt.timezone.utc), last


def on_published(session: Session, listing: Listing, now: dt.datetime | None = None) -> None:
    """Hook listing.published: the disclosure period starts and its end is fixed."""
    terms = listing.transfer_terms
    if listing.mode != "transfer" or terms is None:
        return
    # The period runs from the publication the listing records.
    now = listing.published_at or now or utcnow()
    ends, last = period_end(session, now, disclosure_days(session, terms))
    lifecycle.move(session, terms, "disclosure", after={
        "status": "disclosure", "disclosure_ends_at": ends, "last_day": last},
        disclosure_ends_at=ends, period_last_day=last, outcome=None, decided_at=None)


def on_closed(session: Session, listing: Listing, reason: str | None = None) -> None:
    """Hook listing.closed (withdrawn, unpublished): the period stops; deposits go back."""
    terms = listing.transfer_terms
    if listing.mode != "transfer" or terms is None or terms.status != "disclosure":
        return
    now = utcnow()
    for dep in _live_deposits(session, listing.id):
        payments_deposits.release(session, dep, now, reason or "listing closed")
    lifecycle.move(session, terms, "awaiting", reason=reason, disclosure_ends_at=None)


# ---------------------------------------------------------------- registration

def barred_orgs(session: Session, listing_id: int) -> set[int]:
    """Organisations that defaulted on this listing's sale: their deposit was forfeited."""
    return set(session.scalars(select(Deposit.org_id).where(
        Deposit.listing_id == listing_id, Deposit.status.in_(("forfeited", "captured")))))


def _live_deposits(session: Session, listing_id: int) -> list[Deposit]:
    return list(session.scalars(select(Deposit).where(
        Deposit.listing_id == listing_id, Deposit.auction_id.is_(None),
        Deposit.status.in_(payments_deposits.LIVE)).order_by(Deposit.id)))


def register(session: Session, user, listing: Listing, method: str) -> Deposit:
    """A buyer registers for the transfer with a pending deposit (confirm holds it)."""
    terms = listing.transfer_terms
    if listing.mode != "transfer" or terms is None:
        raise Conflict("not_a_transfer", "registration with a deposit is for listed transfers")
    if user.org_id in seller_side_orgs(session, listing):
        raise Forbidden("seller_cannot_bid",
                        "the seller and the pledgor may not buy (拍卖法 art. 30)")
    if user.org_id in barred_orgs(session, listing.id):
        raise Forbidden("bidder_barred", "a buyer who defaulted may not take part again")
    if terms.status == "decided":
        raise Conflict("registration_closed", "the disclosure period has been decided")
    if (listing.status != "published" or terms.status != "disclosure"
            or utcnow() >= terms.disclosure_ends_at):
        raise Conflict("disclosure_closed", "registration is open during the disclosure period")
    if any(d.org_id == user.org_id for d in _live_deposits(session, listing.id)):
        raise Conflict("org_already_registered", "your organisation is already registered")
    return payments_deposits.start(session, listing_id=listing.id, auction_id=None, user=user,
                                   amount=terms.deposit, currency=listing.currency,
                                   method=method)


def registrants(session: Session, listing_id: int) -> int:
    """How many organisations are registered (live deposits): for the seller's page."""
    return len({d.org_id for d in _live_deposits(session, listing_id)})


def my_deposit(session: Session, listing_id: int, user) -> Deposit | None:
    return session.scalar(select(Deposit).where(
        Deposit.listing_id == listing_id, Deposit.org_id == user.org_id)
        .order_by(Deposit.id.desc()).limit(1))


# ---------------------------------------------------------------- the decision

def decide_due(db: Database) -> int:
    """Scheduler job: decide every period that has ended, each once. The terms row's
    conditional move disclosure → decided is the claim: a second scheduler loses it."""
    done = 0
    skip: set[int] = set()
    while True:
        claimed = None
        try:
            with db.transaction() as s:
                s.info["actor_id"] = None
                q = (select(ListingTransfer).where(ListingTransfer.status == "disclosure",
                                                   ListingTransfer.disclosure_ends_at <= utcnow())
                     .order_by(ListingTransfer.disclosure_ends_at, ListingTransfer.id).limit(1))
                if skip:
                    q = q.where(ListingTransfer.id.not_in(skip))
                if not db.is_sqlite:
                    q = q.with_for_update(skip_locked=True)
                terms = s.scalars(q).first()
                if terms is None:
                    return done
                claimed = terms.id
                if decide(s, terms):
                    done += 1
        except Exception:  # rolled back whole: the next sweep retries it
            if claimed is None:
                raise
            log.exception("deciding transfer %s failed", claimed)
            skip.add(claimed)


def decide(s: Session, terms: ListingTransfer) -> bool:
    """Count the organisations with held deposits and act; False when another scheduler
    decided this period first."""
    now = utcnow()
    listing = s.get(Listing, terms.listing_id)
    deps = _live_deposits(s, listing.id)
    buyers: dict[int, Deposit] = {}
    for d in deps:
        if d.status == "held" and d.org_id not in buyers:
            buyers[d.org_id] = d
    outcome = ("no_buyer", "agreement")[len(buyers)] if len(buyers) < 2 else "auction"
    if not lifecycle.try_move(s, terms, "decided", action="transfer.decided",
                              after={"status": "decided", "outcome": outcome,
                                     "buyers": sorted(buyers)},
                              outcome=outcome, decided_at=now):
        return False
    kept = set(d.id for d in buyers.values())
    for d in deps:  # pending ones, and a second deposit of one organisation
        if d.id not in kept:
            payments_deposits.release(s, d, now, "not registered at the period's end")
    if outcome == "no_buyer":
        transition(s, listing, "unsold", actor_id=None, reason="no buyer registered")
    elif outcome == "agreement":
        (dep,) = buyers.values()
        _open_agreement(s, listing, terms, dep)
        transition(s, listing, "sold", actor_id=None,
                   reason=f"transfer by agreement to org {dep.org_id}")
        notify(s, dep.user_id, "transfer.agreement", f"挂牌转让成交 / Transfer agreed (#{listing.id})",
               "请按期支付余款 / pay the balance by the deadline", link=f"/listings/{listing.id}")
    else:
        answer = open_auction.get()
        if answer is None:
            raise RuntimeError("no package opens transfer auctions")
        auction_id = answer(s, listing, terms, list(buyers.values()), now)
        for d in buyers.values():
            notify(s, d.user_id, "transfer.auction", f"挂牌转让竞价 / Transfer auction (#{listing.id})",
                   "", link=f"/auctions/{auction_id}")
    return True


def _forfeits(s: Session, listing_id: int) -> tuple[ForfeitedDeposit, ...]:
    """Earlier buyers' forfeited deposits, each with the price its defaulter walked away
    from (that agreement's price); settlement applies each once."""
    rows = s.execute(select(Deposit.id, Deposit.org_id, Deposit.amount, Settlement.price)
                     .outerjoin(Settlement, Settlement.sale_ref == REF + cast(Deposit.id, String))
                     .where(Deposit.listing_id == listing_id, Deposit.auction_id.is_(None),
                            Deposit.status.in_(("forfeited", "captured"))))
    return tuple(ForfeitedDeposit(*row) for row in rows)


def _open_agreement(s: Session, listing: Listing, terms: ListingTransfer, dep: Deposit) -> Settlement:
    from ..services import disposal_costs_total, listing_assets  # cycle: listings.services imports this module

    days = settings_store.get(s, "balance_due_days")
    return sale.open_sale(s, sale.Sale(
        # One agreement per buyer's deposit: a relist after a default is a new sale.
        mode="transfer", source_id=dep.id, listing_id=listing.id, loan_id=listing.loan_id,
        seller_org_id=listing.seller_org_id, pledgor_org_id=pledgor_org_id(s, listing),
        buyer_user_id=dep.user_id, price=terms.list_price, deposit_applied=dep.amount,
        asset_ids=tuple(a.id for a in listing_assets(s, listing)),
        disposal_costs=disposal_costs_total(s, listing.id), as_of=terms.period_last_day,
        balance_due_by=terms.disclosure_ends_at + dt.timedelta(days=days),
        currency=listing.currency, forfeits=_forfeits(s, listing.id)))


def _agreement_deposit(s: Session, settlement) -> tuple[Listing, Deposit] | None:
    ref = settlement.sale_ref or ""
    if not ref.startswith(REF):
        return None
    dep = s.get(Deposit, int(ref[len(REF):]), with_for_update=True)
    if dep is None or dep.listing_id != settlement.listing_id:
        return None  # not an agreement this mode made (no registration deposit behind it)
    return s.get(Listing, settlement.listing_id), dep


def on_settlement_settled(s: Session, settlement) -> None:
    """The agreement's price is paid: the deposit was counted toward it; listing settled."""
    found = _agreement_deposit(s, settlement)
    if found is None:
        return
    listing, dep = found
    payments_deposits.apply_to_price(s, dep, utcnow())
    transition(s, listing, "settled", actor_id=None, reason=f"settlement {settlement.id}")


def on_settlement_defaulted(s: Session, settlement) -> None:
    """The buyer did not pay by balance_due_by: its deposit is forfeited (which bars its
    organisation from this listing) and the listing is unsold."""
    found = _agreement_deposit(s, settlement)
    if found is None:
        return
    listing, dep = found
    payments_deposits.forfeit(s, dep, utcnow())
    notify(s, dep.user_id, "transfer.defaulted", f"违约 / Default on transfer #{listing.id}",
           "保证金不予退还 / The deposit is forfeited", link=f"/listings/{listing.id}")
    audit.record(s, "transfer.defaulted", "listing", listing.id,
                 after={"org_id": dep.org_id, "settlement_id": settlement.id})
    transition(s, listing, "unsold", actor_id=None, reason=f"buyer defaulted ({settlement.sale_ref})")


# ---------------------------------------------------------------- relist

def relist(session: Session, user, listing: Listing, data: dict) -> Listing:
    """The seller relists an unsold transfer: at ≥ 90% of the assets' value today it is
    published again with a new period, below that it goes to an operator's review."""
    from ..services import _require_seller, listing_assets  # cycle: listings.services imports this module

    _require_seller(user, listing)
    terms = listing.transfer_terms
    if listing.mode != "transfer" or terms is None or listing.status != "unsold":
        transition(session, listing, "published", actor_id=user.id)  # raises 409
    before = terms_dict(session, listing)
    old_price, old_deposit = terms.list_price, terms.deposit
    terms.list_price = data["list_price"]
    terms.deposit = data.get("deposit") or (old_deposit * terms.list_price / old_price).quantize(
        Decimal("0.01"), rounding=ROUND_DOWN)
    if "disclosure_days" in data:
        terms.disclosure_days = data["disclosure_days"]
    listing.ask_price = terms.list_price
    assets = listing_assets(session, listing)
    check_terms(session, listing, assets)
    value = rules.appraisal_total(assets, rules.market_date(utcnow()))
    audit.record(session, "transfer.relisted", "listing", listing.id, actor_id=user.id,
                 before=before, after={**terms_dict(session, listing), "value": value})
    if value is not None and terms.list_price >= value * RELIST_RATIO:
        transition(session, listing, "published", actor_id=user.id,
                   reason="relisted at ≥ 90% of the value")
        on_published(session, listing)
    else:
        transition(session, listing, "pending_review", actor_id=user.id,
                   reason="relisted below 90% of the value")
        lifecycle.move(session, terms, "awaiting", reason="relisted below 90% of the value",
                       disclosure_ends_at=None, outcome=None)
    return listing
