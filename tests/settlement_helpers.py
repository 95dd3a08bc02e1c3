"""Arrange loans, listings and sales with ORM rows (listings and auctions are other
packages' work; settlement tests call open_sale with plain values)."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from market.accounts.models import Org, User
from market.lending.models import Loan, LoanEvent, Pledge, RiskShare
from market.settlement import services
from market.timeutil import utcnow

D = Decimal
UTC = dt.timezone.utc


def org(s, kind: str = "enterprise", name: str | None = None) -> Org:
    o = Org(name=name or f"{kind} {uuid.uuid4().hex[:6]}", kind=kind, created_at=utcnow())
    s.add(o)
    s.flush()
    return o


def user(s, o: Org, role: str = "investor") -> User:
    u = User(email=f"{role}-{uuid.uuid4().hex[:8]}@example.com", password_hash="x", role=role,
             org_id=o.id, created_at=utcnow())
    s.add(u)
    s.flush()
    return u


def loan(s, bank: Org, borrower: Org, *, principal="3000000.00", annual_rate="0.0435",
         penalty_rate="0.06525", disbursed_on=dt.date(2024, 3, 1),
         maturity_on=dt.date(2025, 3, 1), defaulted_on=dt.date(2025, 3, 1),
         risk_shares=(), costs=()) -> Loan:
    """A defaulted loan; risk_shares = [(org, share, cap|None)], costs = [(amount, date)]."""
    ln = Loan(bank_org_id=bank.id, borrower_org_id=borrower.id, principal=D(principal),
              annual_rate=D(annual_rate), penalty_rate=D(penalty_rate),
              disbursed_on=disbursed_on, maturity_on=maturity_on,
              status="defaulted" if defaulted_on else "performing", defaulted_on=defaulted_on,
              created_at=utcnow())
    s.add(ln)
    s.flush()
    s.add(Pledge(loan_id=ln.id, registration_no=f"REG-{uuid.uuid4().hex[:10]}",
                 registered_on=disbursed_on, status="registered"))
    for i, (o, share, cap) in enumerate(risk_shares):
        s.add(RiskShare(loan_id=ln.id, org_id=o.id, share=D(share),
                        cap=None if cap is None else D(cap), position=i))
    for amount, on in costs:
        s.add(LoanEvent(loan_id=ln.id, kind="cost", amount=D(amount), on_date=on,
                        description="legal fees", created_at=utcnow()))
    s.flush()
    s.expire(ln)
    return ln


def listing(s, seller: Org, creator: User, loan_id: int | None = None) -> int:
    from listings.models import Listing

    li = Listing(title="专利包 patent bundle", mode="auction", status="sold",
                 seller_org_id=seller.id, created_by=creator.id, loan_id=loan_id,
                 created_at=utcnow(), updated_at=utcnow())
    s.add(li)
    s.flush()
    return li.id


class Scenario:
    """A bank, a pledgor, a buyer, an operator; a defaulted loan and its listing."""

    def __init__(self, s, *, risk_shares=(), costs=(), own_ip=False, **loan_kw):
        self.s = s
        self.bank = org(s, "bank")
        self.pledgor = org(s, "enterprise")
        self.buyer_org = org(s, "investor")
        self.bank_user = user(s, self.bank, "bank")
        self.buyer = user(s, self.buyer_org, "investor")
        self.parties = [org(s, kind) for kind in ("fund", "insurer", "guarantor")]
        shares = [(self.parties[i], share, cap) for i, (share, cap) in enumerate(risk_shares)]
        self.loan = None if own_ip else loan(s, self.bank, self.pledgor, risk_shares=shares,
                                             costs=costs, **loan_kw)
        seller = self.pledgor if own_ip else self.bank
        self.listing_id = listing(s, seller, self.bank_user,
                                  None if own_ip else self.loan.id)
        self.seller = seller

    def open_sale(self, price, *, deposit="0", disposal_costs="0",
                  as_of=dt.date(2025, 6, 1), sale_ref=None, due_in_days=10,
                  balance_due_by=None, buyer_user_id=None):
        return services.open_sale(
            self.s, listing_id=self.listing_id, sale_ref=sale_ref or f"test:{uuid.uuid4().hex[:8]}",
            loan_id=self.loan.id if self.loan else None, seller_org_id=self.seller.id,
            pledgor_org_id=self.pledgor.id,
            buyer_user_id=buyer_user_id or self.buyer.id, price=D(price),
            deposit_applied=D(deposit), disposal_costs=D(disposal_costs), as_of=as_of,
            balance_due_by=balance_due_by or (utcnow() + dt.timedelta(days=due_in_days)))


ALL_PARTIES = ("bank", "pledgor", "operator", "other", "other_bank")


def make_sale(db, actors, parties=ALL_PARTIES, **sale_kw) -> dict:
    """A closed auction's sale, with API clients for the buyer and the `parties` asked for
    (each one costs a password hash, so fast tests ask for fewer)."""
    sc = Scenario(db, risk_shares=[("0.4", None), ("0.3", "200000.00")],
                  costs=[("20000.00", dt.date(2025, 4, 1))])
    db.commit()
    buyer = actors.api("investor", org=sc.buyer_org.name)
    kw = {"deposit": "200000.00", "disposal_costs": "30000.00", **sale_kw}
    st = sc.open_sale(kw.pop("price", "2000000.00"), buyer_user_id=buyer.user["id"], **kw)
    db.commit()
    make = {"bank": lambda: actors.api("bank", org=sc.bank.name),
            "pledgor": lambda: actors.api("owner", org=sc.pledgor.name),
            "operator": lambda: actors.api("operator"),
            "other": lambda: actors.api("investor"),
            "other_bank": lambda: actors.api("bank")}
    out = {"sc": sc, "st": st, "buyer": buyer}
    out.update({name: make[name]() for name in parties})
    return out
