"""The public pledge register (API.md "Public pledge register"; 专利权质押登记办法:
publish pledgor, pledgee, asset number, classification, date, status; anyone may query)."""
from __future__ import annotations

from tests.lending_helpers import book, make_loan


def test_register_is_public_and_has_no_amounts(actors, client):
    b = book(actors, n_assets=2, bank_org="华夏科创银行", borrower_org="苏州精密传动科技有限公司")
    loan = make_loan(b)
    reg = b.assets[0]["registry_no"]
    resp = client.get(f"/api/v1/registry/pledges?registry_no={reg}")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["total"] == 1
    row = body["items"][0]
    assert row["registration_no"] == loan["pledge"]["registration_no"]
    assert row["registry_no"] == reg and row["asset_kind"] == "invention_patent"
    assert row["pledgor"] == "苏州精密传动科技有限公司" and row["pledgee"] == "华夏科创银行"
    assert row["registered_on"] == "2024-02-28" and row["status"] == "registered"
    assert {"registration_no", "registry_no", "asset_kind", "pledgor", "pledgee",
            "registered_on", "status"} <= set(row)
    text = resp.get_data(as_text=True)
    assert "3000000" not in text and "principal" not in text


def test_register_filters_by_names_and_shows_release(actors, client):
    b = book(actors, bank_org="华夏科创银行", borrower_org="苏州精密传动")
    b2 = book(actors, bank_org="江南商业银行", borrower_org="杭州云图软件")
    make_loan(b)
    loan2 = make_loan(b2, principal="100.00", annual_rate="0", penalty_rate="0")
    assert client.get("/api/v1/registry/pledges").get_json()["total"] == 2
    got = client.get("/api/v1/registry/pledges?pledgee=江南").get_json()
    assert got["total"] == 1 and got["items"][0]["pledgor"] == "杭州云图软件"
    got = client.get("/api/v1/registry/pledges?pledgor=精密").get_json()
    assert got["total"] == 1 and got["items"][0]["pledgee"] == "华夏科创银行"
    b2.bank.post(f"/api/v1/loans/{loan2['id']}/repayments",
                 json={"amount": "100.00", "paid_on": "2024-03-05"})
    got = client.get("/api/v1/registry/pledges?pledgee=江南").get_json()
    assert got["items"][0]["status"] == "released"
    assert got["items"][0]["changed_on"] == "2024-03-05"
    assert client.get("/api/v1/registry/pledges?registry_no=nothing").get_json()["total"] == 0
    assert client.get("/api/v1/registry/pledges?per_page=500").get_json()["per_page"] == 100


def test_register_in_openapi(client):
    from openapi_spec_validator import validate
    doc = client.get("/api/openapi.json").get_json()
    validate(doc)
    assert "/api/v1/registry/pledges" in doc["paths"]
    for p in ("/api/v1/loans", "/api/v1/loans/{loan_id}/claim", "/api/v1/assets",
              "/api/v1/assets/{asset_id}/valuations"):
        assert p in doc["paths"], p
