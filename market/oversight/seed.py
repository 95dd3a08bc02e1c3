"""Demo: a regulator to sign in as, the bank's overall NPL ratio for its last 8 quarters,
and a grade on the demo's defaulted loan (so the NPL panel and table have something to show)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask, current_app
from sqlalchemy.orm import Session

from ..accounts import services as accounts
from ..demo import DEMO_PASSWORD, DemoContext, add_seeder
from ..lending.services import get_loan
from ..timeutil import business_date, utcnow
from . import grades, npl
from .periods import last_quarters

# 华夏科创银行's overall NPL ratio, oldest quarter first.
OVERALL = ("0.0142", "0.0139", "0.0141", "0.0137", "0.0136", "0.0138", "0.0135", "0.0135")


def seed_oversight(s: Session, ctx: DemoContext) -> None:
    today = business_date(utcnow(), current_app.config["MARKET_TIMEZONE"])
    org = accounts.get_or_create_org(s, "国家金融监督管理总局苏州监管分局",
                                     "regulator", "NFRA Suzhou Branch")
    email = "regulator@ipx.example"
    ctx.users["regulator"] = accounts.create_user(s, email, DEMO_PASSWORD, "regulator", org,
                                                  "吴监管 Wu (regulator)")
    ctx.lines.append(f"  {'regulator':<9} {email:<26} {DEMO_PASSWORD}   ({org.name})")
    bank = ctx.orgs["bank"]
    for quarter, ratio in zip(last_quarters(today, len(OVERALL)), OVERALL):
        npl.set_overall_ratio(s, bank.id, quarter, Decimal(ratio),
                              actor_id=ctx.users["bank"].id)
    loan_id = ctx.data.get("defaulted_loan_id")
    if loan_id is not None:
        loan = get_loan(s, loan_id)
        as_of = max(loan.disbursed_on, today - dt.timedelta(days=90))
        grades.record_grade(s, loan, grade="special_mention", as_of=as_of, today=today,
                            actor_id=ctx.users["bank"].id)


def init_app(app: Flask) -> None:
    add_seeder(app, 25, seed_oversight)
