"""A bank's integrator's first day: generate a Python client from the served OpenAPI
document with a maintained third-party generator (openapi-python-client) and drive a
bank flow through it — pledge → default → listing → approval → deposit → bid — with every
answer parsed into the generated models. On PostgreSQL the bid takes the one-statement
path (the WSGI shortcut), which the client reaches like any other request.
"""
from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.contract_helpers import World, iso, market_today, sleep_until, unique_no, utcnow

PACKAGE = "ipx_client"


@pytest.fixture
def generated(app, tmp_path):
    spec = app.test_client().get("/api/openapi.json")
    assert spec.status_code == 200
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec.get_json()), encoding="utf-8")
    env = dict(os.environ)
    # The generator formats its output with ruff, installed beside it in this venv.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    out = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(path),
         "--meta", "none", "--output-path", str(tmp_path / PACKAGE)],
        capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Warning" not in out.stdout, out.stdout  # nothing of the document was skipped
    sys.path.insert(0, str(tmp_path))
    try:
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))


def client_for(pkg, app, token: str):
    """The generated client over real HTTP semantics into the WSGI app (its middleware
    included), with the bank's bearer token."""
    client = pkg.AuthenticatedClient(base_url="http://testserver", token=token)
    client.set_httpx_client(httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"}))
    return client


def op(module: str):
    return importlib.import_module(f"{PACKAGE}.api.{module}")


def model(name: str):
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def test_generated_client_drives_a_bank_flow(app, actors, generated):
    world = World(app, actors)
    bank = client_for(generated, app, world.bank.token)
    owner = client_for(generated, app, world.owner.token)
    operator = client_for(generated, app, world.operator.token)
    investor = client_for(generated, app, world.investor.token)
    borrower = world.borrower_id

    asset = op("assets.create_asset").sync(client=owner, body=model("AssetIn").from_dict({
        "kind": "invention_patent", "registry_no": unique_no(), "title": "一种行星齿轮减速器",
        "owner_org_id": borrower, "expires_on": "2040-12-31", "classification": "F16H1/28"}))
    assert isinstance(asset, model("AssetOut")), asset
    valued_on = (market_today() - dt.timedelta(days=30)).isoformat()
    valuation = op("assets.add_valuation").sync(asset.id, client=owner, body=model(
        "ValuationIn").from_dict({"amount": "1000000.00", "valued_on": valued_on,
                                  "method": "income", "agency": "中联资产评估"}))
    assert valuation.amount == "1000000.00"

    loan = op("loans.create_loan").sync(client=bank, body=model("LoanIn").from_dict(
        world.loan_body([asset.id])))
    assert loan.status == "performing", loan
    loan = op("loans.declare_default").sync(loan.id, client=bank, body=model(
        "DefaultIn").from_dict({"declared_on": "2025-03-10"}))
    assert loan.status == "defaulted"

    # A refusal comes back as the documented error model, with the contract's code.
    refused = op("loans.record_repayment").sync(loan.id, client=bank, body=model(
        "RepaymentIn").from_dict({"amount": "99999999.00", "paid_on": "2025-03-11"}))
    assert isinstance(refused, model("Error")) and refused.error.code == "payment_exceeds_claim"

    starts = utcnow().replace(microsecond=0) + dt.timedelta(seconds=2)
    listing = op("listings.create_listing").sync(client=bank, body=model(
        "ListingCreate").from_dict(world.listing_body([asset.id], loan.id) | {"auction": {
            "start_price": "700000.00", "increment": "10000.00", "deposit": "70000.00",
            "starts_at": iso(starts), "ends_at": iso(starts + dt.timedelta(days=2))}}))
    assert listing.status == "draft"
    assert op("listings.submit_listing").sync(listing.id, client=bank).status == "pending_review"
    listing = op("listings.approve_listing").sync(listing.id, client=operator)
    assert listing.status == "published" and listing.auction_id

    deposit = op("auctions.pay_auction_deposit").sync(listing.auction_id, client=investor,
                                                      body=model("DepositIn").from_dict(
                                                          {"method": "offline"}))
    assert deposit.status == "pending"
    held = op("payments.confirm_deposit").sync(deposit.id, client=operator)
    assert held.status == "held"

    sleep_until(starts)
    placed = op("auctions.place_bid").sync(listing.auction_id, client=investor,
                                           body=model("BidIn").from_dict({"amount": "700000.00"}))
    assert isinstance(placed, model("BidOut")), placed
    assert placed.bid.amount == "700000.00" and placed.auction.bid_count == 1
    again = op("auctions.place_bid").sync(listing.auction_id, client=investor,
                                          body=model("BidIn").from_dict({"amount": "710000.00"}))
    assert isinstance(again, model("Error")) and again.error.code == "already_leading"

    public = generated.Client(base_url="http://testserver")
    public.set_httpx_client(httpx.Client(transport=httpx.WSGITransport(app=app),
                                         base_url="http://testserver"))
    auction = op("auctions.get_auction").sync(listing.auction_id, client=public)
    assert auction.current_price == "700000.00" and auction.leader_code == placed.bid.bidder_code
    bids = op("auctions.list_bids").sync(listing.auction_id, client=public)
    assert bids.total == 1 and bids.items[0].amount == "700000.00"
