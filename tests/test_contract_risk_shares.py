"""Contract (API.md "Oversight and reports": risk shares, dossier), black box through the
API: a settlement with a shortfall makes two parties' shares due with the right amounts
(one capped); each party sees only its own and records its payment once; the bank sees
them on its loan; the ledger verifies. The dossier PDF holds each event of the disposal
with its actor."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from market.db import database
from market.notifications import Notification
from tests.conftest import ApiClient
from tests.contract_helpers import (
    API,
    D,
    ResponseRecorder,
    World,
    assert_list,
    check_cases,
    expect,
    half_up,
    market_today,
    money,
)
from tests.test_contract_settlement import sell


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MARKET_MIN_AUCTION_SECONDS": 2,
            "MARKET_BUYER_PREMIUM_RATE": D("0.02"), "MARKET_SELLER_COMMISSION_RATE": D("0.01")}


@pytest.fixture
def world(app, actors):
    return World(app, actors)


def client_of(world, user: dict) -> ApiClient:
    return ApiClient(world.app.test_client(), world.actors.token(user), user)


def dispose(world, risk_shares, principal="3000000.00"):
    """Create loan → default → listing → approve → bids → close (the settlement suite's
    sale: claim over 3,000,000, hammer price 720,000, so a shortfall)."""
    a, ln, lst, auc, _as_of = sell(world, principal=principal, risk_shares=risk_shares)
    return a, ln, lst, auc["id"]


def pay(world, lst) -> dict:
    p = expect(world.investor2.post(f"{API}/listings/{lst['id']}/payments",
                                    json={"method": "offline"}), 201)
    expect(world.operator.post(f"{API}/payments/{p['id']}/confirm"), 200)
    return p


def shares_of(client, loan_id) -> list[dict]:
    items = assert_list(expect(client.get(f"{API}/risk-shares?per_page=100"), 200), 100)
    return [i for i in items if i["loan_id"] == loan_id]


def test_a_shortfall_makes_two_shares_due_and_each_is_paid_once(world, app):
    recorder = ResponseRecorder(app)  # before the app's first request
    fund, insurer = client_of(world, world.fund), client_of(world, world.insurer)
    shares = [{"org_id": world.fund["org_id"], "share": "0.4", "cap": "500000.00"},
              {"org_id": world.insurer["org_id"], "share": "0.3"}]
    _a, ln, lst, _aid = dispose(world, shares)

    # Before the sale settles: open, nothing due, payment refused.
    (mine,) = shares_of(fund, ln["id"])
    assert mine["status"] == "open" and mine["amount_due"] is None, mine
    assert mine["org_id"] == world.fund["org_id"] and mine["share"] == "0.4"
    assert money(mine["cap"]) == D("500000.00")
    expect(fund.post(f"{API}/risk-shares/{mine['id']}/paid",
                     json={"paid_on": market_today().isoformat(), "reference": "X"}),
           409, "share_not_due")

    pay(world, lst)
    st = expect(world.bank.get(f"{API}/listings/{lst['id']}/settlement"), 200)
    shortfall = money(st["shortfall"])
    assert st["status"] == "settled" and shortfall > 0, st
    fund_due, insurer_due = D("500000.00"), half_up(shortfall * D("0.3"))  # the fund is capped
    assert half_up(shortfall * D("0.4")) > fund_due

    # Each party sees only its own share, now due with its amount.
    (f,) = shares_of(fund, ln["id"])
    (i,) = shares_of(insurer, ln["id"])
    assert {x["org_id"] for x in assert_list(expect(fund.get(f"{API}/risk-shares"), 200))} \
        == {world.fund["org_id"]}
    assert (f["status"], money(f["amount_due"])) == ("due", fund_due), f
    assert (i["status"], money(i["amount_due"])) == ("due", insurer_due), i
    assert i["cap"] is None and i["paid_on"] is None and i["reference"] is None
    assert len(shares_of(world.operator, ln["id"])) == 2

    # The parties' users heard of it, with the amount.
    with app.app_context(), database(app).transaction() as s:
        notes = list(s.scalars(select(Notification).where(
            Notification.user_id == world.fund["id"], Notification.kind == "risk_share.due")))
    assert len(notes) == 1 and "500,000.00" in notes[0].subject, [n.subject for n in notes]

    today = market_today().isoformat()
    check_cases([
        (world.anon, "GET", "/risk-shares", None, 401),
        (world.bank, "GET", "/risk-shares", None, 403),
        (world.investor, "GET", "/risk-shares", None, 403),
        (world.bank, "POST", f"/risk-shares/{f['id']}/paid",
         {"paid_on": today, "reference": "R"}, 403),
        (world.bank, "POST", f"/risk-shares/{f['id']}/paid", {}, 403),  # role before body
        (fund, "POST", f"/risk-shares/{i['id']}/paid", {"paid_on": today, "reference": "R"},
         404),
        (fund, "POST", "/risk-shares/999999999/paid", {"paid_on": today, "reference": "R"},
         404),
        (fund, "POST", f"/risk-shares/{f['id']}/paid", {"paid_on": today}, 422),
        (fund, "POST", f"/risk-shares/{f['id']}/paid",
         {"paid_on": "1989-12-31", "reference": "R"}, 422),
        (fund, "POST", f"/risk-shares/{f['id']}/paid",
         {"paid_on": today, "reference": "R", "extra": 1}, 422),
        (fund, "GET", "/risk-shares?per_page=1000", None, 200),
    ])
    assert expect(fund.get(f"{API}/risk-shares?per_page=1000"), 200)["per_page"] == 100

    paid = expect(fund.post(f"{API}/risk-shares/{f['id']}/paid",
                            json={"paid_on": today, "reference": "FUND-2026-001"}), 200)
    assert (paid["status"], paid["paid_on"], paid["reference"]) == ("paid", today,
                                                                    "FUND-2026-001"), paid
    expect(fund.post(f"{API}/risk-shares/{f['id']}/paid",
                     json={"paid_on": today, "reference": "again"}), 409)
    expect(world.operator.post(f"{API}/risk-shares/{i['id']}/paid",
                               json={"paid_on": today, "reference": "PICC-7"}), 200)

    # The bank sees on its loan what each party owed and has paid.
    loan = expect(world.bank.get(f"{API}/loans/{ln['id']}"), 200)
    got = {(r["org_id"], money(r["amount_due"]), r["status"], r["reference"])
           for r in loan["risk_shares"]}
    assert got == {(world.fund["org_id"], fund_due, "paid", "FUND-2026-001"),
                   (world.insurer["org_id"], insurer_due, "paid", "PICC-7")}, loan

    # Recorded once in the ledger: the receivable is cleared, and verify checks it.
    from market.settlement import ledger

    with app.app_context(), database(app).transaction() as s:
        for org_id in (world.fund["org_id"], world.insurer["org_id"]):
            assert ledger.balance(s, "risk_share_receivable", org_id) == 0
        entries = ledger.entries_for(s, "risk_share", f["id"])
        assert [e.idempotency_key for e in entries] == [f"risk_share:{f['id']}:paid"]
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output

    # Every response (items, errors, the loan with its shares) matches the OpenAPI document.
    problems = recorder.problems(expect(world.anon.get("/api/openapi.json"), 200))
    assert problems == [], "\n".join(problems)
    seen = {(m, p) for m, p, _s, _d in recorder.seen}
    assert {("get", "/api/v1/risk-shares"), ("post", "/api/v1/risk-shares/{share_id}/paid"),
            ("get", "/api/v1/loans/{loan_id}")} <= seen


def test_a_sale_that_covers_the_claim_leaves_the_shares_open(world):
    fund = client_of(world, world.fund)
    _a, ln, lst, _aid = dispose(world, [{"org_id": world.fund["org_id"], "share": "0.4"}],
                              principal="100000.00")
    pay(world, lst)
    st = expect(world.bank.get(f"{API}/listings/{lst['id']}/settlement"), 200)
    assert st["status"] == "settled" and money(st["shortfall"]) == 0, st
    (mine,) = shares_of(fund, ln["id"])
    assert (mine["status"], mine["amount_due"]) == ("open", None), mine
    expect(fund.post(f"{API}/risk-shares/{mine['id']}/paid",
                     json={"paid_on": market_today().isoformat(), "reference": "X"}),
           409, "share_not_due")


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    # pypdf reads fpdf2's ToUnicode map of the CJK (.ttc) font as UTF-16 code units and
    # leaves a NUL before each ASCII character: drop them, the text is otherwise exact.
    raw = " ".join(p.extract_text() for p in reader.pages).replace("\x00", "")
    return re.sub(r"\s+", " ", raw)


def test_the_dossier_holds_each_event_of_the_disposal_with_its_actor(world):
    _a, ln, lst, aid = dispose(world, [{"org_id": world.fund["org_id"], "share": "0.5"}])
    pay(world, lst)
    resp = world.bank.get(f"{API}/loans/{ln['id']}/dossier")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf", resp.status_code
    text = pdf_text(resp.data)

    def email(who) -> str:
        return (who.user if hasattr(who, "user") else who)["email"]

    for heading in ("Loan terms 贷款条件", "Audit records 审计记录", "Ledger lines 账务分录",
                    "Pledge and register entries 质押及登记"):
        assert heading in text, heading
    # Each event of the disposal, with who did it (each line: time · section · actor).
    events = [
        (f"Loan #{ln['id']} registered", email(world.bank)),
        ("Asset #", email(world.owner)),                      # the valuation, who added it
        ("Default declared on 2025-03-10", email(world.bank)),
        ("Flag raised: ltv", "system 系统"),                   # the monitoring job
        ("Notified of the flag", email(world.bank)),          # and who was told of it
        (f"Listing #{lst['id']}: draft → ", email(world.bank)),
        ("→ published", email(world.operator)),               # the moderation decision
        ("Bid on auction", email(world.investor2)),
        ("720,000.00", email(world.investor2)),
        (f"Auction #{aid} closed: sold", "system 系统"),
        ("Payment #", email(world.investor2)),
        ("paid", email(world.operator)),
        ("settled", email(world.operator)),
    ]
    for what, actor in events:
        found = [m.start() for m in re.finditer(re.escape(actor), text)]
        assert what in text, (what, text[:3000])
        # the actor is named on the event's own heading line, just before its text
        assert any(0 <= text.find(what, pos) - pos < 200 for pos in found), (what, actor)
    for action in ("loan.create", "loan.default", "listing.published", "auction.closed",
                   "payment.confirm", "settlement.settled", "risk_share.due"):
        assert action in text, action
    assert "settlement:" in text and "bank_recovery" in text       # ledger lines

    assert world.operator.get(f"{API}/loans/{ln['id']}/dossier").status_code == 200
    check_cases([
        (world.bank2, "GET", f"/loans/{ln['id']}/dossier", None, 404),
        (world.bank, "GET", "/loans/999999999/dossier", None, 404),
        (world.investor, "GET", f"/loans/{ln['id']}/dossier", None, 403),
        (world.anon, "GET", f"/loans/{ln['id']}/dossier", None, 401),
    ])
