"""`flask ledger verify`: every journal entry balances, and every settled sale's
figures match its entries. Exit status 1 on any mismatch."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from .. import hooks
from ..db import database
from ..money import ZERO
from . import forfeits, services
from .models import ForfeitApplication, JournalEntry, Settlement
from .services import _buyer_org

ledger_cli = click.Group("ledger", help="The double-entry journal.")


def verify(session) -> list[str]:
    problems: list[str] = []
    for entry in session.scalars(select(JournalEntry).order_by(JournalEntry.id)):
        d = sum((ln.debit for ln in entry.lines), ZERO)
        c = sum((ln.credit for ln in entry.lines), ZERO)
        if not entry.lines:
            problems.append(f"entry {entry.id} ({entry.idempotency_key}) has no lines")
        if d != c:
            problems.append(f"entry {entry.id} ({entry.idempotency_key}): debit {d} ≠ credit {c}")
    for st in session.scalars(select(Settlement).order_by(Settlement.id)):
        # The figures themselves must obey API.md's identities.
        applied = services.applied_total(st)
        if st.net_proceeds != st.price - st.seller_commission - st.disposal_costs:
            problems.append(f"settlement {st.id}: net_proceeds ≠ price − commission − costs")
        if st.net_proceeds != applied + st.surplus_to_pledgor:
            problems.append(f"settlement {st.id}: net_proceeds ≠ Σ applied + surplus")
        shares = sum((rs.amount for rs in st.risk_shares), ZERO)
        if st.shortfall != shares + st.lender_loss or st.lender_loss < 0:
            problems.append(f"settlement {st.id}: shortfall ≠ Σ risk shares + lender loss")
        if st.loan_id is not None and st.shortfall != st.claim_total - applied:
            problems.append(f"settlement {st.id}: shortfall ≠ claim − Σ applied")
        expected = services.expected_lines(st, _buyer_org(session, st))
        keys = set(expected)
        posted = {e.idempotency_key: e for e in session.scalars(
            select(JournalEntry).where(JournalEntry.idempotency_key.in_(keys)))}
        if st.status != "settled":
            if posted:
                problems.append(f"settlement {st.id} is {st.status} but has journal entries")
            continue
        for key, lines in expected.items():
            want = _totals(lines)
            entry = posted.get(key)
            have = _totals([(ln.account, ln.org_id, ln.debit, ln.credit) for ln in entry.lines]) \
                if entry else {}
            if want != have:
                problems.append(f"settlement {st.id}: entry {key} does not match its figures "
                                f"(expected {_fmt(want)}, found {_fmt(have)})")
    problems += _verify_forfeits(session)
    # Packages above this one that post entries check their own (e.g. risk-share payments).
    for found in hooks.fire("ledger.verify", session):
        problems += found
    return problems


def _verify_forfeits(session) -> list[str]:
    """Each forfeited deposit applied (悔拍) adds up and matches its journal entry."""
    problems = []
    for fa in session.scalars(select(ForfeitApplication).order_by(ForfeitApplication.id)):
        name = f"forfeited deposit {fa.deposit_id}"
        if fa.amount != fa.to_resale_costs + fa.to_price_shortfall + fa.to_debt:
            problems.append(f"{name}: amount ≠ re-sale costs + price shortfall + debt")
        if fa.amount != fa.applied_to_claim + fa.to_owner or fa.to_owner < 0:
            problems.append(f"{name}: amount ≠ applied to the claim + to the owner")
        key = forfeits.entry_key(fa)
        entry = session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == key))
        want = _totals(forfeits.expected_lines(fa))
        have = _totals([(ln.account, ln.org_id, ln.debit, ln.credit) for ln in entry.lines]) \
            if entry else {}
        if want != have:
            problems.append(f"{name}: entry {key} does not match its figures "
                            f"(expected {_fmt(want)}, found {_fmt(have)})")
    return problems


def _totals(lines) -> dict:
    out: dict = defaultdict(lambda: [ZERO, ZERO])
    for account, org_id, debit, credit, *_ in lines:
        if debit == 0 and credit == 0:
            continue
        out[(account, org_id)][0] += Decimal(debit)
        out[(account, org_id)][1] += Decimal(credit)
    return {k: tuple(v) for k, v in out.items()}


def _fmt(t: dict) -> str:
    return ", ".join(f"{a}[{o}] Dr {d} Cr {c}" for (a, o), (d, c) in sorted(
        t.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)))


@ledger_cli.command("verify")
@with_appcontext
def verify_command():
    """Prove the journal balances and matches every settled sale."""
    db = database()
    with db.transaction() as s:
        problems = verify(s)
        n_entries = s.query(JournalEntry).count()
        n_settled = s.query(Settlement).filter(Settlement.status == "settled").count()
    for p in problems:
        click.echo(f"MISMATCH: {p}", err=True)
    if problems:
        click.echo(f"ledger verify: {len(problems)} problem(s)", err=True)
        raise SystemExit(1)
    click.echo(f"ledger verify: OK ({n_entries} entries balance; {n_settled} settled sales "
               "match their entries)")
