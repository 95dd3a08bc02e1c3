"""Oversight pages as people use them: the bank's NPL panel with its last 8 quarters, the form
it saves its overall ratio with, and the NPL table and report files of operators and
regulators — in Chinese by default and in English on request."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from market.accounts.models import User
from market.db import database
from market.oversight.models import LoanGrade, OverallNplRatio
from market.oversight.periods import Quarter
from tests.contract_helpers import API, World, expect, market_today

def _world_with_an_overdue_loan(app, actors):
    w = World(app, actors)
    a = w.asset()
    w.loan([a["id"]], principal="2000000.00", disbursed_on="2024-01-10",
           maturity_on="2025-01-10")  # long overdue: loss by arrears
    b = w.asset()
    w.loan([b["id"]], principal="6000000.00", disbursed_on="2025-01-10",
           maturity_on="2028-01-10")
    return w


def _saved(app) -> list[tuple]:
    # Not the `db` fixture: its app context would pin the first request's language.
    with app.app_context(), database(app).transaction() as s:
        return [(r.org_id, r.period, r.ratio) for r in s.scalars(select(OverallNplRatio))]


def test_bank_panel_shows_eight_quarters_and_saves_the_overall_ratio(app, actors):
    w = _world_with_an_overdue_loan(app, actors)
    client = actors.login(app.test_client(), w.bank.user)
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'data-test="panel-npl"' in html and "知识产权质押贷款不良率" in html
    assert "<svg" in html and 'data-test="npl-chart"' in html
    assert "25.00%" in html  # 2,000,000 ÷ 8,000,000 non-performing
    now = Quarter.of(market_today())
    quarters = [now]
    for _ in range(7):
        quarters.append(quarters[-1].previous())
    for q in quarters:
        assert f"<td>{q}</td>" in html
    assert f"<td>{quarters[-1].previous()}</td>" not in html

    resp = client.post("/oversight/overall-npl", data={"period": str(now), "ratio_pct": "1.35"})
    assert resp.status_code == 302
    assert _saved(app) == [(w.bank.user["org_id"], str(now), Decimal("0.0135"))]
    client.get("/lang/en")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "IP-pledge NPL ratio" in html and "1.35%" in html and "23.65" in html  # gap pp
    assert 'data-test="npl-flag"' not in html  # the job has not run

    for bad in ({"period": "2026-Q7", "ratio_pct": "1"}, {"period": str(now), "ratio_pct": "x"},
                {"period": str(now), "ratio_pct": "101"}):
        assert client.post("/oversight/overall-npl", data=bad).status_code == 302
    assert _saved(app) == [(w.bank.user["org_id"], str(now), Decimal("0.0135"))]
    page = client.get("/dashboard").get_data(as_text=True)
    assert "as a percentage between 0 and 100" in page


def test_regulator_and_operator_read_every_bank_and_download_reports(app, actors):
    w = _world_with_an_overdue_loan(app, actors)
    w.bank2  # noqa: B018 - a second bank, no loans
    regulator = actors.user("regulator", org="国家金融监督管理总局", org_kind="regulator")
    client = actors.login(app.test_client(), regulator)
    html = client.get("/oversight/npl").get_data(as_text=True)
    assert "不良贷款监测" in html and "无法计算" in html
    assert html.count('data-test="npl-row"') == 2
    assert "25.00%" in html
    client.get("/lang/en")
    html = client.get("/oversight/npl").get_data(as_text=True)
    assert "NPL oversight" in html and "Not computable" in html
    nav = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/oversight/npl"' in nav and 'href="/dashboard"' in nav
    last = Quarter.of(market_today()).previous()
    resp = client.get(f"/oversight/reports/ip-pledge.csv?period={last}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert {r["org_id"] for r in rows} == {str(w.bank.user["org_id"]),
                                           str(w.bank2.user["org_id"])}
    resp = client.get(f"/oversight/reports/ip-pledge.xlsx?period={last}")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    assert sheet.max_row == 3 and sheet.cell(1, 1).value == "org_id"
    # The web file is the kept report the API returns too.
    api_rows = expect(w.operator.get(f"{API}/reports/ip-pledge?period={last}"), 200)["items"]
    assert {r["org_id"] for r in api_rows} == {int(r["org_id"]) for r in rows}

    operator = actors.login(app.test_client(), w.operator.user)
    assert operator.get("/oversight/npl").status_code == 200
    bank = actors.login(app.test_client(), w.bank.user)
    assert bank.get("/oversight/npl").get_data(as_text=True).count('data-test="npl-row"') == 1


def test_others_may_not_read_the_npl_table(app, actors):
    owner = actors.login(app.test_client(), actors.user("owner"))
    assert owner.get("/oversight/npl").status_code == 403
    assert owner.get("/oversight/reports/ip-pledge.csv").status_code == 403
    assert app.test_client().get("/oversight/npl").status_code == 302  # to the login


def test_demo_seed_has_a_regulator_who_sees_the_banks_position(app, runner, actors):
    res = runner.invoke(args=["demo", "seed"])
    assert res.exit_code == 0 and "regulator@ipx.example" in res.output, res.output
    client = actors.login(app.test_client(), {"email": "regulator@ipx.example",
                                              "password": "demo-password-2026"})
    html = client.get("/oversight/npl").get_data(as_text=True)
    assert "华夏科创银行" in html and "1.35%" in html
    assert html.count('data-test="npl-row"') == 2
    with app.app_context(), database(app).transaction() as s:
        assert s.scalar(select(func.count()).select_from(OverallNplRatio)) == 8
        assert s.scalar(select(func.count()).select_from(LoanGrade)) == 1


def test_operator_makes_regulators_only_in_regulator_organisations(app, actors):
    client = actors.login(app.test_client(), actors.user("operator"))
    investor = actors.user("investor")
    officer = actors.user("investor", org="金融监管总局 (regulator org)", org_kind="regulator")
    assert client.post(f"/admin/users/{investor['id']}/role",
                       data={"role": "regulator"}).status_code == 302
    assert client.post(f"/admin/users/{officer['id']}/role",
                       data={"role": "regulator"}).status_code == 302
    with app.app_context(), database(app).transaction() as s:
        roles = dict(s.execute(select(User.id, User.role).where(
            User.id.in_([investor["id"], officer["id"]]))).all())
    assert roles == {investor["id"]: "investor", officer["id"]: "regulator"}


def test_bank_grades_a_loan_on_its_grade_page(app, actors):
    w = World(app, actors)
    a = w.asset()
    ln = w.loan([a["id"]], principal="1000000.00", disbursed_on="2025-01-10",
                maturity_on="2028-01-10")
    grades_url = f"/oversight/loans/{ln['id']}/grades"
    bank = actors.login(app.test_client(), w.bank.user)
    assert f'href="{grades_url}"' in bank.get(f"/loans/{ln['id']}").get_data(as_text=True)
    page = bank.get(grades_url).get_data(as_text=True)
    assert 'data-test="grade">正常<' in page and 'data-test="grade-form"' in page

    resp = bank.post(grades_url, data={"grade": "substandard", "as_of": "2025-06-01"})
    assert resp.status_code == 302
    page = bank.get(grades_url).get_data(as_text=True)
    assert 'data-test="grade">次级<' in page and "已自 2025-06-01 起分类为次级" in page
    tomorrow = (market_today() + dt.timedelta(days=1)).isoformat()
    for bad in ({"grade": "loss", "as_of": tomorrow}, {"grade": "loss", "as_of": "2025-01-09"},
                {"grade": "worst", "as_of": "2025-06-01"}, {"grade": "loss"}):
        assert bank.post(grades_url, data=bad).status_code == 302
    history = expect(w.bank.get(f"{API}/loans/{ln['id']}/grades"), 200)["items"]
    assert [(g["grade"], g["as_of"]) for g in history] == [("substandard", "2025-06-01")]

    regulator = actors.login(app.test_client(), actors.user(
        "regulator", org="监管局", org_kind="regulator"))
    page = regulator.get(grades_url).get_data(as_text=True)
    assert "次级" in page and 'data-test="grade-form"' not in page
    borrower = actors.login(app.test_client(), w.owner.user)
    assert borrower.get(grades_url).status_code == 200
    assert borrower.post(grades_url, data={"grade": "loss", "as_of": "2025-06-02"}) \
        .status_code == 403
    other = actors.login(app.test_client(), w.bank2.user)
    assert other.get(grades_url).status_code == 404
    assert other.post(grades_url, data={"grade": "loss", "as_of": "2025-06-02"}) \
        .status_code == 404
    assert len(expect(w.bank.get(f"{API}/loans/{ln['id']}/grades"), 200)["items"]) == 1
