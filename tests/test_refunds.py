"""The refund queue (DOMAIN.md "Auction rules": losers' deposits are released at the close,
returned within 24 h — 法释〔2016〕18号): a released offline deposit becomes a refund to the
payer organisation's receiving account; an operator executes it and marks it sent with the
bank reference; one still owed past deposit_release_hours is flagged overdue on the desk."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select, update

from market.db import database
from market.payments import refunds
from market.payments.models import Refund
from tests.auction_helpers import bid, make_auction, move_times, qualify, run_scheduler
from tests.contract_helpers import API, expect


def _closed_with_a_loser(app, db, actors):
    op, seller = actors.api("operator"), actors.api("bank")
    winner, loser = actors.api("investor"), actors.api("investor")
    lid, aid = make_auction(db, seller.user)
    qualify(winner, op, aid)
    loser_dep = qualify(loser, op, aid)
    assert bid(winner, aid, "100000.00").status_code == 201
    move_times(app, aid, ends_in=-1)
    run_scheduler(app)
    return op, loser, loser_dep


def test_a_released_offline_deposit_is_queued_and_marked_sent(app, db, actors):
    op, loser, dep_id = _closed_with_a_loser(app, db, actors)
    expect(loser.client.put(f"{API}/orgs/{loser.user['org_id']}/bank-account",
                            json={"bank_name": "招商银行深圳分行", "account_name": "前海投资",
                                  "account_no": "755912345610001"},
                            headers=loser.headers), 200)
    page = expect(op.get(f"{API}/refunds"), 200)
    assert page["total"] == 1
    r = page["items"][0]
    assert r["source"] == f"deposit:{dep_id}" and r["amount"] == "10000.00"
    assert r["payer_org_id"] == loser.user["org_id"] and r["overdue"] is False
    assert r["account"]["account_no"] == "755912345610001"
    expect(loser.get(f"{API}/refunds"), 403)
    expect(op.post(f"{API}/refunds/{r['id']}/sent", json={}), 422)
    sent = expect(op.post(f"{API}/refunds/{r['id']}/sent", json={"bank_reference": "CMB2026120100042"}), 200)
    assert sent["status"] == "sent" and sent["bank_reference"] == "CMB2026120100042"
    assert sent["sent_at"] is not None
    expect(op.post(f"{API}/refunds/{r['id']}/sent", json={"bank_reference": "again"}), 409,
           "refund_not_requested")
    assert expect(op.get(f"{API}/refunds"), 200)["total"] == 0
    # Asking again for the same money returns the first request.
    db.rollback()
    with app.app_context(), database(app).transaction() as s:
        again = refunds.request_refund(s, loser.user["org_id"], Decimal(sent["amount"]), "x",
                                       f"deposit:{dep_id}")
        assert again.id == r["id"]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Refund)) == 1


def test_an_overdue_refund_is_flagged_on_the_desk(app, db, actors, client):
    op, loser, dep_id = _closed_with_a_loser(app, db, actors)
    with app.app_context(), database(app).transaction() as s:
        s.execute(update(Refund).values(due_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)))
    assert expect(op.get(f"{API}/refunds"), 200)["items"][0]["overdue"] is True
    actors.login(client, actors.user("operator"))
    html = client.get("/admin/payments").get_data(as_text=True)
    table = html.split('data-test="refunds"')[1].split("</table>")[0]
    assert 'data-test="overdue"' in table and 'data-refund="' in table
