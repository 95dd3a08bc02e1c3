"""The exchange's double-entry, append-only journal.

Every movement of money is one `JournalEntry` whose `JournalLine`s balance
(Σ debit = Σ credit). Entries are never updated or deleted (the migration adds a
trigger that refuses it); a correction is a new entry. Each entry carries an
idempotency key, so a retried operation finds its entry already posted and the
movement happens exactly once.

Chart of accounts (the exchange's books; `org_id` on a line names the
organisation whose sub-account it is):

  Assets (normal debit)
    cash                    money at the exchange's bank account or at Stripe
                            (a card authorisation held for a deposit counts here too)
    risk_share_receivable   a risk-sharing party's share of a shortfall (org = the party)
  Liabilities (normal credit)
    deposits_held           bidders' deposits in our hands (org = bidder's org)
    buyer_funds             a buyer's money for one sale, before it is distributed
    bank_recovery           proceeds owed to the pledgee bank for its claim (org = bank)
    seller_proceeds         proceeds owed to an owner selling its own IP (org = seller)
    pledgor_surplus         what is left after the claim, owed to the pledgor (org = pledgor)
    disposal_costs_payable  disposal costs to be paid out of the price
    forfeited_deposits      deposits of defaulting winners (法释〔2016〕18号: applied to
                            the re-sale's costs, then shortfall, then the debt)
  Income
    platform_commission     seller commission and buyer premium (拍卖法 56)
  Memorandum (a shortfall is not cash; these record who carries it, balanced
  against the unrecovered claim)
    claim_shortfall         the part of the bank's claim the sale did not cover (org = bank)
    lender_loss             the part of the shortfall the bank carries itself (org = bank)
    set_off                 a price no one pays in cash: the bank took the IP against its
                            own claim (an agreed valuation, 协议折价; org = the bank). It
                            stands where cash stands in that sale's funds entry.

Entries a settlement posts (ref_type "settlement"):
  settlement:<id>:funds      Dr cash (balance paid; set_off for an agreed valuation)
                             Dr deposits_held (deposit applied)
                             Cr buyer_funds (price + buyer premium)
  settlement:<id>:distribute Dr buyer_funds          Cr platform_commission, disposal_costs_payable,
                                                     bank_recovery | seller_proceeds, pledgor_surplus
  settlement:<id>:shortfall  Dr risk_share_receivable (each party), lender_loss
                             Cr claim_shortfall
Deposits (ref_type "deposit", posted by the auctions package through the functions below):
  deposit:<id>:held       Dr cash / Cr deposits_held
  deposit:<id>:released   Dr deposits_held / Cr cash
  deposit:<id>:forfeited  Dr deposits_held / Cr forfeited_deposits
(a winner's deposit applied to the price is part of settlement:<id>:funds).
A forfeited deposit applied when the re-sale closes (forfeits.py; ref_type "deposit"):
  forfeit:<id>:applied    Dr forfeited_deposits / Cr bank_recovery (applied to the claim),
                          pledgor_surplus (the rest) | seller_proceeds (no loan)
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Sequence

from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..money import ZERO, cents
from ..timeutil import utcnow
from .models import JournalEntry, JournalLine

ACCOUNTS = {
    "cash": "asset",
    "risk_share_receivable": "asset",
    "deposits_held": "liability",
    "buyer_funds": "liability",
    "bank_recovery": "liability",
    "seller_proceeds": "liability",
    "pledgor_surplus": "liability",
    "disposal_costs_payable": "liability",
    "forfeited_deposits": "liability",
    "platform_commission": "income",
    "claim_shortfall": "memo",
    "lender_loss": "memo",
    "set_off": "memo",
}


class UnbalancedEntry(ValueError):
    """An entry whose debits and credits differ: refused, nothing written."""


@dataclass(frozen=True)
class Line:
    account: str
    org_id: int | None
    debit: Decimal
    credit: Decimal
    memo: str = ""


def _normalise(lines: Iterable[Sequence]) -> list[Line]:
    out: list[Line] = []
    for raw in lines:
        line = raw if isinstance(raw, Line) else Line(*raw)
        if line.account not in ACCOUNTS:
            raise ValueError(f"unknown account {line.account!r}")
        debit, credit = Decimal(line.debit or 0), Decimal(line.credit or 0)
        if debit < 0 or credit < 0:
            raise ValueError("debit and credit must not be negative")
        if cents(debit) != debit or cents(credit) != credit:
            raise ValueError("amounts must be whole cents")
        if debit == 0 and credit == 0:
            continue  # a zero line says nothing; figures that are zero post no line
        out.append(Line(line.account, line.org_id, cents(debit), cents(credit), line.memo or ""))
    return out


def find(session: Session, idempotency_key: str) -> JournalEntry | None:
    return session.scalar(select(JournalEntry).where(
        JournalEntry.idempotency_key == idempotency_key))


def post(session: Session, kind: str, ref_type: str, ref_id: int, idempotency_key: str,
         lines: Iterable[Sequence], memo: str = "") -> JournalEntry:
    """Post one balanced entry, exactly once per idempotency key.

    `lines` are (account, org_id|None, debit, credit, memo) tuples (or `Line`s); zero
    lines are dropped. An unbalanced or empty entry raises `UnbalancedEntry`. When the
    key was posted before (a retry), the existing entry is returned and nothing is added.
    """
    existing = find(session, idempotency_key)
    if existing is not None:
        return existing
    norm = _normalise(lines)
    if not norm:
        raise UnbalancedEntry(f"{idempotency_key}: an entry needs at least one non-zero line")
    debits = sum((ln.debit for ln in norm), ZERO)
    credits = sum((ln.credit for ln in norm), ZERO)
    if debits != credits:
        raise UnbalancedEntry(f"{idempotency_key}: debits {debits} ≠ credits {credits}")
    entry = JournalEntry(at=utcnow(), kind=kind, ref_type=ref_type, ref_id=ref_id,
                         memo=memo, idempotency_key=idempotency_key)
    entry.lines = [JournalLine(account=ln.account, org_id=ln.org_id, debit=ln.debit,
                               credit=ln.credit, memo=ln.memo) for ln in norm]
    # A concurrent transaction may post the same key between our read and our insert:
    # the unique key refuses the second insert, and the savepoint lets us return the
    # winner's entry instead of failing the whole transaction.
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        winner = find(session, idempotency_key)
        if winner is None:
            raise
        return winner
    return entry


def post_if_any(session: Session, kind: str, ref_type: str, ref_id: int, idempotency_key: str,
                lines: Iterable[Sequence], memo: str = "") -> JournalEntry | None:
    """Like post, but an entry whose lines are all zero is simply not posted."""
    lines = list(lines)
    if not _normalise(lines):
        return None
    return post(session, kind, ref_type, ref_id, idempotency_key, lines, memo)


def entries_for(session: Session, ref_type: str, ref_id: int) -> list[JournalEntry]:
    return list(session.scalars(select(JournalEntry).where(
        JournalEntry.ref_type == ref_type, JournalEntry.ref_id == ref_id)
        .order_by(JournalEntry.id)))


def balance(session: Session, account: str, org_id: int | None = None) -> Decimal:
    """Debits minus credits on an account (optionally one organisation's sub-account)."""
    # Money is stored as integer fen: sum the raw integers, convert once.
    stmt = select(func.coalesce(func.sum(type_coerce(JournalLine.debit, BigInteger)), 0),
                  func.coalesce(func.sum(type_coerce(JournalLine.credit, BigInteger)), 0)).where(
        JournalLine.account == account)
    if org_id is not None:
        stmt = stmt.where(JournalLine.org_id == org_id)
    d, c = session.execute(stmt).one()
    return (Decimal(int(d)) - Decimal(int(c))) / 100


# --- deposits (called by the auctions package) -------------------------------------

def record_deposit_held(session: Session, deposit_id: int, amount: Decimal,
                        org_id: int | None) -> JournalEntry:
    return post(session, "deposit.held", "deposit", deposit_id, f"deposit:{deposit_id}:held",
                [("cash", None, amount, ZERO, "deposit received"),
                 ("deposits_held", org_id, ZERO, amount, "deposit held")])


def record_deposit_released(session: Session, deposit_id: int, amount: Decimal,
                            org_id: int | None) -> JournalEntry:
    return post(session, "deposit.released", "deposit", deposit_id,
                f"deposit:{deposit_id}:released",
                [("deposits_held", org_id, amount, ZERO, "deposit released"),
                 ("cash", None, ZERO, amount, "deposit returned")])


def record_deposit_forfeited(session: Session, deposit_id: int, amount: Decimal,
                             org_id: int | None) -> JournalEntry:
    return post(session, "deposit.forfeited", "deposit", deposit_id,
                f"deposit:{deposit_id}:forfeited",
                [("deposits_held", org_id, amount, ZERO, "deposit forfeited (悔拍)"),
                 ("forfeited_deposits", org_id, ZERO, amount, "forfeited deposit")])
