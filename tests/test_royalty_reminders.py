"""Royalty reminders (issue 17): 30 days before a royalty report is due (each licence
year's end) the licensee's users are told, once, however often the scheduler runs; a
minimum-royalty bill tells them too; a royalty payment pending past its due date
(`licence_payment_days` after it was raised) is flagged, once, to the seller's users and
the operators, and shown on the licence page."""
from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from sqlalchemy import select

from listings.modes import royalty_reminders
from market import timeutil
from market.db import database
from market.notifications import Notification
from market.payments.models import Payment
from tests.contract_helpers import API, World, expect, market_today
from tests.test_contract_licensing import (
    apply,
    body,
    licence,
    pay_offline,
    publish,
    set_setting,
    terms,
)
from tests.test_contract_royalties import _active, _report


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _notes(db, user, kind) -> list[Notification]:
    db.rollback()
    return list(db.scalars(select(Notification).where(Notification.user_id == user["id"],
                                                      Notification.kind == kind)))


def _page(app, actors, user, url) -> str:
    web = app.test_client()
    actors.login(web, user)
    r = web.get(url)
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True)


def test_the_licensee_is_reminded_thirty_days_before_the_report_is_due_once(world, db, app,
                                                                             actors):
    _ln, lic = _active(world)
    due = dt.date.fromisoformat(lic["ends_on"])  # a 12-month term: one licence year
    # A licence without a royalty rate is never reminded.
    x = world.asset()
    flat = publish(world, world.owner, body(world, [x["id"]], licensing=terms(open=True)))
    pay_offline(world, world.investor2, apply(world, world.investor2, flat["id"])["id"])
    html = _page(app, actors, world.investor.user, f"/licences/{lic['id']}")
    assert 'data-test="next-report-due"' in html
    timeutil.advance(dt.timedelta(days=(due - market_today()).days - 31))
    world.run_once()
    assert _notes(db, world.investor.user, "licence.report_due") == []
    timeutil.advance(dt.timedelta(days=1))
    for _ in range(3):  # three scheduler runs: still one reminder
        world.run_once()
    got = _notes(db, world.investor.user, "licence.report_due")
    assert len(got) == 1 and due.isoformat() in got[0].subject
    assert "使用费" in got[0].subject and got[0].link.startswith(f"/licences/{lic['id']}")
    timeutil.advance(dt.timedelta(days=20))
    world.run_once()
    assert len(_notes(db, world.investor.user, "licence.report_due")) == 1
    assert _notes(db, world.investor2.user, "licence.report_due") == []
    assert _notes(db, world.bank.user, "licence.report_due") == []


def test_a_minimum_royalty_bill_notifies_the_licensee_once(world, db):
    _ln, lic = _active(world)
    start = dt.date.fromisoformat(lic["starts_on"])
    _report(world, lic, start, start + dt.timedelta(days=30), net="100000.00")
    assert _notes(db, world.investor.user, "licence.minimum_billed") == []
    timeutil.advance(dt.timedelta(days=370))
    for _ in range(3):
        world.run_once()
    got = _notes(db, world.investor.user, "licence.minimum_billed")
    assert len(got) == 1 and "15,000.00" in got[0].body  # 20,000 − 5,000
    assert _notes(db, world.bank.user, "licence.minimum_billed") == []


def test_an_overdue_royalty_is_flagged_to_the_seller_and_operators_once(world, db, app,
                                                                         actors):
    set_setting(app, "licence_payment_days", 5)
    _ln, lic = _active(world)
    start = dt.date.fromisoformat(lic["starts_on"])
    rep = _report(world, lic, start, start + dt.timedelta(days=30))
    db.rollback()
    p = db.get(Payment, rep["payment"]["id"])
    assert p.due_by is not None
    assert dt.timedelta(days=5) - (p.due_by - timeutil.utcnow()) < dt.timedelta(minutes=1)
    timeutil.advance(dt.timedelta(days=4))
    world.run_once()
    assert _notes(db, world.bank.user, "licence.royalty_overdue") == []
    url = f"/licences/{lic['id']}"
    assert 'data-test="royalty-overdue"' not in _page(app, actors, world.investor.user, url)
    timeutil.advance(dt.timedelta(days=2))
    for _ in range(3):
        world.run_once()
    for who in (world.bank, world.operator):
        got = _notes(db, who.user, "licence.royalty_overdue")
        assert len(got) == 1 and rep["payment"]["reference"] in got[0].body
    assert _notes(db, world.investor.user, "licence.royalty_overdue") == []
    for who in (world.investor, world.bank):
        assert 'data-test="royalty-overdue"' in _page(app, actors, who.user, url)
    expect(world.operator.post(f"{API}/payments/{rep['payment']['id']}/confirm"), 200)
    assert 'data-test="royalty-overdue"' not in _page(app, actors, world.investor.user, url)
    assert licence(world, world.investor, lic["id"])["status"] == "active"


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="needs PostgreSQL (TEST_DATABASE_URL): three schedulers at once")
def test_three_schedulers_at_once_send_each_reminder_once(world, db, app):
    _ln, lic = _active(world)
    start = dt.date.fromisoformat(lic["starts_on"])
    _report(world, lic, start, start + dt.timedelta(days=30))  # due in 10 days, unpaid
    timeutil.advance(dt.timedelta(days=340))
    barrier = threading.Barrier(3)
    errors: list = []

    def scheduler():
        try:
            with app.app_context():
                barrier.wait()
                for job in (royalty_reminders.remind_reports, royalty_reminders.flag_overdue):
                    job(database(app))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(_notes(db, world.investor.user, "licence.report_due")) == 1
    assert len(_notes(db, world.bank.user, "licence.royalty_overdue")) == 1
    assert len(_notes(db, world.operator.user, "licence.royalty_overdue")) == 1
