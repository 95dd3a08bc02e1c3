"""The NPL position and the quarterly report against figures computed by hand (API.md
"Oversight and reports"): two banks across 2025-Q3 and 2025-Q4, plus a bank with no loans.

Bank A (overall NPL ratio 1.50% in Q3, 3.00% in Q4):
  A1 1,000,000.00  disbursed 2025-07-10, first loan; graded special_mention from 2025-08-15,
                   graded down to substandard mid-quarter on 2025-11-15.
  A2 2,000,000.00  matured 2025-06-22, never paid, never graded: 100 days overdue on
                   2025-09-30 (substandard by arrears), 192 on 2025-12-31.
  A3   500,000.00  disbursed 2025-02-01 at 4.35%, repaid in full on 2025-10-20: 261 days of
                   interest = 500,000 × 0.0435 × 261 / 360 = 15,768.75.
  A4   800,000.00  matured 2025-01-15, default declared 2025-08-20, collateral sold for
                   600,000.00 (1% commission → 594,000.00 applied) and settled on 2025-11-10:
                   82 days from default to settlement.
  A5 50,000,000.00 performing, normal.
  Q3 (2025-09-30): outstanding A1..A5 = 54,300,000.00; NPL A2 + A4 = 2,800,000.00;
      ratio 2.8M / 54.3M = 0.051565… → 0.0516; gap (0.0516 − 0.0150) × 100 = 3.66 > 3.
  Q4 (2025-12-31): A3 repaid, A4 settled: outstanding A1, A2, A5 = 53,000,000.00; NPL A1 + A2
      = 3,000,000.00; ratio 0.056603… → 0.0566; gap (0.0566 − 0.0300) × 100 = 2.66 ≤ 3.
Bank B (no overall ratio): B1 3,000,000.00 graded doubtful from 2025-12-01; B2 1,000,000.00
  disbursed 2025-08-01, first loan. Q3 ratio 0.0000, Q4 3M / 4M = 0.7500; gap and
  within_tolerance null (no overall ratio).
Bank C: no loans, an overall ratio: principal 0.00 and every ratio null.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from market import settings_store
from market.accounts.models import Org, User
from market.db import database
from market.notifications import Notification
from market.oversight import npl, reports
from market.oversight.models import IpPledgeReport, NplToleranceFlag
from market.settlement import services as settlement
from market.timeutil import utcnow
from tests.contract_helpers import API, World, expect
from tests.settlement_helpers import listing

D = Decimal
NPL_FIELDS = {"org_id", "ip_loans_principal", "ip_npl_principal", "ip_npl_ratio",
              "overall_npl_ratio", "gap_pp", "within_tolerance"}
REPORT_FIELDS = {"org_id", "period", "new_loans", "new_principal", "first_loans",
                 "outstanding_loans", "outstanding_principal", "defaults", "sales_settled",
                 "sale_proceeds", "recoveries", "median_days_default_to_settlement"}


class Fixture:
    def __init__(self, app, actors, db):
        self.app, self.db = app, db
        w = self.world = World(app, actors)
        self.a, self.b = w.bank, w.bank2
        self.c = actors.api("bank")
        self.regulator = actors.api("regulator", org_kind="regulator")
        self.operator = w.operator
        self.loans = {}
        self.loans["A1"] = self._loan(self.a, "1000000.00", "2025-07-10", "2027-07-10",
                                      first_loan=True)
        self.loans["A2"] = self._loan(self.a, "2000000.00", "2024-06-22", "2025-06-22")
        self.loans["A3"] = self._loan(self.a, "500000.00", "2025-02-01", "2026-02-01")
        self.loans["A4"] = self._loan(self.a, "800000.00", "2024-01-15", "2025-01-15")
        self.loans["A5"] = self._loan(self.a, "50000000.00", "2025-01-01", "2027-01-01")
        self.loans["B1"] = self._loan(self.b, "3000000.00", "2025-03-01", "2027-03-01")
        self.loans["B2"] = self._loan(self.b, "1000000.00", "2025-08-01", "2027-08-01",
                                      first_loan=True)
        self.grade(self.a, "A1", "special_mention", "2025-08-15")
        self.grade(self.a, "A1", "substandard", "2025-11-15")
        self.grade(self.b, "B1", "doubtful", "2025-12-01")
        claim = w.claim(self.loans["A3"], "2025-10-20", who=self.a)
        assert claim["total"] == "515768.75", claim  # by hand, above
        expect(self.a.post(f"{API}/loans/{self.loans['A3']}/repayments",
                           json={"amount": "515768.75", "paid_on": "2025-10-20"}), 201)
        w.default(self.loans["A4"], "2025-08-20", bank=self.a)
        self._settle_a4()
        for bank, period, ratio in ((self.a, "2025-Q3", "0.0150"), (self.a, "2025-Q4", "0.0300"),
                                    (self.c, "2025-Q4", "0.0100")):
            got = expect(bank.put(f"{API}/banks/{bank.user['org_id']}/overall-npl",
                                  json={"period": period, "ratio": ratio}), 200)
            assert got == {"org_id": bank.user["org_id"], "period": period, "ratio": ratio}

    def _loan(self, bank, principal, disbursed, maturity, first_loan=None) -> int:
        asset = self.world.asset()
        body = self.world.loan_body([asset["id"]], principal=principal, disbursed_on=disbursed,
                                    maturity_on=maturity)
        if first_loan is not None:
            body["first_loan"] = first_loan
        loan = expect(bank.post(f"{API}/loans", json=body), 201)
        assert loan["first_loan"] is bool(first_loan)
        return loan["id"]

    def grade(self, bank, key, grade, as_of):
        got = expect(bank.post(f"{API}/loans/{self.loans[key]}/grades",
                               json={"grade": grade, "as_of": as_of}), 201)
        assert got["grade"] == grade and got["as_of"] == as_of and got["loan_id"] == \
            self.loans[key]

    def _settle_a4(self):
        buyer_id = self.world.investor.user["id"]
        s = self.db
        bank = s.get(Org, self.a.user["org_id"])
        lid = listing(s, bank, s.get(User, self.a.user["id"]), self.loans["A4"])
        st = settlement.open_sale(
            s, listing_id=lid, sale_ref="test:a4", loan_id=self.loans["A4"],
            seller_org_id=bank.id, pledgor_org_id=self.world.borrower_id,
            buyer_user_id=buyer_id, price=D("600000.00"),
            deposit_applied=D("0"), disposal_costs=D("0"), as_of=dt.date(2025, 11, 10),
            balance_due_by=utcnow() + dt.timedelta(days=10))
        assert settlement.settle(s, st.id, paid_at=utcnow())
        s.commit()

    def npl(self, who, period):
        data = expect(who.get(f"{API}/oversight/npl?period={period}"), 200)
        for item in data["items"]:
            assert set(item) == NPL_FIELDS, item
        return {i["org_id"]: i for i in data["items"]}

    def report(self, who, period):
        data = expect(who.get(f"{API}/reports/ip-pledge?period={period}"), 200)
        for item in data["items"]:
            assert set(item) == REPORT_FIELDS, item
        return {i["org_id"]: i for i in data["items"]}


@pytest.fixture
def fx(app, actors, db):
    return Fixture(app, actors, db)


def test_npl_positions_match_the_hand_computed_figures(fx):
    a, b, c = (x.user["org_id"] for x in (fx.a, fx.b, fx.c))
    q3 = fx.npl(fx.regulator, "2025-Q3")
    assert q3[a] == {"org_id": a, "ip_loans_principal": "54300000.00",
                     "ip_npl_principal": "2800000.00", "ip_npl_ratio": "0.0516",
                     "overall_npl_ratio": "0.0150", "gap_pp": "3.66",
                     "within_tolerance": False}
    assert q3[b] == {"org_id": b, "ip_loans_principal": "4000000.00",
                     "ip_npl_principal": "0.00", "ip_npl_ratio": "0.0000",
                     "overall_npl_ratio": None, "gap_pp": None, "within_tolerance": None}
    assert q3[c] == {"org_id": c, "ip_loans_principal": "0.00", "ip_npl_principal": "0.00",
                     "ip_npl_ratio": None, "overall_npl_ratio": None, "gap_pp": None,
                     "within_tolerance": None}
    q4 = fx.npl(fx.operator, "2025-Q4")
    assert q4[a] == {"org_id": a, "ip_loans_principal": "53000000.00",
                     "ip_npl_principal": "3000000.00", "ip_npl_ratio": "0.0566",
                     "overall_npl_ratio": "0.0300", "gap_pp": "2.66",
                     "within_tolerance": True}
    assert q4[b]["ip_npl_ratio"] == "0.7500" and q4[b]["ip_npl_principal"] == "3000000.00"
    assert q4[b]["gap_pp"] is None and q4[b]["within_tolerance"] is None
    assert q4[c]["overall_npl_ratio"] == "0.0100" and q4[c]["ip_npl_ratio"] is None
    assert q4[c]["gap_pp"] is None
    # A bank sees itself only.
    assert list(fx.npl(fx.a, "2025-Q3")) == [a]
    assert list(fx.npl(fx.b, "2025-Q4")) == [b]


def test_each_loan_grade_on_the_quarter_ends(fx):
    """Recorded grade, arrears floor (100 days: substandard) and the default floor."""
    def grade(key, day):
        return expect(fx.a.get(f"{API}/loans/{fx.loans[key]}/grade?as_of={day}"), 200)

    g = grade("A1", "2025-09-30")
    assert (g["grade"], g["recorded_grade"], g["days_overdue"]) == ("special_mention",
                                                                     "special_mention", 0)
    assert grade("A1", "2025-11-14")["grade"] == "special_mention"
    assert grade("A1", "2025-11-15")["grade"] == "substandard"
    g = grade("A2", "2025-09-30")
    assert g == {"loan_id": fx.loans["A2"], "as_of": "2025-09-30", "grade": "substandard",
                 "recorded_grade": None, "arrears_floor": "substandard", "days_overdue": 100,
                 "defaulted": False}
    assert grade("A2", "2025-09-20")["grade"] == "normal"  # 90 days: not more than 90
    assert grade("A4", "2025-08-19")["days_overdue"] == 216
    assert grade("A4", "2025-09-30")["defaulted"] is True
    assert grade("A3", "2025-10-20")["grade"] == "normal"
    history = expect(fx.a.get(f"{API}/loans/{fx.loans['A1']}/grades"), 200)
    assert [h["grade"] for h in history["items"]] == ["special_mention", "substandard"]
    assert history["total"] == 2


def test_report_figures_match_the_fixture(fx, app):
    a, b = fx.a.user["org_id"], fx.b.user["org_id"]
    q3 = fx.report(fx.regulator, "2025-Q3")
    assert q3[a] == {"org_id": a, "period": "2025-Q3", "new_loans": 1,
                     "new_principal": "1000000.00", "first_loans": 1, "outstanding_loans": 5,
                     "outstanding_principal": "54300000.00", "defaults": 1,
                     "sales_settled": 0, "sale_proceeds": "0.00", "recoveries": "0.00",
                     "median_days_default_to_settlement": None}
    assert q3[b] == {"org_id": b, "period": "2025-Q3", "new_loans": 1,
                     "new_principal": "1000000.00", "first_loans": 1, "outstanding_loans": 2,
                     "outstanding_principal": "4000000.00", "defaults": 0,
                     "sales_settled": 0, "sale_proceeds": "0.00", "recoveries": "0.00",
                     "median_days_default_to_settlement": None}
    q4 = fx.report(fx.operator, "2025-Q4")
    assert q4[a] == {"org_id": a, "period": "2025-Q4", "new_loans": 0,
                     "new_principal": "0.00", "first_loans": 0, "outstanding_loans": 3,
                     "outstanding_principal": "53000000.00", "defaults": 0,
                     "sales_settled": 1, "sale_proceeds": "600000.00",
                     "recoveries": "1109768.75",  # 515,768.75 repaid + 594,000.00 applied
                     "median_days_default_to_settlement": 82}
    assert list(fx.report(fx.b, "2025-Q4")) == [b]


def test_a_past_quarter_is_the_report_kept_once(fx, app):
    """The scheduler keeps each ended quarter's report once (twice running changes
    nothing); what is recorded later does not change what was reported."""
    db = database(app)
    banks = 3
    with app.app_context():
        assert reports.run_quarter_close(db, dt.date(2025, 10, 5)) == banks
        assert reports.run_quarter_close(db, dt.date(2025, 10, 6)) == 0
    fx.db.rollback()
    assert fx.db.scalar(select(func.count()).select_from(IpPledgeReport)) == banks
    # A repayment recorded late, dated inside the reported quarter.
    expect(fx.a.post(f"{API}/loans/{fx.loans['A5']}/repayments",
                     json={"amount": "1000.00", "paid_on": "2025-09-15"}), 201)
    a = fx.a.user["org_id"]
    assert fx.report(fx.a, "2025-Q3")[a]["recoveries"] == "0.00"
    # Asked for before the scheduler kept it, a past quarter is kept on first asking.
    first = fx.report(fx.regulator, "2025-Q2")
    fx.db.rollback()
    assert fx.db.scalar(select(func.count()).select_from(IpPledgeReport)
                        .where(IpPledgeReport.period == "2025-Q2")) == banks
    assert fx.report(fx.regulator, "2025-Q2") == first


def test_report_csv_and_xlsx_read_back(fx):
    a = str(fx.a.user["org_id"])
    resp = fx.operator.get(f"{API}/reports/ip-pledge?period=2025-Q4&format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert 'filename="ip-pledge-2025-Q4.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert set(rows[0]) == REPORT_FIELDS
    row = next(r for r in rows if r["org_id"] == a)
    assert row["recoveries"] == "1109768.75" and row["sale_proceeds"] == "600000.00"
    assert row["median_days_default_to_settlement"] == "82" and row["sales_settled"] == "1"

    resp = fx.regulator.get(f"{API}/reports/ip-pledge?period=2025-Q4&format=xlsx")
    assert resp.status_code == 200 and "spreadsheetml" in resp.mimetype
    sheet = load_workbook(io.BytesIO(resp.data)).active
    values = list(sheet.iter_rows(values_only=True))
    header, body = values[0], values[1:]
    assert set(header) == REPORT_FIELDS and len(body) == 3
    row = dict(zip(header, next(r for r in body if str(r[0]) == a)))
    assert row["period"] == "2025-Q4" and row["outstanding_loans"] == 3
    assert D(str(row["outstanding_principal"])) == D("53000000.00")
    assert D(str(row["recoveries"])) == D("1109768.75")
    assert row["median_days_default_to_settlement"] == 82
    # A bank's file holds its own row only.
    resp = fx.b.get(f"{API}/reports/ip-pledge?period=2025-Q4&format=csv")
    assert [r["org_id"] for r in csv.DictReader(io.StringIO(resp.get_data(as_text=True)))] \
        == [str(fx.b.user["org_id"])]


def test_tolerance_flag_is_raised_once_notified_and_cleared(fx, app):
    db = database(app)
    a = fx.a.user["org_id"]
    with app.app_context():
        assert npl.run_tolerance_check(db, dt.date(2025, 9, 30)) == 1
        assert npl.run_tolerance_check(db, dt.date(2025, 9, 30)) == 0
    fx.db.rollback()
    flags = list(fx.db.scalars(select(NplToleranceFlag)))
    assert [(f.org_id, f.period, f.gap_pp, f.cleared_at) for f in flags] == [
        (a, "2025-Q3", D("3.66"), None)]
    told = {n.user_id: n for n in fx.db.scalars(
        select(Notification).where(Notification.kind == "oversight.npl_tolerance"))}
    assert set(told) == {fx.a.user["id"], fx.operator.user["id"]}  # not bank B nor C
    # In the reader's language: Chinese unless they chose English.
    assert told[fx.operator.user["id"]].subject == "知识产权质押贷款不良率高出整体不良率 3.66 个百分点"
    assert told[fx.operator.user["id"]].link == "/oversight/npl"
    with app.app_context():
        # 2026-Q1 has no overall ratio yet: not computable, the flag stays.
        assert npl.run_tolerance_check(db, dt.date(2026, 1, 5)) == 0
        assert npl.run_tolerance_check(db, dt.date(2025, 12, 31)) == 1
    fx.db.rollback()
    assert fx.db.scalar(select(NplToleranceFlag.cleared_at)) is not None


def test_the_tolerance_is_an_operator_setting(fx, app):
    a = fx.a.user["org_id"]
    assert fx.npl(fx.a, "2025-Q3")[a]["within_tolerance"] is False
    with app.app_context(), database(app).transaction() as s:
        settings_store.put(s, "npl_tolerance_pp", "4", actor_id=fx.operator.user["id"])
    assert fx.npl(fx.a, "2025-Q3")[a]["within_tolerance"] is True


def test_several_schedulers_keep_each_report_and_raise_each_flag_once(fx, app):
    """Four schedulers at once: one report per bank and quarter, one open flag, one set of
    notifications (the unique keys decide; the losers skip)."""
    db = database(app)
    start = threading.Barrier(4)
    made, raised, errors = [], [], []

    def scheduler():
        try:
            with app.app_context():
                start.wait()
                made.append(reports.run_quarter_close(db, dt.date(2025, 10, 5)))
                raised.append(npl.run_tolerance_check(db, dt.date(2025, 9, 30)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sum(made) == 3 and sum(raised) == 1, (made, raised)
    fx.db.rollback()
    assert fx.db.scalar(select(func.count()).select_from(IpPledgeReport)) == 3
    assert fx.db.scalar(select(func.count()).select_from(NplToleranceFlag)) == 1
    assert fx.db.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "oversight.npl_tolerance")) == 2
