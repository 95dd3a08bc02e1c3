"""The operator's working-day calendar page: the library's holidays and make-up days, and
records that win over them (they change the API's answers)."""
from __future__ import annotations

from tests.contract_helpers import API, World, expect


def test_an_operator_records_and_removes_a_day_on_the_page(app, actors):
    world = World(app, actors)
    client = app.test_client()
    actors.login(client, world.operator.user)
    html = client.get("/admin/calendar").get_data(as_text=True)
    assert "调休上班日" in html and "春节" in html
    resp = client.post("/admin/calendar", data={"day": "2027-03-05", "working": "0",
                                                 "note": "国务院办公厅通知"})
    assert resp.status_code == 302
    html = client.get("/admin/calendar").get_data(as_text=True)
    assert "2027-03-05" in html and "国务院办公厅通知" in html
    got = expect(world.anon.get(f"{API}/calendar/working-day?after=2027-03-04&n=1"), 200)
    assert got["date"] == "2027-03-08"
    assert client.post("/admin/calendar/2027-03-05/delete").status_code == 302
    got = expect(world.anon.get(f"{API}/calendar/working-day?after=2027-03-04&n=1"), 200)
    assert got["date"] == "2027-03-05"
    other = app.test_client()
    actors.login(other, world.bank.user)
    assert other.get("/admin/calendar").status_code == 403
