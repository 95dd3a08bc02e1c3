"""The OpenAPI document reads like the domain: every operation has a stable, unique,
hand-chosen operationId and one area tag, and lists the contract's error codes it can
return. A new endpoint missing from market/openapi_ops.OPERATIONS fails here."""
from __future__ import annotations

import re

from market.openapi_ops import OPERATIONS, TAGS

METHODS = ("get", "post", "put", "patch", "delete")


def operations(client):
    spec = client.get("/api/openapi.json").get_json()
    return spec, [(m.upper(), path, op) for path, ops in spec["paths"].items()
                  for m, op in ops.items() if m in METHODS]


def test_every_operation_is_named_once_and_tagged(client):
    spec, ops = operations(client)
    served = {(m, p) for m, p, _ in ops}
    assert served - set(OPERATIONS) == set(), "name these operations in OPERATIONS"
    assert set(OPERATIONS) - served == set(), "OPERATIONS names operations nobody serves"
    ids = [op.get("operationId") for _, _, op in ops]
    assert all(i and re.fullmatch(r"[a-z][A-Za-z0-9]+", i) for i in ids), ids
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    tag_names = {name for name, _ in TAGS}
    assert {t["name"] for t in spec["tags"]} == tag_names
    for m, p, op in ops:
        assert len(op["tags"]) == 1 and op["tags"][0] in tag_names, (m, p, op["tags"])


def test_operations_list_the_contract_error_codes(client):
    spec, ops = operations(client)
    by_id = {op["operationId"]: op for _, _, op in ops}
    bid = by_id["placeBid"]["responses"]
    codes = {status: set(r["content"]["application/json"]["examples"])
             for status, r in bid.items() if status[0] == "4"}
    assert codes["422"] >= {"not_increment_multiple", "validation_error"}
    assert codes["409"] == {"auction_not_open", "already_leading", "bid_too_low"}
    assert codes["403"] >= {"deposit_required"}
    assert codes["401"] == {"unauthorized"}
    # Public reads need no token and document no 401.
    auction = by_id["getAuction"]
    assert auction["security"] == [] and "401" not in auction["responses"]
    body = by_id["createLoan"]["requestBody"]["content"]["application/json"]
    assert body["example"]["pledge"]["asset_ids"] == [1]
    assert "403" in by_id["createLoan"]["responses"]


def test_reference_page_is_served_from_this_server(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-spec-url="/api/openapi.json"' in html
    src = re.search(r'src="([^"]+api_docs\.js)"', html).group(1)
    assert src.startswith("/static/")  # vendored: no CDN
    script = client.get(src).get_data(as_text=True)
    assert 'from "../vendor/redoc/redoc.standalone.js"' in script
    assert "disableTelemetry: true" in script
    assert client.get("/static/vendor/redoc/redoc.standalone.js").status_code == 200
    home = client.get("/login").get_data(as_text=True)
    assert 'href="/api/docs"' in home  # linked from the footer
