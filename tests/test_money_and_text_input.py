"""Issue 14 item 6 (API.md Conventions): money in the API is ASCII digits with at most two
decimals — Python's Decimal would take "1e3", "1_000", full-width and Arabic-Indic digits;
web forms may accept grouping commas. Free text has a length limit."""
from __future__ import annotations

import pytest

from market.inputs import TEXT_MAX
from market.money import parse_amount
from tests.contract_helpers import API, World, expect

ODD = ["1e3", "1E3", "1_000", "１２３", "١٢٣", "۱۲۳", "१२३", "+5", "0x10", "NaN", "Infinity",
       ".5", "5.", "1 000", "1.005", "-1"]


@pytest.mark.parametrize("raw", ODD)
def test_parse_amount_takes_ascii_digits_only(raw):
    with pytest.raises(ValueError):
        parse_amount(raw)


def test_parse_amount_still_takes_plain_amounts():
    assert str(parse_amount("1234.50")) == "1234.50"
    assert str(parse_amount("7")) == "7.00"
    assert str(parse_amount(12)) == "12.00"


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def test_api_refuses_odd_amounts(world):
    a = world.asset()
    val = {"valued_on": "2026-01-01", "method": "income", "agency": "x"}
    got = {raw: world.owner.post(f"{API}/assets/{a['id']}/valuations",
                                 json={**val, "amount": raw}).status_code for raw in ODD}
    assert got == {raw: 422 for raw in ODD}
    expect(world.owner.get(f"{API}/listings?min_price=1e3"), 422)
    expect(world.owner.post(f"{API}/assets/{a['id']}/valuations",
                            json={**val, "amount": "1000.50"}), 201)


def test_web_forms_accept_grouping_commas_only(world, app):
    a = world.asset()
    owner = world.actors.login(app.test_client(), world.owner.user)
    base = {"valued_on": "2026-01-01", "method": "income", "agency": "x"}
    for raw in ("１２３", "1e3", "1_000"):
        owner.post(f"/assets/{a['id']}/valuations", data={**base, "amount": raw})
    assert expect(world.owner.get(f"{API}/assets/{a['id']}"), 200)["valuations"] == []
    owner.post(f"/assets/{a['id']}/valuations", data={**base, "amount": "1,234,567.50"})
    vals = expect(world.owner.get(f"{API}/assets/{a['id']}"), 200)["valuations"]
    assert [v["amount"] for v in vals] == ["1234567.50"]


def test_free_text_has_a_length_limit(world):
    too_long = "x" * (TEXT_MAX + 1)
    data = {"kind": "invention_patent", "registry_no": "ZL-LONG-1", "title": "t",
            "owner_org_id": world.borrower_id, "expires_on": "2040-01-01"}
    expect(world.owner.post(f"{API}/assets", json={**data, "abstract": too_long}), 422)
    expect(world.owner.post(f"{API}/assets", json={**data, "abstract": "x" * 5_000_000}), 422)
    assert expect(world.owner.get(f"{API}/assets"), 200)["total"] == 0
    expect(world.owner.post(f"{API}/assets", json={**data, "abstract": "x" * TEXT_MAX}), 201)
