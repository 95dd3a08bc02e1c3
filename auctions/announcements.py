"""A round is announced to the parties and the known priority-right holders
(法释〔2016〕18号 art. 12: 当事人、已知优先购买权人 are told), in the app and — where SMTP
is configured — by e-mail (the notification's e-mail goes out with the mail job)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from listings.models import PriorityHolder
from market.accounts.models import User
from market.notifications import notify

from . import listing_link
from .models import Auction


def parties_to_tell(session: Session, listing) -> set[int]:
    """The seller, the pledgor, the backstop fund and every registered priority holder."""
    orgs = {listing.seller_org_id, listing_link.pledgor_of(session, listing),
            listing.backstop_org_id}
    orgs.update(session.scalars(select(PriorityHolder.org_id)
                                .where(PriorityHolder.listing_id == listing.id)))
    orgs.discard(None)
    return orgs


def announce(session: Session, listing, a: Auction) -> None:
    orgs = parties_to_tell(session, listing)
    users = session.scalars(select(User.id).where(User.org_id.in_(orgs),
                                                  User.active.is_(True)).order_by(User.id))
    subject = f"拍卖公告 / Auction announced: {listing.title}"[:200]
    body = (f"第{a.round}轮 / Round {a.round}: 起拍价 / start price {a.start_price:.2f} "
            f"{a.currency}; 开始 / starts {a.starts_at.isoformat()}; "
            f"结束 / ends {a.ends_at.isoformat()}")
    for user_id in users:
        notify(session, user_id, "auction.announced", subject, body, link=f"/auctions/{a.id}")
