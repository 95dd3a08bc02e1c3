"""The working-day calendar (API.md "Listed transfer"): China's public holidays and make-up
working weekends (调休) from the `holidays` package, plus operators' records, which win."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.contract_helpers import API, World, check_cases, expect


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def nth(world, after: str, n: int) -> str:
    got = expect(world.anon.get(f"{API}/calendar/working-day?after={after}&n={n}"), 200)
    assert got["after"] == after and got["n"] == n, got
    return got["date"]


@pytest.mark.parametrize("after,n,date", [
    # Spring Festival 2025: 28 Jan – 4 Feb off; Sunday 26 Jan and Saturday 8 Feb worked.
    ("2025-01-24", 1, "2025-01-26"),   # a make-up Sunday counts
    ("2025-01-26", 1, "2025-01-27"),
    ("2025-01-27", 1, "2025-02-05"),   # the whole holiday skipped
    ("2025-02-05", 3, "2025-02-08"),   # a make-up Saturday counts
    # National Day 2025: 1–8 Oct off; Sunday 28 Sep and Saturday 11 Oct worked.
    ("2025-09-26", 1, "2025-09-28"),
    ("2025-09-30", 1, "2025-10-09"),
    ("2025-10-10", 1, "2025-10-11"),
    # Spring Festival 2026: 15–23 Feb off; Saturdays 14 and 28 Feb worked.
    ("2026-02-13", 1, "2026-02-14"),
    ("2026-02-14", 1, "2026-02-24"),
    ("2026-02-27", 1, "2026-02-28"),
    # National Day 2026: 1–7 Oct off; Sunday 20 Sep and Saturday 10 Oct worked.
    ("2026-09-30", 1, "2026-10-08"),
    ("2026-10-09", 1, "2026-10-10"),
    ("2026-10-09", 10, "2026-10-22"),  # Sat 10 Oct is the first
    # An ordinary week: the weekend is not worked.
    ("2026-03-06", 1, "2026-03-09"),
])
def test_working_days_follow_china_holidays_and_make_up_days(world, after, n, date):
    assert nth(world, after, n) == date


def test_an_operator_record_wins_over_the_library_and_can_be_removed(world):
    op = world.operator
    assert nth(world, "2027-03-04", 1) == "2027-03-05"
    # The State Council's schedule says Friday 5 March is off and Saturday 6 March worked.
    got = expect(op.put(f"{API}/calendar/days/2027-03-05",
                        json={"working": False, "note": "国务院办公厅通知"}), 200)
    assert got == {"date": "2027-03-05", "working": False, "note": "国务院办公厅通知"}
    assert nth(world, "2027-03-04", 1) == "2027-03-08"
    expect(op.put(f"{API}/calendar/days/2027-03-06", json={"working": True}), 200)
    assert nth(world, "2027-03-04", 1) == "2027-03-06"
    # Recording again replaces the record.
    expect(op.put(f"{API}/calendar/days/2027-03-06", json={"working": False}), 200)
    assert nth(world, "2027-03-04", 1) == "2027-03-08"
    assert world.operator.delete(f"{API}/calendar/days/2027-03-05").status_code == 204
    assert world.operator.delete(f"{API}/calendar/days/2027-03-06").status_code == 204
    assert nth(world, "2027-03-04", 1) == "2027-03-05"


def test_calendar_refusals(world):
    body, path = {"working": True}, f"{API}/calendar/days/2027-03-05"
    expect(world.anon.put(path, json=body), 401)
    expect(world.bank.put(path, json=body), 403, "forbidden")
    expect(world.operator.put(f"{API}/calendar/days/2027-13-05", json=body), 422, "invalid_date")
    expect(world.operator.put(path, json={"working": "maybe"}), 422)
    expect(world.operator.put(path, json={}), 422)
    expect(world.operator.delete(path), 404, "not_found")
    assert nth(world, "2027-03-04", 1) == "2027-03-05"  # nothing was recorded
    check_cases([
        (world.anon, "GET", "/calendar/working-day?after=2026-01-01&n=0", None, 422),
        (world.anon, "GET", "/calendar/working-day?after=2026-01-01&n=367", None, 422),
        (world.anon, "GET", "/calendar/working-day?after=soon&n=1", None, 422),
        (world.anon, "GET", "/calendar/working-day?n=1", None, 422),
    ])
