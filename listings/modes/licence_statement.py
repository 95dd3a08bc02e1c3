"""A licence's statement for one licence year (issue 17): the upfront fee (year 1) and
each royalty report and minimum-royalty bill whose period starts in the year, paid or
not, with where each paid amount went (commission, the loan, the owner). The split of a
payment is read from its journal entries (the ones licensing.verify checks), so the
statement shows what the books hold. As a page, CSV and PDF (the settlement statement's
CJK PDF)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.errors import NotFound
from market.money import ZERO
from market.payments.models import Payment
from market.settlement.models import JournalEntry
from market.settlement.recovery import entry_key
from market.settlement.statement import cjk_pdf

from .. import rules
from . import licensing
from .licensing_models import Licence, RoyaltyReport

OWNER_ACCOUNTS = ("seller_proceeds", "pledgor_surplus")
NUMERIC = (2, 6, 7, 8)  # the PDF's money columns, right-aligned


@dataclass(frozen=True)
class Row:
    key: str                      # "upfront", "report:<id>" or "minimum:<id>"
    label: str
    period_start: dt.date | None
    period_end: dt.date | None
    amount: Decimal
    status: str                   # the payment's status; "none" when nothing was billed
    paid_on: dt.date | None
    reference: str
    commission: Decimal
    applied_to_loan: Decimal
    to_owner: Decimal


@dataclass(frozen=True)
class Statement:
    licence: Licence
    year: int
    start: dt.date
    end: dt.date                  # exclusive
    rows: list[Row]

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def total(self, field: str, paid_only: bool = False) -> Decimal:
        return sum((getattr(r, field) for r in self.rows
                    if not paid_only or r.status == "paid"), ZERO)


def year_bounds(licence: Licence) -> list[tuple[dt.date, dt.date]]:
    """The licence years [start, end): anniversaries of starts_on, the last cut at ends_on."""
    if licence.starts_on is None:
        return []
    out, k = [], 0
    while True:
        start = licensing.add_months(licence.starts_on, 12 * k)
        if start >= licence.ends_on:
            return out
        out.append((start, min(licensing.add_months(licence.starts_on, 12 * (k + 1)),
                               licence.ends_on)))
        k += 1


def _split(session: Session, licence_id: int, p: Payment) -> tuple[Decimal, Decimal, Decimal]:
    """(commission, applied to the loan, to the owner) of a paid payment, from its entries."""
    keys = [licensing.fee_entry_key(p.id),
            entry_key(licensing.recovery_source(licence_id, p.id))]
    lines = [ln for e in session.scalars(select(JournalEntry)
                                         .where(JournalEntry.idempotency_key.in_(keys)))
             for ln in e.lines]

    def credit(*accounts: str) -> Decimal:
        return sum((ln.credit for ln in lines if ln.account in accounts), ZERO)

    return credit("platform_commission"), credit("bank_recovery"), credit(*OWNER_ACCOUNTS)


def _row(session: Session, licence: Licence, key: str, label: str, start, end,
         amount: Decimal, p: Payment | None) -> Row:
    split = (_split(session, licence.id, p) if p is not None and p.status == "paid"
             else (ZERO, ZERO, ZERO))
    return Row(key, label, start, end, amount, "none" if p is None else p.status,
               rules.market_date(p.paid_at) if p is not None and p.paid_at else None,
               "" if p is None else p.reference, *split)


def build(session: Session, licence: Licence, year: int) -> Statement:
    years = year_bounds(licence)
    if not 1 <= year <= len(years):
        raise NotFound("licence year")
    start, end = years[year - 1]
    rows: list[Row] = []
    if year == 1:
        for p in session.scalars(select(Payment).where(
                Payment.purpose == licensing.PURPOSE, Payment.payable_id == licence.id,
                Payment.status == "paid").order_by(Payment.id)):
            rows.append(_row(session, licence, "upfront", _("Upfront fee"), None, None,
                             p.amount, p))
    for rep in session.scalars(select(RoyaltyReport).where(
            RoyaltyReport.licence_id == licence.id, RoyaltyReport.period_start >= start,
            RoyaltyReport.period_start < end).order_by(RoyaltyReport.period_start,
                                                       RoyaltyReport.id)):
        p = session.get(Payment, rep.payment_id) if rep.payment_id else None
        label = _("Minimum annual royalty") if rep.kind == "minimum" else _("Royalty report")
        rows.append(_row(session, licence, f"{rep.kind}:{rep.id}", label, rep.period_start,
                         rep.period_end, rep.royalty, p))
    return Statement(licence, year, start, end, rows)


def _day(d: dt.date | None) -> str:
    return "" if d is None else d.isoformat()


def _money(v: Decimal) -> str:
    return f"{v:.2f}"


def to_csv(st: Statement) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["licence_id", "year", "year_start", "year_end", "line", "label",
                "period_start", "period_end", "amount", "currency", "status", "paid_on",
                "reference", "commission", "applied_to_loan", "to_owner"])
    lic = st.licence
    for r in st.rows:
        w.writerow([lic.id, st.year, _day(st.start), _day(st.last_day),
                    r.key, r.label, _day(r.period_start), _day(r.period_end),
                    _money(r.amount), lic.currency, r.status, _day(r.paid_on), r.reference,
                    _money(r.commission), _money(r.applied_to_loan), _money(r.to_owner)])
    return buf.getvalue()


def to_pdf(st: Statement, title: str) -> bytes:
    pdf = cjk_pdf(title, orientation="L")
    pdf.cell(0, 6, text=f"{_('Licence')} #{st.licence.id} · {_('Year')} {st.year}: "
                        f"{_day(st.start)} – {_day(st.last_day)} · "
                        f"{st.licence.currency}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    widths = (45, 45, 28, 20, 24, 28, 28, 28, 28)
    head = (_("Line"), _("Period"), _("Amount"), _("Status"), _("Paid on"), _("Reference"),
            _("Commission"), _("Applied to the loan"), _("Paid to the owner"))
    for w, h in zip(widths, head):
        pdf.cell(w, 7, text=h)
    pdf.ln(7)
    for r in st.rows:
        period = f"{_day(r.period_start)} – {_day(r.period_end)}" if r.period_start else ""
        cells = (r.label, period, f"{r.amount:,.2f}", r.status, _day(r.paid_on),
                 r.reference, f"{r.commission:,.2f}", f"{r.applied_to_loan:,.2f}",
                 f"{r.to_owner:,.2f}")
        for i, (w, c) in enumerate(zip(widths, cells)):
            pdf.cell(w, 7, text=c, align="R" if i in NUMERIC else "L")
        pdf.ln(7)
    pdf.set_font("cjk", size=10)
    totals = (_("Total"), "", f"{st.total('amount'):,.2f}", "", "", "",
              f"{st.total('commission'):,.2f}", f"{st.total('applied_to_loan'):,.2f}",
              f"{st.total('to_owner'):,.2f}")
    for i, (w, c) in enumerate(zip(widths, totals)):
        pdf.cell(w, 7, text=c, align="R" if i in NUMERIC else "L")
    return bytes(pdf.output())
