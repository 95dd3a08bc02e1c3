"""Helpers for asset and loan tests: a bank, a borrower and pledgeable assets via the API."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

_seq = itertools.count(1)


def asset_body(owner_org_id: int, **over) -> dict:
    n = next(_seq)
    body = {"kind": "invention_patent", "registry_no": f"ZL2020100{n:05d}.X",
            "title": f"一种行星齿轮减速器 {n}", "owner_org_id": owner_org_id,
            "expires_on": "2040-06-30", "classification": "F16H 1/28"}
    body.update(over)
    return body


def make_asset(api, owner_org_id: int, value: str | None = "5000000.00",
               valued_on: str = "2024-01-15", **over) -> dict:
    resp = api.post("/api/v1/assets", json=asset_body(owner_org_id, **over))
    assert resp.status_code == 201, resp.get_json()
    asset = resp.get_json()
    if value:
        r = api.post(f"/api/v1/assets/{asset['id']}/valuations",
                     json={"amount": value, "valued_on": valued_on, "method": "income",
                           "agency": "中联资产评估集团"})
        assert r.status_code == 201, r.get_json()
    return asset


def loan_body(borrower_org_id: int, asset_ids: list[int], **over) -> dict:
    n = next(_seq)
    body = {"borrower_org_id": borrower_org_id, "principal": "3000000.00",
            "annual_rate": "0.0435", "penalty_rate": "0.06525",
            "disbursed_on": "2024-03-01", "maturity_on": "2025-03-01",
            "pledge": {"asset_ids": asset_ids, "registration_no": f"Y2024990{n:05d}",
                       "registered_on": "2024-02-28"}}
    body.update(over)
    return body


@dataclass
class Book:
    bank: object       # ApiClient (bank role)
    borrower: dict     # borrower user dict (owner role)
    owner_api: object  # ApiClient of the borrower
    assets: list[dict]


def book(actors, n_assets: int = 1, bank_org: str = "华夏科创银行",
         borrower_org: str = "苏州精密传动科技有限公司") -> Book:
    bank = actors.api("bank", org=bank_org)
    owner_api = actors.api("owner", org=borrower_org)
    assets = [make_asset(bank, owner_api.user["org_id"]) for _ in range(n_assets)]
    return Book(bank, owner_api.user, owner_api, assets)


def make_loan(b: Book, asset_ids: list[int] | None = None, **over) -> dict:
    ids = asset_ids if asset_ids is not None else [a["id"] for a in b.assets]
    resp = b.bank.post("/api/v1/loans", json=loan_body(b.borrower["org_id"], ids, **over))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()
