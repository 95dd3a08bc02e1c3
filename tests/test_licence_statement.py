"""A licence's statement per licence year (issue 17): the upfront fee and each royalty
report or minimum bill, paid or not, with commission, what went to the loan and to the
owner — a page, CSV and PDF for the licensor, the seller, the licensee and operators;
nobody else sees it, and a year outside the term is 404."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.contract_helpers import API, D, World, expect
from tests.test_contract_licensing import FEE
from tests.test_contract_royalties import _active, _report


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _get(app, actors, user, url):
    web = app.test_client()
    actors.login(web, user)
    return web.get(url)


def _csv_rows(resp) -> dict[str, dict]:
    text = resp.get_data(as_text=True).lstrip("\ufeff")
    return {r["line"]: r for r in csv.DictReader(io.StringIO(text))}


def test_a_licence_year_statement_lists_fee_and_royalties_with_their_split(world, app,
                                                                           actors):
    _ln, lic = _active(world, term_months=24)
    start = dt.date.fromisoformat(lic["starts_on"])
    paid = _report(world, lic, start, start + dt.timedelta(days=30))  # 6,172.84
    expect(world.operator.post(f"{API}/payments/{paid['payment']['id']}/confirm"), 200)
    pending = _report(world, lic, start + dt.timedelta(days=31), start + dt.timedelta(days=60),
                      net="1000.00")  # 50.00, not paid
    later = _report(world, lic, start + dt.timedelta(days=400),
                    start + dt.timedelta(days=410), net="2000.00")  # year 2
    url = f"/licences/{lic['id']}/statements/1"
    rows = _csv_rows(_get(app, actors, world.investor.user, url + ".csv"))
    assert set(rows) == {"upfront", f"report:{paid['id']}", f"report:{pending['id']}"}
    fee = rows["upfront"]
    assert D(fee["amount"]) == D(FEE) and fee["status"] == "paid"
    assert D(fee["commission"]) == D("1000.00")
    # The defaulted loan's claim exceeds every amount here: all of the rest goes to it.
    assert D(fee["applied_to_loan"]) == D("99000.00") and D(fee["to_owner"]) == 0
    got = rows[f"report:{paid['id']}"]
    assert D(got["amount"]) == D("6172.84") and got["status"] == "paid"
    assert D(got["commission"]) == D("61.73")  # 1% of 6,172.84, half-up
    assert D(got["applied_to_loan"]) == D("6111.11") and D(got["to_owner"]) == 0
    assert got["reference"] == paid["payment"]["reference"]
    owed = rows[f"report:{pending['id']}"]
    assert owed["status"] == "pending" and D(owed["amount"]) == D("50.00")
    assert D(owed["commission"]) == D(owed["applied_to_loan"]) == D(owed["to_owner"]) == 0
    year2 = _csv_rows(_get(app, actors, world.bank.user,
                           f"/licences/{lic['id']}/statements/2.csv"))
    assert set(year2) == {f"report:{later['id']}"}
    # Everyone entitled sees the page and the PDF; a stranger and a year past the term: 404.
    for who in (world.investor, world.bank, world.owner, world.operator):
        page = _get(app, actors, who.user, url)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'data-test="licence-statement"' in html and "6,172.84" in html
        pdf = _get(app, actors, who.user, url + ".pdf")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert _get(app, actors, world.investor2.user, url).status_code == 404
    assert _get(app, actors, world.investor2.user, url + ".csv").status_code == 404
    assert _get(app, actors, world.investor.user,
                f"/licences/{lic['id']}/statements/3").status_code == 404
    assert _get(app, actors, world.investor.user,
                f"/licences/{lic['id']}/statements/0").status_code == 404
    page = _get(app, actors, world.investor.user, f"/licences/{lic['id']}")
    assert page.get_data(as_text=True).count('data-test="statement-year"') == 2
