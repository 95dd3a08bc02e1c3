"""Licensing pages: the listing shows the terms; an investor takes an open licence and
starts paying with one button; the seller decides applications on the listing page; the
licensee sees "my licences"; the public licence register lists licences in force."""
from __future__ import annotations

import re

import pytest

from market.db import database
from market.payments.models import Payment
from tests.contract_helpers import API, D, World, expect, market_today, money
from tests.test_contract_licensing import FEE, bank_open_licence, body, publish, terms


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _page(client, url) -> str:
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True)


def test_investor_takes_an_open_licence_and_the_bank_sees_its_claim_fall(world, actors, app):
    a, ln, lst = bank_open_licence(world)
    before = money(world.claim(ln["id"], market_today())["total"])
    web = app.test_client()
    actors.login(web, world.investor.user)
    html = _page(web, f"/listings/{lst['id']}")
    assert 'data-test="licence-terms"' in html and 'data-test="open-licence"' in html
    assert "100,000.00" in html or "100000.00" in html
    r = web.post(f"/listings/{lst['id']}/licences")
    assert r.status_code == 302 and "/licences/" in r.headers["Location"]
    lid = int(re.search(r"/licences/(\d+)", r.headers["Location"]).group(1))
    html = _page(web, f"/licences/{lid}")
    ref = re.search(r'data-test="payment-reference">([A-Z0-9]+)<', html).group(1)
    pays = expect(world.operator.get(f"{API}/licences/{lid}"), 200)
    assert pays["status"] == "awaiting_payment"
    # The operator matches the transfer by its reference.
    with app.app_context(), database(app).transaction() as s:
        pid = s.query(Payment).filter_by(reference=ref).one().id
    expect(world.operator.post(f"{API}/payments/{pid}/confirm"), 200)
    html = _page(web, f"/licences/{lid}")
    assert "licence-status" in html and 'data-test="paid-total"' in html
    after = money(world.claim(ln["id"], market_today())["total"])
    assert before - after == D(FEE) * D("0.99")
    mine = _page(web, "/my/licences")
    assert f"/licences/{lid}" in mine
    reg = _page(app.test_client(), f"/register/licences?registry_no={a['registry_no']}")
    assert a["registry_no"] in reg and "前海投资" in reg
    # In force: shown on the listing's page and on the asset's page.
    assert 'data-test="licences-in-force"' in _page(app.test_client(), f"/listings/{lst['id']}")
    owner = app.test_client()
    actors.login(owner, world.owner.user)
    assert 'data-test="licences-in-force"' in _page(owner, f"/assets/{a['id']}")


def test_the_seller_decides_applications_on_the_listing_page(world, actors, app):
    x = world.asset()
    lst = publish(world, world.owner, body(world, [x["id"]], licensing=terms("exclusive")))
    one = expect(world.investor.post(f"{API}/listings/{lst['id']}/licences", json={}), 201)
    two = expect(world.investor2.post(f"{API}/listings/{lst['id']}/licences", json={}), 201)
    seller = app.test_client()
    actors.login(seller, world.owner.user)
    html = _page(seller, f"/listings/{lst['id']}")
    assert f'data-test="accept-{one["id"]}"' in html and f'data-test="reject-{two["id"]}"' in html
    assert seller.post(f"/licences/{two['id']}/reject", data={"reason": "资质不符"}).status_code == 302
    assert seller.post(f"/licences/{one['id']}/accept").status_code == 302
    assert expect(world.owner.get(f"{API}/licences/{one['id']}"), 200)["status"] == \
        "awaiting_payment"
    assert expect(world.owner.get(f"{API}/licences/{two['id']}"), 200)["status"] == "rejected"
    # The licensee pays from its licence page.
    web = app.test_client()
    actors.login(web, world.investor.user)
    assert 'data-test="pay-licence"' in _page(web, f"/licences/{one['id']}")
    assert web.post(f"/licences/{one['id']}/pay").status_code == 302
    assert 'data-test="payment-reference"' in _page(web, f"/licences/{one['id']}")
    # Others cannot see the licence page.
    other = app.test_client()
    actors.login(other, world.investor3.user)
    assert other.get(f"/licences/{one['id']}").status_code == 404


@pytest.mark.parametrize("lang,text", [("zh", "许可条件"), ("en", "Licence terms")])
def test_terms_in_chinese_and_english(world, app, lang, text):
    x = world.asset()
    lst = publish(world, world.owner, body(world, [x["id"]]))
    html = app.test_client().get(f"/listings/{lst['id']}",
                                  headers={"Accept-Language": lang}).get_data(as_text=True)
    assert text in html


def test_the_seller_creates_a_licensing_listing_with_its_terms_on_the_form(world, actors, app):
    x = world.asset()
    web = app.test_client()
    actors.login(web, world.owner.user)
    html = _page(web, "/listings/new")
    assert 'data-test="licensing-terms"' in html and 'name="lic_upfront_fee"' in html
    data = {"title": "网页许可：减速器专利", "description": "", "asset_ids": [str(x["id"])],
            "mode": "licensing", "lic_kind": "sole", "lic_field": "机器人", "lic_territory": "CN",
            "lic_term_months": "24", "lic_upfront_fee": "88,000.00", "lic_royalty_rate": "0.03",
            "lic_minimum_annual_royalty": ""}
    r = web.post("/listings/new", data={**data, "lic_open": "y"})  # open must be non-exclusive
    assert r.status_code == 200 and "non-exclusive" in r.get_data(as_text=True)
    r = web.post("/listings/new", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    lid = int(re.search(r"/listings/(\d+)", r.headers["Location"]).group(1))
    got = expect(world.owner.get(f"{API}/listings/{lid}"), 200)
    assert got["licensing"] == {"kind": "sole", "open": False, "field": "机器人",
                                "territory": "CN", "term_months": 24, "upfront_fee": "88000.00",
                                "royalty_rate": "0.03", "minimum_annual_royalty": "0.00"}
    assert 'data-test="licence-kind"' in _page(web, f"/listings/{lid}")


def test_the_licensee_reports_sales_on_the_licence_page(world, actors, app):
    x = world.asset()
    lst = publish(world, world.owner, body(world, [x["id"]], licensing=terms(
        open=True, royalty_rate="0.05")))
    lic = expect(world.investor.post(f"{API}/listings/{lst['id']}/licences", json={}), 201)
    p = expect(world.investor.post(f"{API}/licences/{lic['id']}/payments",
                                   json={"method": "offline"}), 201)
    expect(world.operator.post(f"{API}/payments/{p['id']}/confirm"), 200)
    web = app.test_client()
    actors.login(web, world.investor.user)
    assert 'data-test="royalty-form"' in _page(web, f"/licences/{lic['id']}")
    today = market_today().isoformat()
    r = web.post(f"/licences/{lic['id']}/royalty-reports",
                 data={"period_start": today, "period_end": today, "net_sales": "10,000.00"})
    assert r.status_code == 302
    html = _page(web, f"/licences/{lic['id']}")
    assert 'data-test="royalty-reports"' in html and "500.00" in html
    assert html.count('data-test="payment-reference"') == 1  # the royalty's, still pending
