"""Arrange assets, valuations and defaulted loans for listing tests by inserting ORM rows
through the `db` fixture (the lending services are another package's; the rows are the
shared contract)."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from market.assets.models import Asset, Valuation
from market.lending.models import Loan, Pledge, PledgeAsset
from market.timeutil import utcnow

_seq = itertools.count(1)
TODAY = dt.date.today()


def iso(d: dt.datetime) -> str:
    return d.astimezone(dt.timezone.utc).isoformat()


def asset(db, owner_org_id: int, *, title="一种行星齿轮减速器", kind="invention_patent",
          abstract="Planetary gear reducer for industrial robots.", classification="F16H 1/28",
          legal_status="valid", expires_on=None, value: str | None = "1000000.00",
          valued_on=None, valid_until=None, registry_no=None) -> int:
    n = next(_seq)
    a = Asset(kind=kind, registry_no=registry_no or f"ZL2020{n:06d}.{n % 10}", title=title,
              abstract=abstract, owner_org_id=owner_org_id, jurisdiction="CN",
              classification=classification, legal_status=legal_status,
              expires_on=expires_on or TODAY + dt.timedelta(days=3650), created_at=utcnow())
    db.add(a)
    db.flush()
    if value is not None:
        on = valued_on or TODAY - dt.timedelta(days=30)
        db.add(Valuation(asset_id=a.id, amount=Decimal(value), method="income",
                         agency="中联评估", valued_on=on,
                         valid_until=valid_until or on + dt.timedelta(days=365),
                         created_at=utcnow()))
    db.commit()
    return a.id


def loan(db, bank_org_id: int, borrower_org_id: int, asset_ids: list[int], *,
         status="defaulted", principal="3000000.00") -> int:
    n = next(_seq)
    ln = Loan(bank_org_id=bank_org_id, borrower_org_id=borrower_org_id,
              principal=Decimal(principal), annual_rate=Decimal("0.0435"),
              penalty_rate=Decimal("0.06525"), disbursed_on=TODAY - dt.timedelta(days=400),
              maturity_on=TODAY - dt.timedelta(days=35), status=status,
              defaulted_on=TODAY - dt.timedelta(days=30) if status == "defaulted" else None,
              reference=f"L-{n}", created_at=utcnow())
    db.add(ln)
    db.flush()
    p = Pledge(loan_id=ln.id, registration_no=f"ZX-{n:06d}",
               registered_on=TODAY - dt.timedelta(days=400), status="registered")
    db.add(p)
    db.flush()
    for aid in asset_ids:
        db.add(PledgeAsset(pledge_id=p.id, asset_id=aid, active=True))
    db.commit()
    return ln.id


def auction_terms(start="800000.00", deposit="80000.00", increment="10000.00", *,
                  starts_in=dt.timedelta(hours=1), duration=dt.timedelta(days=2), **extra) -> dict:
    starts = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + starts_in
    terms = {"start_price": start, "increment": increment, "deposit": deposit,
             "starts_at": iso(starts), "ends_at": iso(starts + duration)}
    terms.update(extra)
    return terms


class Setup:
    """A bank with a defaulted loan over one patent (value 1,000,000), an owner with its
    own unpledged patent, an operator and an investor — each with an API client."""

    def __init__(self, actors, db):
        self.bank = actors.api("bank", org="华夏科创银行")
        self.owner = actors.api("owner", org="苏州精密传动")
        self.operator = actors.api("operator", org="交易中心")
        self.investor = actors.api("investor", org="前海投资")
        self.pledged = asset(db, self.owner.user["org_id"])
        self.loan = loan(db, self.bank.user["org_id"], self.owner.user["org_id"], [self.pledged])
        self.own = asset(db, self.owner.user["org_id"], title="齿轮箱润滑冷却装置",
                         kind="utility_model", abstract="Gearbox cooling", classification="F16H 57")

    def collateral_body(self, **terms) -> dict:
        return {"title": "质押专利处置：行星齿轮减速器", "description": "Collateral disposal",
                "mode": "auction", "asset_ids": [self.pledged], "loan_id": self.loan,
                "auction": auction_terms(**terms)}

    def create(self, body=None, who=None):
        resp = (who or self.bank).post("/api/v1/listings", json=body or self.collateral_body())
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def publish(self, body=None, who=None) -> dict:
        who = who or self.bank
        lst = self.create(body, who)
        assert who.post(f"/api/v1/listings/{lst['id']}/submit").status_code == 200
        resp = self.operator.post(f"/api/v1/listings/{lst['id']}/approve")
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()


def transfer_terms(list_price: str) -> dict:
    """A listed transfer's terms at `list_price`: deposit 10%, increment 1%."""
    from decimal import ROUND_DOWN, Decimal

    price = Decimal(list_price)
    cents = Decimal("0.01")
    return {"list_price": list_price, "deposit": str((price / 10).quantize(cents, ROUND_DOWN)),
            "increment": str(max(cents, (price / 100).quantize(cents, ROUND_DOWN)))}
