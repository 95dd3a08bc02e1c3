"""The listing page of a listed transfer (UI.md): terms, the period's end in market time,
the registrant's own status, the seller's registrant count and relist form, the outcome
and the buyer's next step; Chinese by default, English on request."""
from __future__ import annotations

from tests.contract_helpers import API, expect, instant, sleep_until
from tests.test_transfer import app_config, published, register, world  # noqa: F401 (fixtures)


def page(app, actors, api_client, lid, lang="zh"):
    client = app.test_client()
    actors.login(client, api_client.user)
    resp = client.get(f"/listings/{lid}", headers={"Accept-Language": lang})
    assert resp.status_code == 200
    return client, resp.get_data(as_text=True)


def test_registration_on_the_page_and_what_each_side_sees(app, actors, world):
    lst = published(world)
    lid = lst["id"]
    client, html = page(app, actors, world.investor, lid)
    assert "挂牌价" in html and "¥800,000.00" in html and "10 个工作日" in html
    assert 'data-test="disclosure-ends"' in html and 'data-test="registrants"' not in html
    resp = client.post(f"/listings/{lid}/transfer/register", follow_redirects=True,
                       headers={"Accept-Language": "zh"})
    html = resp.get_data(as_text=True)
    assert "已报名。请以银行转账支付保证金 80000.00" in html
    assert "保证金待支付" in html and 'data-test="transfer-register"' not in html
    # The seller sees how many registered; in English on request.
    _c, bank_html = page(app, actors, world.bank, lid, lang="en")
    assert "Registered buyers: 1" in bank_html and "List price" in bank_html
    assert "10 working days" in bank_html


def test_after_the_period_the_buyer_pays_and_the_seller_relists(app, actors, world):
    lst = published(world)
    lid = lst["id"]
    register(world, world.investor, lid)
    sleep_until(instant(lst["transfer"]["disclosure_ends_at"]))
    world.run_once()
    client, html = page(app, actors, world.investor, lid)
    assert "仅一家报名：按挂牌价协议转让。" in html and 'data-test="transfer-pay"' in html
    html = client.post(f"/listings/{lid}/transfer/pay", follow_redirects=True).get_data(as_text=True)
    assert "请以银行转账支付余款 720000.00" in html
    # A period without buyers: the seller relists from the page.
    other = published(world)
    sleep_until(instant(other["transfer"]["disclosure_ends_at"]))
    world.run_once()
    bank, html = page(app, actors, world.bank, other["id"])
    assert "披露期届满，无人报名。" in html and 'data-test="relist-form"' in html
    _i, inv_html = page(app, actors, world.investor2, other["id"])
    assert 'data-test="relist-form"' not in inv_html
    html = bank.post(f"/listings/{other['id']}/transfer/relist", data={"list_price": "950000.00"},
                     follow_redirects=True).get_data(as_text=True)
    assert "已重新挂牌，开始新的信息披露期。" in html
    got = expect(world.bank.get(f"{API}/listings/{other['id']}"), 200)
    assert got["status"] == "published" and got["transfer"]["list_price"] == "950000.00"
    # Below 90%: to review.
    third = published(world)
    sleep_until(instant(third["transfer"]["disclosure_ends_at"]))
    world.run_once()
    html = bank.post(f"/listings/{third['id']}/transfer/relist", data={"list_price": "800000.00"},
                     follow_redirects=True).get_data(as_text=True)
    assert "挂牌价低于评估值的 90%：已提交交易所审核。" in html


def test_my_bids_page_lists_a_transfer_registration(app, actors, world):
    lst = published(world)
    register(world, world.investor, lst["id"], confirm=False)
    client = app.test_client()
    actors.login(client, world.investor.user)
    assert client.get("/my/bids").status_code == 200


def test_the_moderation_page_shows_the_transfer_terms_and_the_90_percent_rule(app, actors, world):
    lst = published(world)
    sleep_until(instant(lst["transfer"]["disclosure_ends_at"]))
    world.run_once()
    expect(world.bank.post(f"{API}/listings/{lst['id']}/relist",
                           json={"list_price": "800000.00"}), 200)
    client = app.test_client()
    actors.login(client, world.operator.user)
    html = client.get(f"/operator/listings/{lst['id']}").get_data(as_text=True)
    assert "挂牌价 ¥800,000.00，保证金 ¥80,000.00，信息披露期 10 个工作日。今日评估值 ¥1,000,000.00" in html


def test_the_listing_form_creates_a_transfer(app, actors, world):
    a = world.asset()
    client = app.test_client()
    actors.login(client, world.owner.user)
    resp = client.post("/listings/new", data={
        "title": "挂牌转让：减速器专利", "mode": "transfer", "asset_ids": [a["id"]],
        "ask_price": "500000.00", "transfer_deposit": "50000.00", "transfer_increment": "5000.00",
        "disclosure_days": "12", "save": "1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    lid = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    got = expect(world.owner.get(f"{API}/listings/{lid}"), 200)
    assert got["status"] == "draft"
    assert got["transfer"] == {"list_price": "500000.00", "deposit": "50000.00",
                               "increment": "5000.00", "disclosure_days": 12,
                               "auction_seconds": 86400, "disclosure_ends_at": None,
                               "outcome": None}
    edit = client.get(f"/listings/{lid}/edit").get_data(as_text=True)
    assert 'value="50000.00"' in edit and 'value="12"' in edit
