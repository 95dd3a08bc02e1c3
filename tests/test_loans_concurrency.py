"""One registered pledge per asset holds under concurrency (专利权质押登记办法: no second
pledge): the partial unique index decides between racing requests."""
from __future__ import annotations

import os
import threading

import pytest

from tests.lending_helpers import book, loan_body

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="needs PostgreSQL (TEST_DATABASE_URL)")


@pytest.mark.parametrize("round_", range(3))
def test_two_banks_racing_for_one_asset_get_one_201_one_422(app, actors, round_):
    b = book(actors)
    other = actors.api("bank", org="江南商业银行")
    asset_id = b.assets[0]["id"]
    clients = [b.bank, other]
    for c in clients:  # separate test clients: separate requests, sessions, connections
        c.client = app.test_client()
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def go(i):
        body = loan_body(b.borrower["org_id"], [asset_id])
        barrier.wait()
        resp = clients[i].post("/api/v1/loans", json=body)
        results[i] = (resp.status_code, resp.get_json())

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = sorted(r[0] for r in results)
    assert codes == [201, 422], results
    refused = next(r[1] for r in results if r[0] == 422)
    assert refused["error"]["code"] == "asset_already_pledged"
