"""Royalty reminders (issue 17): the licensee's users are told 30 days before a royalty
report is due and when a minimum-royalty bill is raised; a royalty payment still pending
past its due date is flagged, once, to the seller's users and the operators.

A report is due at the end of each licence year (anniversaries of starts_on, the last cut
at ends_on) of a licence with a royalty rate; a royalty or minimum bill is due
`licence_payment_days` after it is raised (royalties._bill sets the payment's due_by).
Each reminder is sent once: the job locks the licence (or payment) row and looks for the
notification it would send, so any number of schedulers send it once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from market import audit
from market.accounts.models import User
from market.notifications import Notification, notify
from market.payments.models import Payment
from market.timeutil import utcnow

from . import licence_statement, licensing
from .licensing_models import Licence, RoyaltyReport

PURPOSE = "royalty"
REMIND_DAYS = 30


def report_due_dates(licence: Licence) -> list[dt.date]:
    """The ends of the licence's years: the days its royalty reports are due."""
    return [end for _start, end in licence_statement.year_bounds(licence)]


def next_report_due(licence: Licence, today: dt.date) -> dt.date | None:
    if licence.starts_on is None or licence.royalty_rate <= 0:
        return None
    return next((d for d in report_due_dates(licence) if d >= today), None)


def _users_of(session: Session, org_id: int) -> list[int]:
    return list(session.scalars(select(User.id).where(User.org_id == org_id,
                                                      User.active.is_(True))))


def _sent(session: Session, kind: str, link: str) -> bool:
    return session.scalar(select(exists().where(Notification.kind == kind,
                                                Notification.link == link)))


def remind_reports(db) -> int:
    """Scheduled: 30 days before each report is due, tell the licensee's users, once."""
    today = licensing.today()
    with db.transaction() as s:
        ids = list(s.scalars(select(Licence.id).where(Licence.status == "active",
                                                      Licence.royalty_rate > 0)))
    done = 0
    for lid in ids:
        with db.transaction() as s:
            licence = s.scalar(select(Licence).where(Licence.id == lid,
                                                     Licence.status == "active")
                               .with_for_update())
            due = licence and next_report_due(licence, today)
            if not due or (due - today).days > REMIND_DAYS:
                continue
            link = f"/licences/{lid}#due-{due.isoformat()}"
            if _sent(s, "licence.report_due", link):
                continue
            users = _users_of(s, licence.licensee_org_id)
            for uid in users:
                notify(s, uid, "licence.report_due",
                       f"许可使用费报告到期 / Royalty report due {due.isoformat()} "
                       f"(licence #{lid})",
                       f"许可 #{lid} 的年度使用费报告应于 {due.isoformat()} 前提交。\n"
                       f"Report your net sales for licence #{lid} by {due.isoformat()}.",
                       link=link)
            if users:
                audit.record(s, "licence.report_reminder", "licence", lid,
                             after={"due": due, "users": len(users)})
                done += 1
    return done


def notify_minimum_billed(session: Session, licence: Licence, rep: RoyaltyReport,
                          payment: Payment) -> None:
    """In the billing transaction: the licensee's users learn of the minimum's shortfall."""
    for uid in _users_of(session, licence.licensee_org_id):
        notify(session, uid, "licence.minimum_billed",
               f"最低许可使用费账单 / Minimum royalty billed (licence #{licence.id})",
               f"许可年度 {rep.period_start.isoformat()}–{rep.period_end.isoformat()} 的使用费"
               f"低于最低年费，差额 {rep.royalty:,.2f} {licence.currency}，参考号 "
               f"{payment.reference}。\nThe royalties of the licence year "
               f"{rep.period_start.isoformat()} to {rep.period_end.isoformat()} fell short of "
               f"the minimum: {rep.royalty:,.2f} {licence.currency} is billed, reference "
               f"{payment.reference}.", link=f"/licences/{licence.id}")


def is_overdue(payment: Payment, now: dt.datetime | None = None) -> bool:
    return (payment.purpose == PURPOSE and payment.status == "pending"
            and payment.due_by is not None and payment.due_by <= (now or utcnow()))


def flag_overdue(db) -> int:
    """Scheduled: a royalty payment pending past its due date is flagged, once, to the
    listing seller's users and the operators."""
    with db.transaction() as s:
        ids = list(s.scalars(select(Payment.id).where(
            Payment.purpose == PURPOSE, Payment.status == "pending",
            Payment.due_by <= utcnow())))
    done = 0
    for pid in ids:
        with db.transaction() as s:
            p = s.scalar(select(Payment).where(Payment.id == pid).with_for_update())
            if p is None or not is_overdue(p):
                continue
            licence = s.get(Licence, s.get(RoyaltyReport, p.payable_id).licence_id)
            link = f"/licences/{licence.id}#payment-{pid}"
            if _sent(s, "licence.royalty_overdue", link):
                continue
            seller = licensing._listing(s, licence).seller_org_id
            users = set(_users_of(s, seller)) | set(s.scalars(select(User.id).where(
                User.role == "operator", User.active.is_(True))))
            for uid in sorted(users):
                notify(s, uid, "licence.royalty_overdue",
                       f"许可使用费逾期 / Royalty overdue (licence #{licence.id})",
                       f"付款 {p.reference}（{p.amount:,.2f} {p.currency}）已于 "
                       f"{p.due_by:%Y-%m-%d} 到期未付。\nPayment {p.reference} of "
                       f"{p.amount:,.2f} {p.currency} was due on {p.due_by:%Y-%m-%d} and "
                       f"is unpaid.", link=link)
            audit.record(s, "licence.royalty_overdue", "payment", pid,
                         after={"licence_id": licence.id, "due_by": p.due_by})
            done += 1
    return done

