"""Equity contribution pages: the listing shows the minimum and an offer form to a
company; the seller compares the offers and accepts one; each offeror sees its status."""
from __future__ import annotations

import pytest

from tests.contract_helpers import API, World, expect
from tests.test_equity import company, equity_listing, fund_client

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def page(client, lid) -> str:
    resp = client.get(f"/listings/{lid}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_offer_compare_and_accept_on_the_pages(world, app, actors):
    lst, _a, _ln, _seller = equity_listing(world, min_valuation="800000.00")
    lid = lst["id"]
    anon_html = page(app.test_client(), lid)
    assert 'data-test="min-valuation"' in anon_html and "800,000.00" in anon_html
    assert 'data-test="equity-offer-form"' not in anon_html
    assert "最低作价" in anon_html  # Chinese by default
    co1, co2 = company(world), company(world, "另一家")
    web1 = actors.login(app.test_client(), co1.user)
    web2 = actors.login(app.test_client(), co2.user)
    assert 'data-test="equity-offer-form"' in page(web1, lid)
    # Below the minimum: refused, nothing written.
    resp = web1.post(f"/listings/{lid}/equity-offers",
                     data={"valuation": "700,000.00", "share_of_company": "0.2"})
    assert resp.status_code == 302
    assert expect(world.bank.get(f"{API}/listings/{lid}/equity-offers"), 200)["total"] == 0
    web1.post(f"/listings/{lid}/equity-offers",
              data={"valuation": "900,000.00", "share_of_company": "0.20"})
    web2.post(f"/listings/{lid}/equity-offers",
              data={"valuation": "850000", "share_of_company": "0.15"})
    offers = expect(world.bank.get(f"{API}/listings/{lid}/equity-offers"), 200)["items"]
    assert [o["valuation"] for o in offers] == ["900000.00", "850000.00"]
    o1, o2 = offers
    # The seller sees both side by side, each with an accept form.
    bank_web = actors.login(app.test_client(), world.bank.user)
    html = page(bank_web, lid)
    assert f'data-test="equity-offer-{o1["id"]}"' in html
    assert f'data-test="accept-offer-{o2["id"]}"' in html
    # A company sees only its own offer.
    own = page(web2, lid)
    assert f'data-test="equity-offer-{o2["id"]}"' in own
    assert f'data-test="equity-offer-{o1["id"]}"' not in own
    fund = fund_client(world)
    resp = bank_web.post(f"/equity-offers/{o1['id']}/accept",
                         data={"consideration_to": "nominee",
                               "nominee_org_id": str(fund.user["org_id"])})
    assert resp.status_code == 302
    assert expect(co1.get(f"{API}/equity-offers/{o1['id']}"), 200)["status"] == "accepted"
    assert "已接受" in page(web1, lid)
    assert expect(co2.get(f"{API}/equity-offers/{o2['id']}"), 200)["status"] == "rejected"
    # The other offeror was told.
    with app.app_context():
        from sqlalchemy import select

        from market.db import database
        from market.notifications import Notification

        with database(app).transaction() as s:
            kinds = list(s.scalars(select(Notification.kind)
                                   .where(Notification.user_id == co2.user["id"])))
    assert "equity.rejected" in kinds
    # The nominee pays like an auction's buyer.
    pay = expect(fund.post(f"{API}/listings/{lid}/payments", json={"method": "offline"}), 201)
    expect(world.operator.post(f"{API}/payments/{pay['id']}/confirm"), 200)
    assert expect(world.bank.get(f"{API}/listings/{lid}/settlement"), 200)["status"] == "settled"


def test_seller_accepts_for_the_pledgor_on_the_page(world, app, actors):
    lst, _a, ln, _seller = equity_listing(world)
    co = company(world)
    o = expect(co.post(f"{API}/listings/{lst['id']}/equity-offers",
                       json={"valuation": "900000.00", "share_of_company": "0.3"}), 201)
    bank_web = actors.login(app.test_client(), world.bank.user)
    bank_web.post(f"/equity-offers/{o['id']}/accept", data={"consideration_to": "pledgor"})
    assert expect(co.get(f"{API}/equity-offers/{o['id']}"), 200)["status"] == "pending"
    bank_web.post(f"/equity-offers/{o['id']}/accept",
                  data={"consideration_to": "pledgor", "registration_no": "GQ-2026-7"})
    loan = expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)
    assert loan["pledge"]["registration_no"] == "GQ-2026-7" and loan["status"] == "defaulted"
    assert page(bank_web, lst["id"])


def test_bank_lists_pledged_ip_for_equity_on_the_form(world, app, actors):
    """The new-listing form: for equity the asking price is the minimum valuation, and a
    bank contributing pledged IP gives the pledgor's consent."""
    a, ln = world.collateral(value="1000000.00")
    web = actors.login(app.test_client(), world.bank.user)
    form = {"loan_id": str(ln["id"]), "title": "作价入股：行星齿轮减速器专利", "mode": "equity",
            "asset_ids": [str(a["id"])], "ask_price": "750,000.00"}
    html = web.post("/listings/new", data=form).get_data(as_text=True)
    assert "民法典 444" in html  # refused: the pledgor's consent is missing
    assert expect(world.bank.get(f"{API}/listings?mine=true&mode=equity"), 200)["total"] == 0
    resp = web.post("/listings/new", data={**form, "pledgor_consent_ref": "CONSENT-9"})
    assert resp.status_code == 302
    mine = expect(world.bank.get(f"{API}/listings?mine=true&mode=equity"), 200)["items"]
    assert [(x["equity"], x["pledgor_consent_ref"]) for x in mine] == \
        [({"min_valuation": "750000.00"}, "CONSENT-9")]
