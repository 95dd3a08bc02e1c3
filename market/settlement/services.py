"""Settlement of a sale against a loan (民法典 436–438, 561).

`open_sale` fixes a sale's figures at the close; `settle` applies them exactly once
when the price is paid; `mark_defaulted` records a missed balance deadline. The module
takes plain values (price, loan id, costs): it does not know auctions exist.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit, hooks, lifecycle, settings_store
from ..accounts.models import User
from ..errors import Conflict, Invalid, NotFound
from ..lending import services as lending
from ..lending.claims import Claim, allocate, compute_claim
from ..lending.models import Loan
from ..money import ZERO, cents
from ..payments.models import Payment
from ..timeutil import utcnow
from . import forfeits as forfeits_service
from . import ledger
from .forfeits import ForfeitedDeposit
from .models import Settlement, SettlementRiskShare

APPLIED_HEADS = ("costs", "penalty_interest", "interest", "principal")
# The sale_ref of an agreed valuation (lending/agreed.py: mode "agreed_valuation").
SET_OFF_PREFIX = "agreed_valuation:"


@dataclass(frozen=True)
class Waterfall:
    """The arithmetic of one sale, before it is stored."""

    seller_commission: Decimal
    buyer_premium: Decimal
    net_proceeds: Decimal
    applied: dict[str, Decimal]
    claim_total: Decimal
    claim: dict[str, Decimal]
    surplus_to_pledgor: Decimal
    shortfall: Decimal
    risk_shares: list[tuple[int, Decimal]]
    lender_loss: Decimal


def split_shortfall(shortfall: Decimal,
                    parties: list[tuple[int, Decimal, Decimal | None]]) -> list[tuple[int, Decimal]]:
    """Each party carries min(half-up(share × shortfall), what is left of its cap);
    if rounding makes the shares exceed the shortfall, the excess comes off the last
    share listed (API.md). `parties` = [(org_id, share, cap_left|None)] in listed order."""
    out: list[tuple[int, Decimal]] = []
    for org_id, share, cap_left in parties:
        amount = cents(Decimal(share) * shortfall) if shortfall > 0 else ZERO
        if cap_left is not None:
            amount = min(amount, max(cap_left, ZERO))
        out.append((org_id, amount))
    excess = sum((a for _, a in out), ZERO) - shortfall
    # Take the excess off the last shares listed (the last first; should it be smaller
    # than the excess, which rounding alone cannot cause, carry on upwards).
    i = len(out) - 1
    while excess > 0 and i >= 0:
        org_id, amount = out[i]
        take = min(amount, excess)
        out[i] = (org_id, amount - take)
        excess -= take
        i -= 1
    return out


def seller_commission(price: Decimal, rate: Decimal) -> Decimal:
    return cents(cents(price) * Decimal(rate))


def compute_waterfall(*, price: Decimal, seller_commission_rate: Decimal,
                      buyer_premium_rate: Decimal, disposal_costs: Decimal,
                      claim=None, parties: list[tuple[int, Decimal, Decimal | None]] = ()
                      ) -> Waterfall:
    """Pure arithmetic of API.md "Payment of the price and settlement".

    `claim` is a lending Claim (costs, penalty_interest, interest, principal) as of the
    sale's as_of, or None for an owner's own IP (everything net goes to the seller).
    """
    price = cents(price)
    commission = seller_commission(price, seller_commission_rate)
    premium = cents(price * Decimal(buyer_premium_rate))
    net = price - commission - cents(disposal_costs)
    if net < 0:
        raise Invalid("costs_exceed_price",
                      "the commission and disposal costs exceed the price")
    if claim is None:
        applied_claim, remainder, claim_total = Claim(), net, ZERO
    else:
        applied_claim, remainder = allocate(claim, net)
        claim_total = claim.total
    applied = {h: getattr(applied_claim, h) for h in APPLIED_HEADS}
    shortfall = claim_total - applied_claim.total
    shares = split_shortfall(shortfall, list(parties)) if claim is not None else []
    lender_loss = max(shortfall - sum((a for _, a in shares), ZERO), ZERO)
    claim_heads = {h: (getattr(claim, h) if claim is not None else ZERO) for h in APPLIED_HEADS}
    return Waterfall(commission, premium, net, applied, claim_total, claim_heads, remainder,
                     shortfall, shares, lender_loss)


def _cap_left(session: Session, loan_id: int, org_id: int, cap: Decimal | None) -> Decimal | None:
    """What is left of a party's cap on a loan after its shares in earlier sales
    (defaulted sales never happened, so they do not count)."""
    if cap is None:
        return None
    used = session.scalars(
        select(SettlementRiskShare.amount)
        .join(Settlement, Settlement.id == SettlementRiskShare.settlement_id)
        .where(Settlement.loan_id == loan_id, SettlementRiskShare.org_id == org_id,
               Settlement.status != "defaulted"))
    return max(Decimal(cap) - sum(used, ZERO), ZERO)


def open_sale(session: Session, *, listing_id: int | None, sale_ref: str, loan_id: int | None,
              seller_org_id: int, pledgor_org_id: int | None, buyer_user_id: int | None,
              price: Decimal, deposit_applied: Decimal, disposal_costs: Decimal,
              as_of: dt.date, balance_due_by: dt.datetime | None,
              currency: str = "CNY", buyer_org_id: int | None = None,
              forfeits: Sequence[ForfeitedDeposit] = (),
              asset_ids: Sequence[int] = (), exchange_fees: bool = True) -> Settlement:
    """Fix a sale's figures at the close (status awaiting_payment). Idempotent on sale_ref.

    The buyer is a user (an auction's winner) or, for a backstop purchase, an
    organisation (`buyer_org_id`); with a user, its organisation is taken. `forfeits` are
    earlier winners' forfeited deposits on this listing: they are applied first (see
    forfeits.py), and this sale's figures are taken against the claim that remains.
    Without `exchange_fees` (an agreed valuation) the commission and premium rates are 0."""
    existing = session.scalar(select(Settlement).where(Settlement.sale_ref == sale_ref))
    if existing is not None:
        return existing
    price, deposit_applied, disposal_costs = (cents(price), cents(deposit_applied or 0),
                                              cents(disposal_costs or 0))
    if price <= 0:
        raise Invalid("invalid_price", "the price must be positive")
    if buyer_user_id is not None and buyer_org_id is None:
        buyer = session.get(User, buyer_user_id)
        buyer_org_id = buyer.org_id if buyer else None
    claim, parties = None, []
    if loan_id is not None:
        loan = session.get(Loan, loan_id)
        if loan is None:
            raise NotFound("loan")
        parties = [(rs.org_id, Decimal(rs.share), _cap_left(session, loan_id, rs.org_id, rs.cap))
                   for rs in sorted(loan.risk_shares, key=lambda r: (r.position, r.id))]
        if pledgor_org_id is None:
            pledgor_org_id = loan.borrower_org_id
    commission_rate = (settings_store.get(session, "seller_commission_rate")
                       if exchange_fees else ZERO)
    applications = forfeits_service.apply(
        session, forfeits, listing_id=listing_id, loan_id=loan_id,
        seller_org_id=seller_org_id, pledgor_org_id=pledgor_org_id, as_of=as_of,
        resale_price=price, resale_costs=seller_commission(price, commission_rate) + disposal_costs)
    if loan_id is not None:
        claim = compute_claim(session, loan_id, as_of)  # after the forfeits, if any
    wf = compute_waterfall(
        price=price,
        seller_commission_rate=commission_rate,
        buyer_premium_rate=(settings_store.get(session, "buyer_premium_rate")
                            if exchange_fees else ZERO),
        disposal_costs=disposal_costs, claim=claim, parties=parties)
    balance_due = price + wf.buyer_premium - deposit_applied
    if balance_due < 0:
        raise Invalid("deposit_exceeds_price", "the deposit applied exceeds what the buyer owes")
    st = Settlement(
        listing_id=listing_id, sale_ref=sale_ref, loan_id=loan_id,
        pledgor_org_id=pledgor_org_id, seller_org_id=seller_org_id,
        buyer_user_id=buyer_user_id, buyer_org_id=buyer_org_id, status="awaiting_payment",
        currency=currency,
        price=price, buyer_premium=wf.buyer_premium, seller_commission=wf.seller_commission,
        disposal_costs=disposal_costs, net_proceeds=wf.net_proceeds,
        applied_costs=wf.applied["costs"],
        applied_penalty_interest=wf.applied["penalty_interest"],
        applied_interest=wf.applied["interest"], applied_principal=wf.applied["principal"],
        surplus_to_pledgor=wf.surplus_to_pledgor, claim_total=wf.claim_total,
        claim_costs=wf.claim["costs"], claim_penalty_interest=wf.claim["penalty_interest"],
        claim_interest=wf.claim["interest"], claim_principal=wf.claim["principal"],
        shortfall=wf.shortfall, lender_loss=wf.lender_loss, deposit_applied=deposit_applied,
        as_of=as_of, balance_due=balance_due, balance_due_by=balance_due_by,
        created_at=utcnow())
    st.risk_shares = [SettlementRiskShare(org_id=org_id, amount=amount, position=i)
                      for i, (org_id, amount) in enumerate(wf.risk_shares)]
    st.forfeits = applications
    session.add(st)
    session.flush()
    audit.record(session, "settlement.open", "settlement", st.id,
                 after={**as_dict(st), "asset_ids": list(asset_ids)} if asset_ids else as_dict(st))
    return st


def applied_total(st: Settlement) -> Decimal:
    return (st.applied_costs + st.applied_penalty_interest + st.applied_interest
            + st.applied_principal)


def by_set_off(st: Settlement) -> bool:
    """An agreed valuation (协议折价): the bank takes the IP against its own claim, so no
    cash comes to the exchange and no fee is charged."""
    return st.sale_ref.startswith(SET_OFF_PREFIX)


def expected_lines(st: Settlement, buyer_org_id: int | None) -> dict[str, list[tuple]]:
    """The journal lines a settled sale must have, per idempotency key (also what
    `flask ledger verify` compares the journal against)."""
    proceeds_account = "bank_recovery" if st.loan_id is not None else "seller_proceeds"
    gross = st.price + st.buyer_premium
    balance_paid = gross - st.deposit_applied
    paid = (("set_off", st.seller_org_id, balance_paid, ZERO, "taken against the claim")
            if by_set_off(st) else ("cash", None, balance_paid, ZERO, "balance paid by the buyer"))
    funds = [paid,
             ("deposits_held", buyer_org_id, st.deposit_applied, ZERO, "deposit applied to price"),
             ("buyer_funds", buyer_org_id, ZERO, gross, "price + buyer premium")]
    distribute = [
        ("buyer_funds", buyer_org_id, gross, ZERO, "distributed"),
        ("platform_commission", None, ZERO, st.seller_commission, "seller commission"),
        ("platform_commission", None, ZERO, st.buyer_premium, "buyer premium"),
        ("disposal_costs_payable", None, ZERO, st.disposal_costs, "disposal costs"),
        (proceeds_account, st.seller_org_id, ZERO,
         applied_total(st) if st.loan_id is not None else st.net_proceeds,
         "applied to the claim" if st.loan_id else "net proceeds"),
        ("pledgor_surplus", st.pledgor_org_id, ZERO,
         st.surplus_to_pledgor if st.loan_id else ZERO, "surplus to the pledgor"),
    ]
    shortfall = [("risk_share_receivable", rs.org_id, rs.amount, ZERO, "risk share")
                 for rs in st.risk_shares]
    shortfall += [("lender_loss", st.seller_org_id, st.lender_loss, ZERO, "carried by the bank"),
                  ("claim_shortfall", st.seller_org_id, ZERO, st.shortfall, "claim not covered")]
    return {f"settlement:{st.id}:funds": funds,
            f"settlement:{st.id}:distribute": distribute,
            f"settlement:{st.id}:shortfall": shortfall}


def _buyer_org(session: Session, st: Settlement) -> int | None:
    if st.buyer_org_id is not None:
        return st.buyer_org_id
    if st.buyer_user_id is None:
        return None

    user = session.get(User, st.buyer_user_id)
    return user.org_id if user else None


def _claim(session: Session, settlement_id: int, to: str, **kw) -> tuple[Settlement, bool]:
    """Move a sale out of awaiting_payment once (lifecycle.try_move: a conditional UPDATE
    whose rowcount says whether this transaction won; any number of workers and
    schedulers may race). Not won: the sale had already left awaiting_payment."""
    st = session.get(Settlement, settlement_id)
    if st is None:
        raise NotFound("settlement")
    if st.status != "awaiting_payment":
        return st, False
    return st, lifecycle.try_move(session, st, to, **kw)


def settle(session: Session, settlement_id: int, *, paid_at: dt.datetime,
           actor_id: int | None = None) -> bool:
    """Apply a paid sale exactly once. True when this call settled it; False when it
    was already settled (a retry) — then nothing is written.

    The conditional UPDATE is the claim (its rowcount says who won); everything else
    happens in the caller's same transaction, so a crash leaves nothing half-done.
    """
    st, won = _claim(session, settlement_id, "settled", actor_id=actor_id,
                     settled_at=paid_at, before={"status": "awaiting_payment"},
                     after=as_dict)
    if not won:
        if st.status == "settled":
            return False
        raise Conflict("settlement_not_awaiting_payment",
                       f"the sale is {st.status}, it cannot be settled")
    buyer_org = _buyer_org(session, st)
    for key, lines in expected_lines(st, buyer_org).items():
        ledger.post_if_any(session, "settlement." + key.rsplit(":", 1)[1], "settlement", st.id,
                           key, lines, memo=f"sale {st.sale_ref}")
    if st.loan_id is not None:
        total = applied_total(st)
        if total > 0:
            lending.apply_recovery(session, st.loan_id, total, st.as_of, st.id,
                                   actor_id=actor_id)
        lending.enforce_pledge(session, st.loan_id, st.as_of, actor_id=actor_id)
        lending.mark_settled(session, st.loan_id, st.as_of, actor_id=actor_id)
    hooks.fire("settlement.settled", session, st)
    return True


def mark_defaulted(session: Session, settlement_id: int, *, at: dt.datetime | None = None,
                   actor_id: int | None = None) -> bool:
    """The buyer missed the balance deadline (悔拍). True when this call marked it."""
    at = at or utcnow()
    st, won = _claim(session, settlement_id, "defaulted", actor_id=actor_id, defaulted_at=at)
    if not won:
        return False

    for p in session.scalars(select(Payment).where(Payment.settlement_id == st.id,
                                                   Payment.status == "pending")):
        lifecycle.try_move(session, p, "cancelled", actor_id=actor_id, reason="sale defaulted")
    hooks.fire("settlement.defaulted", session, st)
    return True


def for_listing(session: Session, listing_id: int) -> Settlement | None:
    """The listing's current sale (the latest; an earlier one may have defaulted)."""
    return session.scalar(select(Settlement).where(Settlement.listing_id == listing_id)
                          .order_by(Settlement.id.desc()).limit(1))


def is_buyer(user, st: Settlement) -> bool:
    if st.buyer_user_id is not None:
        return user.id == st.buyer_user_id
    return st.buyer_org_id is not None and user.org_id == st.buyer_org_id


def can_view(user, st: Settlement) -> bool:
    return user is not None and (user.role == "operator"
                                 or user.org_id in (st.seller_org_id, st.pledgor_org_id))


def as_dict(st: Settlement) -> dict:
    """The figures of API.md (Decimal amounts; the API schema formats them)."""
    return {
        "id": st.id, "listing_id": st.listing_id, "sale_ref": st.sale_ref,
        "loan_id": st.loan_id, "status": st.status, "currency": st.currency,
        "price": st.price, "buyer_premium": st.buyer_premium,
        "seller_commission": st.seller_commission, "disposal_costs": st.disposal_costs,
        "net_proceeds": st.net_proceeds,
        "applied": {"costs": st.applied_costs, "penalty_interest": st.applied_penalty_interest,
                    "interest": st.applied_interest, "principal": st.applied_principal},
        "claim_total": st.claim_total,
        "surplus_to_pledgor": st.surplus_to_pledgor, "shortfall": st.shortfall,
        "risk_shares": [{"org_id": rs.org_id, "amount": rs.amount} for rs in st.risk_shares],
        "lender_loss": st.lender_loss, "deposit_applied": st.deposit_applied,
        "forfeited_deposits": forfeits_service.totals(st.forfeits),
        "as_of": st.as_of, "balance_due": st.balance_due, "balance_due_by": st.balance_due_by,
        "settled_at": st.settled_at,
    }


def count_by_status(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Settlement.status, func.count())
                                .group_by(Settlement.status)).all())
