"""A loan's due-diligence dossier (尽职免责, seeds 002 十, 003 十一, 004 十六): its whole
record in time order in one PDF — terms, pledge and register entries, valuations (who
added each), flags, grades, default, money events, listing transitions and moderation,
the bid log, payments, settlement, risk shares, ledger lines, and every audit record with
its time (MARKET_TIMEZONE) and actor.

Listings and auctions are higher packages: what they hold comes through the
"loan.dossier" hook (market/hooks.py), whose handlers return
{"events": [{at, section, actor_id, text}], "audit_objects": [(type, id)],
 "ledger_refs": [(ref_type, ref_id)]}; this module never names their tables.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from fpdf import FPDF
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from .. import hooks
from ..accounts.models import Org, User
from ..assets.models import Asset, Valuation
from ..audit import AuditRecord
from ..errors import NotFound
from ..lending.models import Loan, LoanFlag
from ..lending.services import get_loan
from ..notifications import Notification
from ..payments.models import Payment
from ..settlement.models import JournalEntry, Settlement
from ..settlement.statement import find_font
from .models import LoanGrade

# Bilingual labels: the dossier goes to reviewers reading either language.
SECTIONS = {
    "loan": "Loan 贷款", "pledge": "Pledge 质押", "valuation": "Valuation 评估",
    "flag": "Flag 预警", "grade": "Grade 五级分类", "default": "Default 违约",
    "loan_event": "Money event 资金事项", "listing": "Listing 挂牌", "auction": "Auction 拍卖",
    "bid": "Bid 出价", "payment": "Payment 付款", "settlement": "Settlement 结算",
    "risk_share": "Risk share 风险分担",
}
HEADINGS = {
    "title": "Due-diligence dossier 尽职免责档案",
    "terms": "Loan terms 贷款条件",
    "pledge": "Pledge and register entries 质押及登记",
    "risk_shares": "Risk shares 风险分担",
    "record": "The record in time order 按时间顺序的记录",
    "ledger": "Ledger lines 账务分录",
    "audit": "Audit records 审计记录",
}
SYSTEM = "system 系统"


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    section: str
    actor_id: int | None
    text: str


def loan_for_dossier(session: Session, loan_id: int, user: User) -> Loan:
    """The loan's bank and operators; anyone else: 404 (never revealing it exists)."""
    loan = get_loan(session, loan_id)
    if user.role == "operator" or (user.role == "bank" and user.org_id == loan.bank_org_id):
        return loan
    raise NotFound("loan")


# --- collecting -------------------------------------------------------------------------

def collect(session: Session, loan: Loan) -> dict:
    """Everything the PDF shows, in time order (also what a test can read directly)."""
    parts = [p for p in hooks.fire("loan.dossier", session, loan) if p]
    pledge = loan.pledge
    asset_ids = [i.asset_id for i in pledge.items] if pledge else []
    settlements = list(session.scalars(select(Settlement).where(Settlement.loan_id == loan.id)
                                       .order_by(Settlement.id)))
    st_ids = [st.id for st in settlements]
    payments = list(session.scalars(select(Payment).where(Payment.settlement_id.in_(st_ids))
                                    .order_by(Payment.id))) if st_ids else []
    audit_objects = [("loan", [loan.id]), ("pledge", [pledge.id] if pledge else []),
                     ("asset", asset_ids), ("settlement", st_ids),
                     ("payment", [p.id for p in payments]),
                     ("risk_share", [rs.id for rs in loan.risk_shares])]
    ledger_refs = [("settlement", st_ids), ("risk_share", [rs.id for rs in loan.risk_shares])]
    for part in parts:
        audit_objects += _grouped(part.get("audit_objects", ()))
        ledger_refs += _grouped(part.get("ledger_refs", ()))
    audits = _audit_records(session, audit_objects)

    events = _loan_events(session, loan, asset_ids, audits)
    events += _sale_events(settlements, payments, loan, audits)
    for part in parts:
        events += [Event(e["at"], e["section"], e.get("actor_id"), e["text"])
                   for e in part.get("events", ())]
    events.sort(key=lambda e: (e.at, e.section))
    entries = _ledger_entries(session, ledger_refs)
    assets = list(session.scalars(select(Asset).where(Asset.id.in_(asset_ids)))) \
        if asset_ids else []
    return {"loan": loan, "assets": assets, "events": events, "ledger": entries,
            "audit": audits}


def _grouped(pairs) -> list[tuple[str, list[int]]]:
    out: dict[str, list[int]] = {}
    for kind, obj_id in pairs:
        out.setdefault(kind, []).append(obj_id)
    return list(out.items())


def _audit_records(session: Session, objects) -> list[AuditRecord]:
    conds = [and_(AuditRecord.object_type == kind, AuditRecord.object_id.in_(ids))
             for kind, ids in objects if ids]
    return list(session.scalars(select(AuditRecord).where(or_(*conds))
                                .order_by(AuditRecord.at, AuditRecord.id)))


def _first(audits, action: str) -> AuditRecord | None:
    return next((a for a in audits if a.action == action), None)


def _loan_events(session: Session, loan: Loan, asset_ids, audits) -> list[Event]:
    out = [Event(loan.created_at, "loan", loan.created_by,
                 f"Loan #{loan.id} registered: principal {loan.principal:,.2f} {loan.currency}, "
                 f"rate {loan.annual_rate}, penalty rate {loan.penalty_rate}, "
                 f"{loan.disbursed_on} – {loan.maturity_on}"
                 + (", first loan 首贷户" if loan.first_loan else ""))]
    pledge = loan.pledge
    if pledge is not None:
        out.append(Event(loan.created_at, "pledge", loan.created_by,
                         f"Pledge {pledge.registration_no} registered on "
                         f"{pledge.registered_on}"))
        for action, what in (("pledge.enforce", "enforced"), ("pledge.release", "released")):
            rec = _first(audits, action)
            if rec is not None:
                on = pledge.enforced_on if what == "enforced" else pledge.released_on
                out.append(Event(rec.at, "pledge", rec.actor_id,
                                 f"Pledge {pledge.registration_no} {what} on {on}"))
    if asset_ids:
        for v in session.scalars(select(Valuation).where(Valuation.asset_id.in_(asset_ids))
                                 .order_by(Valuation.id)):
            out.append(Event(v.created_at, "valuation", v.created_by,
                             f"Asset #{v.asset_id} valued {v.amount:,.2f} {v.currency} "
                             f"({v.method}, {v.agency}) on {v.valued_on}, valid until "
                             f"{v.valid_until}"))
    for f in session.scalars(select(LoanFlag).where(LoanFlag.loan_id == loan.id)
                             .order_by(LoanFlag.id)):
        out.append(Event(f.raised_at, "flag", None, f"Flag raised: {f.kind} {f.detail}"))
        if f.cleared_at is not None:
            out.append(Event(f.cleared_at, "flag", None, f"Flag cleared: {f.kind}"))
    # Who was told of the flags, and when each read it (the bank's staff saw the warning).
    for n in session.scalars(select(Notification).where(
            Notification.kind == "loan.flag", Notification.link == f"/loans/{loan.id}")
            .order_by(Notification.id)):
        out.append(Event(n.created_at, "flag", n.user_id, f"Notified of the flag: {n.subject}"))
        if n.read_at is not None:
            out.append(Event(n.read_at, "flag", n.user_id, f"Read the flag notice: {n.subject}"))
    for g in session.scalars(select(LoanGrade).where(LoanGrade.loan_id == loan.id)
                             .order_by(LoanGrade.id)):
        out.append(Event(g.recorded_at, "grade", g.recorded_by,
                         f"Graded {g.grade} from {g.as_of}"))
    rec = _first(audits, "loan.default")
    if rec is not None:
        out.append(Event(rec.at, "default", rec.actor_id,
                         f"Default declared on {loan.defaulted_on}"))
    for ev in loan.events:
        out.append(Event(ev.created_at, "loan_event", ev.created_by,
                         f"{ev.kind.capitalize()} {ev.amount:,.2f} on {ev.on_date}"
                         + (f" — {ev.description}" if ev.description else "")))
    parties = dict(session.execute(select(Org.id, Org.name).where(
        Org.id.in_([rs.org_id for rs in loan.risk_shares]))).all()) if loan.risk_shares else {}
    for rs in loan.risk_shares:
        if rs.due_at is not None:
            out.append(Event(rs.due_at, "risk_share", None,
                             f"Risk share #{rs.id} ({parties.get(rs.org_id)}) due: "
                             f"{rs.amount_due:,.2f}"))
        if rs.paid_at is not None:
            out.append(Event(rs.paid_at, "risk_share", rs.paid_by,
                             f"Risk share #{rs.id} paid on {rs.paid_on}, ref {rs.reference}"))
    return out


def _sale_events(settlements, payments, loan: Loan, audits) -> list[Event]:
    out = []
    for st in settlements:
        out.append(Event(st.created_at, "settlement", None,
                         f"Sale {st.sale_ref} fixed as of {st.as_of}: price {st.price:,.2f}, "
                         f"net {st.net_proceeds:,.2f}, claim {st.claim_total:,.2f}, "
                         f"shortfall {st.shortfall:,.2f}, lender loss {st.lender_loss:,.2f}"))
        if st.settled_at is not None:
            rec = next((a for a in audits if a.action == "settlement.settled"
                        and a.object_id == st.id), None)
            out.append(Event(st.settled_at, "settlement", rec.actor_id if rec else None,
                             f"Sale {st.sale_ref} settled: {st.net_proceeds:,.2f} net, "
                             f"surplus to pledgor {st.surplus_to_pledgor:,.2f}"))
        if st.defaulted_at is not None:
            out.append(Event(st.defaulted_at, "settlement", None,
                             f"Sale {st.sale_ref}: the buyer defaulted (悔拍)"))
    for p in payments:
        out.append(Event(p.created_at, "payment", p.payer_user_id,
                         f"Payment #{p.id} of {p.amount:,.2f} ({p.method}, ref {p.reference})"))
        if p.paid_at is not None:
            out.append(Event(p.paid_at, "payment", p.confirmed_by,
                             f"Payment #{p.id} paid"))
    return out


def _ledger_entries(session: Session, refs) -> list[JournalEntry]:
    conds = [and_(JournalEntry.ref_type == kind, JournalEntry.ref_id.in_(ids))
             for kind, ids in refs if ids]
    if not conds:
        return []
    return list(session.scalars(select(JournalEntry).where(or_(*conds))
                                .order_by(JournalEntry.at, JournalEntry.id)))


# --- rendering --------------------------------------------------------------------------

def actor_names(session: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.name, User.email, Org.name)
                           .join(Org, Org.id == User.org_id).where(User.id.in_(ids)))
    return {uid: (f"{name} <{email}>" if name else email) + f" ({org})"
            for uid, name, email, org in rows}


def to_pdf(session: Session, loan: Loan) -> bytes:
    data = collect(session, loan)
    tz = ZoneInfo(current_app.config["MARKET_TIMEZONE"])
    names = actor_names(session, [e.actor_id for e in data["events"]]
                        + [a.actor_id for a in data["audit"]])
    orgs = dict(session.execute(select(Org.id, Org.name)).all())

    def when(t: dt.datetime) -> str:
        return t.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %z")

    def who(actor_id: int | None) -> str:
        return names.get(actor_id, f"user #{actor_id}") if actor_id else SYSTEM

    path, index = find_font()
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.add_font("cjk", "", path, collection_font_number=index)

    def heading(text: str) -> None:
        pdf.ln(2)
        pdf.set_font("cjk", size=12)
        pdf.cell(0, 8, text=text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)

    def line(text: str, size: int = 8) -> None:
        pdf.set_font("cjk", size=size)
        pdf.multi_cell(0, 4.5, text=text, new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("cjk", size=15)
    pdf.cell(0, 10, text=f"{HEADINGS['title']} — Loan #{loan.id}"
                         + (f" ({loan.reference})" if loan.reference else ""),
             new_x="LMARGIN", new_y="NEXT")
    line(f"Times in {tz.key} 时间按 {tz.key}")

    heading(HEADINGS["terms"])
    line(f"Bank 银行: {orgs.get(loan.bank_org_id)} · Borrower 借款人: "
         f"{orgs.get(loan.borrower_org_id)} · Status 状态: {loan.status}")
    line(f"Principal 本金 {loan.principal:,.2f} {loan.currency} · Rate 利率 {loan.annual_rate} "
         f"· Penalty 罚息 {loan.penalty_rate} · {loan.disbursed_on} – {loan.maturity_on} · "
         f"Defaulted 违约 {loan.defaulted_on or '—'} · Settled 结清 {loan.settled_on or '—'}")

    heading(HEADINGS["pledge"])
    if loan.pledge is not None:
        p = loan.pledge
        line(f"{p.registration_no} · registered 登记 {p.registered_on} · {p.status} · "
             f"released 注销 {p.released_on or '—'} · enforced 实现 {p.enforced_on or '—'}")
    for a in data["assets"]:
        line(f"  {a.kind} {a.registry_no}: {a.title} (expires 到期 {a.expires_on}, "
             f"{a.legal_status})")

    heading(HEADINGS["risk_shares"])
    for rs in loan.risk_shares:
        line(f"#{rs.id} {orgs.get(rs.org_id)}: share 比例 {rs.share}, cap 上限 "
             f"{'—' if rs.cap is None else f'{rs.cap:,.2f}'}, {rs.status}, due 应付 "
             f"{'—' if rs.amount_due is None else f'{rs.amount_due:,.2f}'}, paid 已付 "
             f"{rs.paid_on or '—'} {rs.reference or ''}")

    heading(HEADINGS["record"])
    for e in data["events"]:
        line(f"{when(e.at)} · {SECTIONS.get(e.section, e.section)} · {who(e.actor_id)}", 7)
        line("    " + e.text)

    heading(HEADINGS["ledger"])
    for entry in data["ledger"]:
        line(f"{when(entry.at)} · {entry.idempotency_key} · {entry.memo}", 7)
        for ln in entry.lines:
            org = f" [{orgs.get(ln.org_id, ln.org_id)}]" if ln.org_id else ""
            line(f"    {ln.account}{org}  Dr {ln.debit:,.2f}  Cr {ln.credit:,.2f}  {ln.memo}")

    heading(HEADINGS["audit"])
    for a in data["audit"]:
        line(f"{when(a.at)} · {a.action} · {a.object_type} #{a.object_id} · "
             f"{who(a.actor_id)}", 7)
        if a.after:
            line("    " + a.after[:600])
    return bytes(pdf.output())
