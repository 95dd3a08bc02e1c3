"""Assets and valuations through the API (API.md "Assets")."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from market.assets import services
from market.assets.models import Asset
from tests.lending_helpers import asset_body, make_asset


def test_create_and_get_asset_with_defaults(actors):
    bank = actors.api("bank")
    owner = actors.user("owner")
    resp = bank.post("/api/v1/assets", json=asset_body(owner["org_id"], title="智能仓储调度系统V2.0",
                                                       kind="software_copyright"))
    assert resp.status_code == 201, resp.get_json()
    a = resp.get_json()
    assert a["jurisdiction"] == "CN" and a["legal_status"] == "valid"
    assert a["kind"] == "software_copyright" and a["title"] == "智能仓储调度系统V2.0"
    got = bank.get(f"/api/v1/assets/{a['id']}")
    assert got.status_code == 200 and got.get_json()["registry_no"] == a["registry_no"]


def test_duplicate_asset_is_409(actors):
    """API.md: same kind+jurisdiction+registry_no twice → 409 duplicate_asset."""
    bank = actors.api("bank")
    owner = actors.user("owner")
    body = asset_body(owner["org_id"])
    assert bank.post("/api/v1/assets", json=body).status_code == 201
    resp = bank.post("/api/v1/assets", json=body)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "duplicate_asset"
    # another kind with the same number is another asset
    assert bank.post("/api/v1/assets", json={**body, "kind": "trademark"}).status_code == 201


def test_asset_input_errors(actors):
    bank = actors.api("bank")
    owner = actors.user("owner")
    for bad in ({"kind": "recipe"}, {"legal_status": "sleeping"}, {"expires_on": "2040-13-01"},
                {"colour": "red"}, {"owner_org_id": "x"}):
        resp = bank.post("/api/v1/assets", json={**asset_body(owner["org_id"]), **bad})
        assert resp.status_code == 422, bad
    resp = bank.post("/api/v1/assets", json=asset_body(999999))
    assert resp.status_code == 404
    assert actors.api("investor").post("/api/v1/assets",
                                       json=asset_body(owner["org_id"])).status_code == 403
    assert bank.get("/api/v1/assets/987654321").status_code == 404


def test_owner_registers_only_its_own_assets(actors):
    owner = actors.api("owner")
    other = actors.user("owner")
    assert owner.post("/api/v1/assets", json=asset_body(owner.user["org_id"])).status_code == 201
    resp = owner.post("/api/v1/assets", json=asset_body(other["org_id"]))
    assert resp.status_code == 403


def test_valuation_defaults_to_one_year_and_value_on_date(actors, db):
    """DOMAIN.md 动态评估: a valuation is valid for a year; the latest valid one counts."""
    bank = actors.api("bank")
    owner = actors.user("owner")
    asset = make_asset(bank, owner["org_id"], value=None)
    resp = bank.post(f"/api/v1/assets/{asset['id']}/valuations",
                     json={"amount": "1200000.00", "valued_on": "2024-02-29", "method": "market",
                           "agency": "北京天健兴业"})
    assert resp.status_code == 201
    v = resp.get_json()
    assert v["valid_until"] == "2025-02-28" and v["amount"] == "1200000.00"
    bank.post(f"/api/v1/assets/{asset['id']}/valuations",
              json={"amount": "900000.00", "valued_on": "2024-09-01", "method": "income",
                    "agency": "中联评估", "valid_until": "2024-12-31"})
    aid = asset["id"]
    assert services.valuation_on(db, aid, dt.date(2024, 3, 1)).amount == Decimal("1200000.00")
    assert services.valuation_on(db, aid, dt.date(2024, 10, 1)).amount == Decimal("900000.00")
    # the newer report has lapsed: the older one, still valid, counts again
    assert services.valuation_on(db, aid, dt.date(2025, 1, 15)).amount == Decimal("1200000.00")
    assert services.valuation_on(db, aid, dt.date(2025, 3, 1)) is None
    assert services.valuation_on(db, aid, dt.date(2024, 1, 1)) is None


def test_valuation_input_errors(actors):
    bank = actors.api("bank")
    asset = make_asset(bank, actors.user("owner")["org_id"], value=None)
    url = f"/api/v1/assets/{asset['id']}/valuations"
    ok = {"amount": "100.00", "valued_on": "2024-01-01", "method": "cost", "agency": "A"}
    for bad in ({"amount": "-1"}, {"amount": "1.001"}, {"method": "guess"},
                {"valid_until": "2023-01-01"}, {"amount": "abc"}):
        assert bank.post(url, json={**ok, **bad}).status_code == 422, bad
    assert bank.post("/api/v1/assets/424242/valuations", json=ok).status_code == 404
    # not its asset: API.md "Assets", others → 404 (the asset is not theirs to change)
    assert actors.api("owner").post(url, json=ok).status_code == 404


def test_asset_audited(actors, db):
    from market.audit import AuditRecord
    from sqlalchemy import select
    bank = actors.api("bank")
    asset = make_asset(bank, actors.user("owner")["org_id"])
    actions = set(db.scalars(select(AuditRecord.action).where(
        AuditRecord.object_type == "asset", AuditRecord.object_id == asset["id"])))
    assert {"asset.create", "valuation.create"} <= actions
    assert db.get(Asset, asset["id"]).created_by == bank.user["id"]


def test_legal_status_update_and_consent_pages(actors, client, db):
    """专利权质押登记办法: status and co-owner consent decide whether a pledge can register."""
    bank = actors.api("bank")
    owner = actors.user("owner")
    co = actors.user("owner")
    asset = make_asset(bank, owner["org_id"], co_owner_org_ids=[co["org_id"]])
    resp = bank.post(f"/api/v1/assets/{asset['id']}/legal-status",
                     json={"legal_status": "lapsed", "next_fee_due_on": "2025-01-01"})
    assert resp.status_code == 200 and resp.get_json()["legal_status"] == "lapsed"
    assert bank.post(f"/api/v1/assets/{asset['id']}/legal-status",
                     json={"legal_status": "asleep"}).status_code == 422
    actors.login(client, bank.user)
    page = client.get(f"/assets/{asset['id']}").get_data(as_text=True)
    assert 'data-test="status-form"' in page and f'data-test="co-owner-{co["org_id"]}"' in page
    resp = client.post(f"/assets/{asset['id']}/status",
                       data={"legal_status": "valid", "expires_on": "2040-06-30"})
    assert resp.status_code == 302
    # the co-owner records its own consent (the bank cannot: issue 13)
    assert client.post(f"/assets/{asset['id']}/co-owners/{co['org_id']}/consent",
                       data={"consent_ref": "共有人同意书"}).status_code == 404
    co_client = actors.login(actors.app.test_client(), co)
    resp = co_client.post(f"/assets/{asset['id']}/co-owners/{co['org_id']}/consent",
                       data={"consent_ref": "共有人同意书"})
    assert resp.status_code == 302
    db.expire_all()
    a = db.get(Asset, asset["id"])
    assert a.legal_status == "valid" and a.co_owners[0].consent_ref == "共有人同意书"
