"""Issue 13, one regression test per finding: who may change collateral (API.md "Assets"),
who sees assets and the exchange's review comment, and listings re-checked on submit and
approve. Each of these passed a call that the original code should have refused."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.assets.models import Asset, AssetCoOwner, Valuation
from market.lending.models import Loan
from market.lending.monitoring import collateral_value
from market.notifications import Notification
from tests.contract_helpers import API, World, expect, market_today, unique_no


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def _count_valuations(db, asset_id: int) -> int:
    db.rollback()  # a fresh snapshot: the app wrote through its own connection
    return db.scalar(select(func.count()).select_from(Valuation)
                     .where(Valuation.asset_id == asset_id))


def test_another_bank_cannot_invalidate_a_pledged_asset(world, db):
    """Bank B's legal-status call on bank A's collateral was 200, and A's disposal was
    then refused asset_not_in_force."""
    a, ln = world.collateral(value="1000000.00")
    expect(world.bank2.post(f"{API}/assets/{a['id']}/legal-status",
                            json={"legal_status": "invalid"}), 404, "not_found")
    db.rollback()
    assert db.get(Asset, a["id"]).legal_status == "valid"
    world.listing(world.bank, world.listing_body([a["id"]], ln["id"]))  # not refused


def test_another_bank_valuation_cannot_break_the_floor(world, db):
    """Bank B's ¥900,000,000 valuation was 201 and made A's listing fail the 70% floor."""
    a, ln = world.collateral(value="1000000.00")
    before = _count_valuations(db, a["id"])
    resp = world.bank2.post(f"{API}/assets/{a['id']}/valuations", json={
        "amount": "900000000.00", "valued_on": (market_today() - dt.timedelta(days=1))
        .isoformat(), "method": "market", "agency": "某评估"})
    expect(resp, 404, "not_found")
    assert _count_valuations(db, a["id"]) == before
    world.listing(world.bank, world.listing_body([a["id"]], ln["id"]))  # 700,000 ≥ 70%


def test_the_borrower_proposes_and_the_pledgee_applies(world, db):
    """The defaulting borrower could invalidate and revalue its own pledged assets. Now its
    legal-status call is 404 and its valuation a proposal that counts for nothing — not the
    value, not LTV, not the floor — until the pledgee applies it."""
    a, ln = world.collateral(value="1000000.00")
    expect(world.owner.post(f"{API}/assets/{a['id']}/legal-status",
                            json={"legal_status": "invalid"}), 404)
    v = world.value(a["id"], "900000000.00", who=world.owner,
                    valued_on=market_today() - dt.timedelta(days=1))
    assert v["status"] == "proposed"
    got = expect(world.bank.get(f"{API}/assets/{a['id']}"), 200)
    assert got["current_value"] == "1000000.00" and got["legal_status"] == "valid"
    assert {x["id"]: x["status"] for x in got["valuations"]}[v["id"]] == "proposed"
    db.rollback()
    assert collateral_value(db, db.get(Loan, ln["id"]), market_today())[0] == Decimal("1000000.00")
    told = db.scalars(select(Notification).where(Notification.kind == "valuation.proposed"))
    assert [n.user_id for n in told] == [world.bank.user["id"]]  # the pledgee, no one else
    lst = world.listing(world.bank, world.listing_body([a["id"]], ln["id"]))  # floor unmoved

    # Only the pledgee (or an operator) applies it; the owner cannot apply its own.
    expect(world.owner.post(f"{API}/valuations/{v['id']}/apply"), 404)
    expect(world.bank2.post(f"{API}/valuations/{v['id']}/apply"), 404)
    applied = expect(world.bank.post(f"{API}/valuations/{v['id']}/apply"), 200)
    assert applied["status"] == "applied" and applied["id"] == v["id"]
    expect(world.bank.post(f"{API}/valuations/{v['id']}/apply"), 409, "invalid_transition")
    expect(world.operator.post(f"{API}/valuations/{v['id']}/apply"), 409, "invalid_transition")
    expect(world.bank.post(f"{API}/valuations/987654321/apply"), 404)
    got = expect(world.bank.get(f"{API}/assets/{a['id']}"), 200)
    assert got["current_value"] == "900000000.00"
    # now it counts: the draft's 700,000 start is below 70% of ¥900M
    expect(world.bank.post(f"{API}/listings/{lst['id']}/submit"), 422, "start_price_below_floor")


def test_only_the_co_owner_or_an_operator_records_consent(world, actors, db):
    """The owner, and any bank, could record the co-owner's consent (200), which defeated
    co_owner_consent_missing."""
    co = world.owner2
    a = expect(world.bank.post(f"{API}/assets", json={
        "kind": "invention_patent", "registry_no": unique_no(), "title": "共有专利",
        "owner_org_id": world.borrower_id, "expires_on": "2040-12-31",
        "co_owner_org_ids": [co.user["org_id"]]}), 201)
    url = f"{API}/assets/{a['id']}/co-owners/{co.user['org_id']}/consent"
    for who in (world.owner, world.bank, world.bank2):
        expect(who.post(url, json={"consent_ref": "伪造同意书"}), 404)
    db.rollback()
    assert db.scalar(select(AssetCoOwner.consent_at).where(AssetCoOwner.asset_id == a["id"])) \
        is None
    expect(world.bank.post(f"{API}/loans", json=world.loan_body([a["id"]])), 422,
           "co_owner_consent_missing")
    got = expect(co.post(url, json={"consent_ref": "共有人同意书"}), 200)
    assert got["co_owners"][0]["consent_ref"] == "共有人同意书"
    world.loan([a["id"]])


def test_the_web_forms_follow_the_same_rule(world, actors, app, db):
    """Same on the web forms: another bank's and the borrower's status forms were taken."""
    a, _ln = world.collateral(value="1000000.00")
    aid = a["id"]
    bank2 = actors.login(app.test_client(), world.bank2.user)
    owner = actors.login(app.test_client(), world.owner.user)
    bank = actors.login(app.test_client(), world.bank.user)
    status = {"legal_status": "invalid", "expires_on": "2040-12-31"}
    value = {"amount": "900,000,000.00", "valued_on": market_today().isoformat(),
             "method": "market", "agency": "某评估"}
    before = _count_valuations(db, aid)
    assert bank2.post(f"/assets/{aid}/status", data=status).status_code == 404
    assert bank2.post(f"/assets/{aid}/valuations", data=value).status_code == 404
    assert owner.post(f"/assets/{aid}/status", data=status).status_code == 404
    assert _count_valuations(db, aid) == before
    assert db.get(Asset, aid).legal_status == "valid"
    page = owner.get(f"/assets/{aid}").get_data(as_text=True)
    assert 'data-test="status-form"' not in page and 'data-test="propose-note"' in page

    assert owner.post(f"/assets/{aid}/valuations", data=value).status_code == 302
    db.rollback()
    proposal = db.scalar(select(Valuation).where(Valuation.asset_id == aid,
                                                 Valuation.status == "proposed"))
    assert proposal is not None and proposal.amount == Decimal("900000000.00")
    page = bank.get(f"/assets/{aid}").get_data(as_text=True)
    assert 'data-test="apply-valuation"' in page and 'data-test="proposed"' in page
    assert 'data-test="apply-valuation"' not in owner.get(f"/assets/{aid}").get_data(as_text=True)
    assert owner.post(f"/assets/{aid}/valuations/{proposal.id}/apply").status_code == 404
    assert bank.post(f"/assets/{aid}/valuations/{proposal.id}/apply").status_code == 302
    db.rollback()
    assert db.get(Valuation, proposal.id).status == "applied"


def test_the_api_shows_assets_as_the_pages_do(world, actors, app):
    """Any signed-in user read every asset (and its valuation history) through the API,
    while the asset page hid other organisations' assets."""
    a, ln = world.collateral(value="1000000.00")
    proposal = world.value(a["id"], "5.00", who=world.owner)
    aid = a["id"]
    for who in (world.investor, world.owner2):
        expect(who.get(f"{API}/assets/{aid}"), 404)
        assert aid not in {x["id"] for x in expect(who.get(f"{API}/assets"), 200)["items"]}
    for who in (world.owner, world.bank, world.bank2, world.operator):
        expect(who.get(f"{API}/assets/{aid}"), 200)
    investor_web = actors.login(app.test_client(), world.investor.user)
    owner2_web = actors.login(app.test_client(), world.owner2.user)
    assert investor_web.get(f"/assets/{aid}").status_code == 403
    assert owner2_web.get(f"/assets/{aid}").status_code == 404

    # A published listing shows its assets to everyone: the API does too, without the
    # owner's proposal (which counts for nothing and is between the parties).
    world.publish(world.bank, world.listing_body([aid], ln["id"]))
    got = expect(world.investor.get(f"{API}/assets/{aid}"), 200)
    assert [v["status"] for v in got["valuations"]] == ["applied"]
    assert proposal["id"] not in {v["id"] for v in got["valuations"]}
    # the asset lists stay the parties' (as the list page): the listing is how others find it
    assert expect(world.investor.get(f"{API}/assets"), 200)["items"] == []
    parties = expect(world.owner.get(f"{API}/assets/{aid}"), 200)
    assert proposal["id"] in {v["id"] for v in parties["valuations"]}


def test_review_comment_stays_between_seller_and_exchange(world):
    """The operator's review_comment was readable by anyone once the listing was approved."""
    a = world.asset()
    world.value(a["id"], "1000000.00")
    lst = world.listing(world.owner, world.listing_body([a["id"]]))
    lid = lst["id"]
    expect(world.owner.post(f"{API}/listings/{lid}/submit"), 200)
    comment = "请补充优先购买权人（内部意见）"
    expect(world.operator.post(f"{API}/listings/{lid}/request-changes",
                               json={"comment": comment}), 200)
    expect(world.owner.post(f"{API}/listings/{lid}/submit"), 200)
    expect(world.operator.post(f"{API}/listings/{lid}/approve"), 200)
    for outsider in (world.anon, world.investor, world.bank, world.bank2):
        got = expect(outsider.get(f"{API}/listings/{lid}"), 200)
        assert got["review_comment"] is None, got
    listed = expect(world.anon.get(f"{API}/listings?per_page=100"), 200)["items"]
    assert lid in {x["id"] for x in listed}
    assert all(x["review_comment"] is None for x in listed)
    for insider in (world.owner, world.operator):
        assert expect(insider.get(f"{API}/listings/{lid}"), 200)["review_comment"] == comment


def test_a_draft_over_an_asset_pledged_since_is_refused_on_submit(world, db):
    """An owner's draft listing over an asset that a bank pledged afterwards was submitted
    (and approved): the pledge and ownership checks now run again on submit."""
    a = world.asset()
    world.value(a["id"], "1000000.00")
    lst = world.listing(world.owner, world.listing_body([a["id"]]))
    world.loan([a["id"]])
    expect(world.owner.post(f"{API}/listings/{lst['id']}/submit"), 422, "asset_pledged")
    assert expect(world.owner.get(f"{API}/listings/{lst['id']}"), 200)["status"] == "draft"


def test_a_pending_listing_over_an_asset_pledged_since_is_refused_on_approve(world):
    a = world.asset()
    world.value(a["id"], "1000000.00")
    lst = world.listing(world.owner, world.listing_body([a["id"]]))
    expect(world.owner.post(f"{API}/listings/{lst['id']}/submit"), 200)
    world.loan([a["id"]])
    expect(world.operator.post(f"{API}/listings/{lst['id']}/approve"), 422, "asset_pledged")
    got = expect(world.owner.get(f"{API}/listings/{lst['id']}"), 200)
    assert got["status"] == "pending_review" and got["auction_id"] is None


def test_a_listing_over_an_asset_sold_since_is_refused_on_submit(world, db):
    """The ownership check runs again too: the asset changed hands after the draft."""
    a = world.asset()
    world.value(a["id"], "1000000.00")
    lst = world.listing(world.owner, world.listing_body([a["id"]]))
    buyer = world.owner2.user["org_id"]
    db.rollback()  # a fresh snapshot before writing beside the app
    db.get(Asset, a["id"]).owner_org_id = buyer
    db.commit()
    expect(world.owner.post(f"{API}/listings/{lst['id']}/submit"), 422, "asset_not_owned")


def test_openapi_documents_apply_and_the_valuation_status(world):
    doc = expect(world.anon.get("/api/openapi.json"), 200)
    op = doc["paths"]["/api/v1/valuations/{valuation_id}/apply"]["post"]
    assert {"200", "401", "404", "409"} <= set(op["responses"]), op["responses"].keys()
    assert "/api/v1/assets/{asset_id}/legal-status" in doc["paths"]
    schema = doc["components"]["schemas"]["ValuationOut"]
    assert "status" in schema["properties"] and "status" in schema["required"]
