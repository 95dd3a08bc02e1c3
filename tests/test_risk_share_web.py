"""Risk-share pages as people use them: a fund's user sees its shares (in Chinese by
default, in English on request) and records a payment with the form; the bank's loan page
shows what each party owes and has paid and links the due-diligence dossier."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from market.db import database
from market.lending.models import RiskShare
from market.oversight import risk_shares
from tests.contract_helpers import World, market_today


def _loan_with_a_due_share(app, actors):
    w = World(app, actors)
    a = w.asset()
    ln = w.loan([a["id"]], risk_shares=[
        {"org_id": w.fund["org_id"], "share": "0.4", "cap": "500000.00"},
        {"org_id": w.insurer["org_id"], "share": "0.3"}])
    # A settled sale's shortfall is what makes a share due (tests/test_contract_risk_shares
    # drives it end to end); here the page is the point, so the lifecycle is moved directly.
    with app.app_context(), database(app).transaction() as s:
        share = s.scalar(select(RiskShare).where(RiskShare.loan_id == ln["id"],
                                                 RiskShare.org_id == w.fund["org_id"]))
        risk_shares.transition(s, share, "due", actor_id=None,
                               amount_due=Decimal("123456.78"))
        share_id = share.id
    return w, ln, share_id


def test_a_fund_sees_its_shares_and_records_a_payment(app, actors):
    w, _ln, share_id = _loan_with_a_due_share(app, actors)
    client = actors.login(app.test_client(), w.fund)
    html = client.get("/risk-shares").get_data(as_text=True)
    assert "风险分担" in html and "123,456.78" in html and 'data-test="paid-form"' in html
    assert html.count('data-test="risk-share"') == 1  # not the insurer's
    assert 'data-test="risk-share-panel"' in client.get("/dashboard").get_data(as_text=True)
    client.get("/lang/en")
    html = client.get("/risk-shares").get_data(as_text=True)
    assert "Risk shares" in html and "Record payment" in html

    assert client.post(f"/risk-shares/{share_id}/paid",
                       data={"paid_on": "", "reference": "X"}).status_code == 302
    resp = client.post(f"/risk-shares/{share_id}/paid",
                       data={"paid_on": market_today().isoformat(), "reference": "FUND-9"})
    assert resp.status_code == 302
    html = client.get("/risk-shares").get_data(as_text=True)
    assert 'data-status="paid"' in html and "FUND-9" in html

    insurer = actors.login(app.test_client(), w.insurer)
    assert insurer.post(f"/risk-shares/{share_id}/paid",
                        data={"paid_on": market_today().isoformat(),
                              "reference": "Y"}).status_code == 404
    assert actors.login(app.test_client(), w.bank.user).get("/risk-shares").status_code == 403


def test_the_bank_sees_what_each_party_owes_and_links_the_dossier(app, actors):
    w, ln, share_id = _loan_with_a_due_share(app, actors)
    bank = actors.login(app.test_client(), w.bank.user)
    bank.get("/lang/en")
    html = bank.get(f"/loans/{ln['id']}").get_data(as_text=True)
    assert f'data-test="risk-share-{share_id}"' in html and "123,456.78" in html
    assert "not yet" in html and 'data-test="dossier-link"' in html
    resp = bank.get(f"/loans/{ln['id']}/dossier.pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    other = actors.login(app.test_client(), w.bank2.user)
    assert other.get(f"/loans/{ln['id']}/dossier.pdf").status_code == 404


def test_demo_seed_has_a_fund_user_who_sees_its_shares(app, runner, actors):
    res = runner.invoke(args=["demo", "seed"])
    assert res.exit_code == 0 and "fund@ipx.example" in res.output, res.output
    client = actors.login(app.test_client(), {"email": "fund@ipx.example",
                                              "password": "demo-password-2026"})
    html = client.get("/risk-shares").get_data(as_text=True)
    assert html.count('data-test="risk-share"') >= 1 and "风险补偿基金" in html
