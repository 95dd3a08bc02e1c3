"""Equity contribution (作价入股, API.md "Equity contribution"): enterprises offer shares
for a listing's IP; the seller accepts one offer and says where the consideration goes.

- nominee: a bank may not hold shares itself (商业银行法 art. 43). The nominee (an
  `investor` or `fund` organisation) buys at the offer's valuation: one Sale through
  market/settlement/sale.py, paid and settled like an auction sale; unpaid by the
  deadline, the acceptance lapses and the listing is published again.
- pledgor (a pledged listing): the IP passes to the company and the shares to the
  pledgor, pledged to the bank in the IP's place (民法典 443): a new `equity_interest`
  asset, valued at the offer, under a new pledge for the same loan; the old pledge is
  released; the loan stays defaulted with its claim.

The listing moves published → sold (the IP is disposed of for shares) and, once the
consideration is in (paid, or the share pledge registered at once), → settled: both moves
are in the listing lifecycle table already, so no new transition is needed.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from market import audit, lifecycle, settings_store
from market.accounts.models import Org, User
from market.assets import services as assets
from market.errors import Conflict, Forbidden, Invalid, NotFound
from market.lending import services as lending
from market.lending.models import Loan
from market.notifications import notify
from market.settlement import sale
from market.timeutil import utcnow

from .. import services
from ..parties import pledgor_org_id, seller_side_orgs
from ..lifecycle import transition
from ..models import Listing
from ..rules import market_date
from .equity_models import EquityOffer
from .equity_terms import terms_of

NOMINEE_KINDS = ("investor", "fund")


def offer_dict(offer: EquityOffer) -> dict:
    return {"id": offer.id, "listing_id": offer.listing_id,
            "company_org_id": offer.company_org_id, "valuation": offer.valuation,
            "share_of_company": offer.share_of_company, "status": offer.status,
            "consideration_to": offer.consideration_to, "nominee_org_id": offer.nominee_org_id,
            "registration_no": offer.registration_no, "settlement_id": offer.settlement_id,
            "equity_asset_id": offer.equity_asset_id, "created_at": offer.created_at,
            "decided_at": offer.decided_at}


# ---------------------------------------------------------------- offers

def make_offer(session: Session, user: User, listing: Listing, *, valuation: Decimal,
               share_of_company: Decimal) -> EquityOffer:
    """An enterprise (the company that takes the IP) offers shares for it."""
    org = session.get(Org, user.org_id)
    if org is None or org.kind != "enterprise":
        raise Forbidden("not_enterprise", "only a company (an enterprise organisation) offers "
                                          "shares for IP")
    if user.org_id in seller_side_orgs(session, listing):
        raise Forbidden("seller_cannot_offer", "the seller's and the pledgor's side cannot offer")
    if listing.mode != "equity":
        raise Conflict("not_equity_listing", "this listing is not an equity contribution")
    terms = terms_of(session, listing.id)
    if terms is not None and valuation < terms.min_valuation:
        raise Invalid("offer_below_minimum",
                      f"the valuation must be at least {terms.min_valuation:.2f}")
    if listing.status != "published":
        raise Conflict("listing_not_open", f"the listing is {listing.status}")
    offer = EquityOffer(listing_id=listing.id, company_org_id=user.org_id, offered_by=user.id,
                        valuation=valuation, share_of_company=share_of_company,
                        status="pending", created_at=utcnow())
    session.add(offer)
    session.flush()
    audit.record(session, "equity_offer.create", "equity_offer", offer.id, actor_id=user.id,
                 after=offer_dict(offer))
    seller_users = session.scalars(select(User.id).where(User.org_id == listing.seller_org_id))
    for uid in seller_users:
        notify(session, uid, "equity.offer", f"作价入股报价 / Equity offer #{offer.id}",
               f"{valuation:.2f} · {share_of_company}", link=f"/listings/{listing.id}#equity")
    return offer


def can_see_offer(user: User | None, offer: EquityOffer, listing: Listing) -> bool:
    return user is not None and (
        user.role == "operator"
        or user.org_id in (offer.company_org_id, listing.seller_org_id, offer.nominee_org_id))


def get_offer(session: Session, user: User | None,
              offer_id: int) -> tuple[EquityOffer, Listing]:
    if not services.valid_id(offer_id):
        raise NotFound("equity offer")
    offer = session.scalar(select(EquityOffer).where(EquityOffer.id == offer_id))
    listing = session.get(Listing, offer.listing_id) if offer is not None else None
    if offer is None or not can_see_offer(user, offer, listing):
        raise NotFound("equity offer")
    return offer, listing


def lock(session: Session, offer: EquityOffer, listing: Listing) -> None:
    """Before an acceptance: the listing first, then the offer (re-read). Every writer of a
    listing's offers locks the listing first, so two acceptances on one listing queue up
    (the second finds its offer rejected) instead of deadlocking over each other's offers."""
    session.refresh(listing, with_for_update=True)
    session.refresh(offer, with_for_update=True)


def offers_of(session: Session, user: User, listing: Listing) -> list[EquityOffer]:
    """The seller and operators see every offer; a company its own."""
    stmt = select(EquityOffer).where(EquityOffer.listing_id == listing.id)
    if user.role != "operator" and user.org_id != listing.seller_org_id:
        stmt = stmt.where(EquityOffer.company_org_id == user.org_id)
    return list(session.scalars(stmt.order_by(EquityOffer.valuation.desc(), EquityOffer.id)))


def _reject_others(session: Session, offer: EquityOffer, actor_id: int | None,
                   reason: str) -> None:
    others = session.scalars(select(EquityOffer).where(
        EquityOffer.listing_id == offer.listing_id, EquityOffer.id != offer.id,
        EquityOffer.status == "pending").with_for_update())
    for other in others:
        lifecycle.move(session, other, "rejected", actor_id=actor_id, reason=reason,
                       decided_at=utcnow())
        notify(session, other.offered_by, "equity.rejected",
               f"作价入股报价未获接受 / Equity offer #{other.id} not accepted", reason,
               link=f"/equity-offers/{other.id}")


# ---------------------------------------------------------------- acceptance

def accept(session: Session, user: User, offer: EquityOffer, listing: Listing, *,
           consideration_to: str, nominee_org_id: int | None = None,
           registration_no: str | None = None) -> EquityOffer:
    """The seller accepts one offer (the others are rejected and their offerors told)."""
    services._require_seller(user, listing)
    nominee = None
    if consideration_to == "nominee":
        nominee = assets.get_row(session, Org, nominee_org_id)
        if nominee is None:
            raise NotFound("nominee organisation")
        if nominee.kind == "bank":
            raise Invalid("bank_cannot_hold_equity",
                          "a bank may not hold the shares itself (商业银行法 art. 43)")
        if nominee.kind not in NOMINEE_KINDS:
            raise Invalid("nominee_not_investor",
                          "the nominee must be an investor or fund organisation")
    elif listing.loan_id is None:
        raise Invalid("listing_not_pledged",
                      "shares go to the pledgor only when pledged IP is contributed")
    if offer.status != "pending":
        raise Conflict("offer_not_pending", f"the offer is {offer.status}")
    now = utcnow()
    lifecycle.move(session, offer, "accepted", actor_id=user.id, decided_at=now,
                   consideration_to=consideration_to,
                   nominee_org_id=nominee.id if nominee else None,
                   registration_no=registration_no,
                   after=offer_dict)
    _reject_others(session, offer, user.id, f"offer #{offer.id} was accepted")
    transition(session, listing, "sold", actor_id=user.id,
               reason=f"equity offer {offer.id} accepted ({consideration_to})")
    if nominee is not None:
        _sell_to_nominee(session, offer, listing, now)
    else:
        _replace_collateral(session, user, offer, listing, now)
    return offer


def _sell_to_nominee(session: Session, offer: EquityOffer, listing: Listing,
                     now: dt.datetime) -> None:
    days = settings_store.get(session, "balance_due_days")
    st = sale.open_sale(session, sale.Sale(
        mode="equity", source_id=offer.id, listing_id=listing.id, loan_id=listing.loan_id,
        seller_org_id=listing.seller_org_id, pledgor_org_id=pledgor_org_id(session, listing),
        buyer_org_id=offer.nominee_org_id, price=offer.valuation, as_of=market_date(now),
        asset_ids=tuple(la.asset_id for la in listing.assets),
        disposal_costs=services.disposal_costs_total(session, listing.id),
        balance_due_by=now + dt.timedelta(days=days), currency=listing.currency))
    offer.settlement_id = st.id
    session.flush()
    for uid in session.scalars(select(User.id).where(User.org_id == offer.nominee_org_id)):
        notify(session, uid, "equity.nominee",
               f"作价入股：请付款 / Equity contribution: payment due (#{offer.id})",
               f"{st.balance_due:.2f}", link=f"/listings/{listing.id}")


def _to_company(session: Session, offer: EquityOffer, listing: Listing, actor_id) -> None:
    for la in listing.assets:
        assets.transfer_owner(session, la.asset_id, offer.company_org_id, actor_id=actor_id,
                              reason=f"equity contribution, offer {offer.id}")


def _replace_collateral(session: Session, user: User, offer: EquityOffer, listing: Listing,
                        now: dt.datetime) -> None:
    """民法典 443: the shares, pledged to the bank, take the IP's place for the same loan."""
    today = market_date(now)
    loan = session.get(Loan, listing.loan_id)
    company = session.get(Org, offer.company_org_id)
    share = (offer.share_of_company * 100).normalize()
    asset = assets.create_asset(
        session, kind="equity_interest", registry_no=f"EQ-{company.id}-{offer.id}",
        title=f"{company.name} {share:f}% 股权 / equity interest", owner_org_id=loan.borrower_org_id,
        expires_on=None, actor_id=user.id,
        abstract=f"Shares issued for IP contributed under equity offer {offer.id}")
    assets.add_valuation(session, asset.id, amount=offer.valuation, valued_on=today,
                         method="market", agency=f"作价入股 equity offer {offer.id}",
                         actor_id=user.id)
    lending.replace_collateral(session, loan.id, asset_ids=[asset.id],
                               registration_no=offer.registration_no, registered_on=today,
                               actor_id=user.id)
    _to_company(session, offer, listing, user.id)
    offer.equity_asset_id = asset.id
    session.flush()
    audit.record(session, "equity_offer.collateral_replaced", "equity_offer", offer.id,
                 actor_id=user.id, after={"loan_id": loan.id, "equity_asset_id": asset.id,
                                          "registration_no": offer.registration_no})
    transition(session, listing, "settled", actor_id=user.id,
               reason=f"shares pledged in place of the IP (offer {offer.id})")


# ---------------------------------------------------------------- hooks

def _offer_of(session: Session, settlement) -> EquityOffer | None:
    ref = settlement.sale_ref or ""
    if not ref.startswith("equity:"):
        return None
    return session.get(EquityOffer, int(ref.split(":", 1)[1]), with_for_update=True)


def on_settlement_settled(session: Session, settlement) -> None:
    """The nominee paid: the IP goes to the company, the listing is settled."""
    offer = _offer_of(session, settlement)
    if offer is None:
        return
    listing = session.get(Listing, offer.listing_id)
    _to_company(session, offer, listing, session.info.get("actor_id"))
    transition(session, listing, "settled", actor_id=session.info.get("actor_id"),
               reason=f"settlement {settlement.id}")


def on_settlement_defaulted(session: Session, settlement) -> None:
    """The nominee did not pay by the deadline: the acceptance lapses, the listing reopens."""
    offer = _offer_of(session, settlement)
    if offer is None or offer.status != "accepted":
        return
    lifecycle.move(session, offer, "lapsed", reason=f"settlement {settlement.id} unpaid")
    listing = session.get(Listing, offer.listing_id)
    transition(session, listing, "published", actor_id=None,
               reason=f"equity offer {offer.id} lapsed: the nominee did not pay")
    notify(session, offer.offered_by, "equity.lapsed",
           f"作价入股接受已失效 / Equity offer #{offer.id} lapsed",
           "the nominee did not pay", link=f"/equity-offers/{offer.id}")


def on_listing_closed(session: Session, listing, reason=None) -> None:
    """Withdrawn or unpublished: pending offers are rejected and their offerors told."""
    if listing.mode != "equity":
        return
    for offer in session.scalars(select(EquityOffer).where(
            EquityOffer.listing_id == listing.id, EquityOffer.status == "pending")):
        lifecycle.move(session, offer, "rejected", reason=f"listing {reason or 'closed'}",
                       decided_at=utcnow())
        notify(session, offer.offered_by, "equity.rejected",
               f"作价入股报价未获接受 / Equity offer #{offer.id} not accepted",
               f"listing {reason or 'closed'}", link=f"/equity-offers/{offer.id}")
