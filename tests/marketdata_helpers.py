"""Arrange settled sales with known prices and values: ORM rows for the listing (another
package's work), the settlement services for the sale itself (open_sale, then settle on a
chosen day, so settled_on is known)."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from listings.models import Listing, ListingAsset
from market.assets.models import Asset, Valuation
from market.settlement import services
from market.timeutil import utcnow

from .settlement_helpers import org, user

D = Decimal
SHANGHAI = ZoneInfo("Asia/Shanghai")


def noon(day: dt.date) -> dt.datetime:
    """Midday in the market's time zone, as a UTC instant."""
    return dt.datetime.combine(day, dt.time(12), SHANGHAI).astimezone(dt.timezone.utc)


class Market:
    """A seller (an owner selling its own IP) and a buyer; sales of fresh assets."""

    def __init__(self, s):
        self.s = s
        self.seller = org(s, "enterprise", f"卖方 seller {uuid.uuid4().hex[:6]}")
        self.seller_user = user(s, self.seller, "owner")
        self.buyer_org = org(s, "investor", f"买方 buyer {uuid.uuid4().hex[:6]}")
        self.buyer = user(s, self.buyer_org, "investor")

    def asset(self, *, kind="invention_patent", classification="G06F 16/00",
              value: str | None = "1000000.00", valued_on=dt.date(2024, 1, 1),
              owner=None) -> Asset:
        a = Asset(kind=kind, registry_no=f"ZL{uuid.uuid4().int % 10**12:012d}.1",
                  title="测试专利", owner_org_id=(owner or self.seller).id,
                  classification=classification, expires_on=dt.date(2040, 1, 1),
                  legal_status="valid", created_at=utcnow())
        self.s.add(a)
        self.s.flush()
        if value is not None:
            self.s.add(Valuation(asset_id=a.id, amount=D(value), method="income",
                                 agency="中联资产评估", valued_on=valued_on,
                                 valid_until=valued_on + dt.timedelta(days=3650),
                                 created_at=utcnow()))
            self.s.flush()
            self.s.expire(a)
        return a

    def sale(self, price: str, settled_on: dt.date, *, assets=None, mode="auction",
             as_of: dt.date | None = None, settle=True, **asset_kw):
        assets = assets or [self.asset(**asset_kw)]
        li = Listing(title="专利拍卖", mode=mode, status="sold", seller_org_id=self.seller.id,
                     created_by=self.seller_user.id, created_at=utcnow(), updated_at=utcnow())
        self.s.add(li)
        self.s.flush()
        for i, a in enumerate(assets):
            self.s.add(ListingAsset(listing_id=li.id, asset_id=a.id, position=i))
        self.s.flush()
        st = services.open_sale(
            self.s, listing_id=li.id, sale_ref=f"test:{uuid.uuid4().hex[:10]}", loan_id=None,
            seller_org_id=self.seller.id, pledgor_org_id=None, buyer_user_id=self.buyer.id,
            price=D(price), deposit_applied=D("0"), disposal_costs=D("0"),
            as_of=as_of or settled_on, balance_due_by=noon(settled_on) + dt.timedelta(days=10))
        if settle:
            services.settle(self.s, st.id, paid_at=noon(settled_on))
        self.s.flush()
        return li.id
