"""Who may bid on a listing: a deposit (any mode's registration) and a qualification ask
`check_may_bid` first.

- 拍卖法 art. 30 (委托人不得参与竞买): nobody of the seller's or the pledgor's
  organisation bids — that would be shill bidding → 403 `seller_cannot_bid`.
- 法释〔2016〕18号 art. 24 (悔拍): a buyer who defaulted may not bid when the listing is
  sold again; the buyer is the organisation, so every one of its users is barred →
  403 `bidder_barred`.
"""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from listings.parties import seller_side_orgs
from market.errors import Forbidden

from . import listing_link
from .models import BarredBidder


def is_barred(session: Session, listing_id: int, user_id: int, org_id: int) -> bool:
    return session.scalar(select(BarredBidder.id).where(
        BarredBidder.listing_id == listing_id,
        or_(BarredBidder.org_id == org_id, BarredBidder.user_id == user_id)).limit(1)) is not None


def check_may_bid(session: Session, listing_id: int, user) -> None:
    """Raise 403 if `user` (id, org_id) may not take part in the sale of this listing."""
    listing = listing_link.get(session, listing_id)
    if user.org_id in seller_side_orgs(session, listing):
        raise Forbidden("seller_cannot_bid",
                        "委托人（卖方）及出质人本人及其单位人员不得参与竞买（拍卖法第三十条）/ "
                        "The seller and the pledgor may not bid, nor anyone of their "
                        "organisation (拍卖法 art. 30)")
    if is_barred(session, listing_id, user.id, user.org_id):
        raise Forbidden("bidder_barred",
                        "悔拍的买受人（含其单位人员）不得参加重新拍卖的竞买（法释〔2016〕18号第二十四条） "
                        "/ A buyer who defaulted may not bid in the re-sale, nor anyone of its "
                        "organisation (法释〔2016〕18号 art. 24)")


def bar_org(session: Session, listing_id: int, org_id: int, user_id: int, reason: str, at) -> None:
    """Record the 悔拍 bar on the defaulting buyer's organisation (once)."""
    exists = session.scalar(select(BarredBidder.id).where(
        BarredBidder.listing_id == listing_id, BarredBidder.org_id == org_id).limit(1))
    if exists is None:
        session.add(BarredBidder(listing_id=listing_id, user_id=user_id, org_id=org_id,
                                 reason=reason, at=at))
