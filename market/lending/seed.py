"""Demo collateral book (order 20): assets of several kinds with valuation histories,
loans of the demo banks to the demo owners — one of them defaulted over a two-patent
bundle with a risk-compensation fund (0.4, capped) and an insurer (0.3) — and the flags.

Leaves ctx.data["defaulted_loan_id"] and ctx.data["defaulted_asset_ids"] for the
listings seeder, which puts that bundle up for auction.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask, current_app
from sqlalchemy.orm import Session

from ..assets import services as assets
from ..demo import DemoContext, add_seeder
from ..timeutil import business_date, utcnow
from . import services
from .models import BankProfile
from .monitoring import refresh_flags

D = Decimal

# key, owner key, kind, registry no, title, classification, abstract, expires in (days),
# next fee due in (days), [(valued days ago, amount, method, agency)]
ASSETS = [
    ("robot_gear", "owner", "invention_patent", "ZL201810234567.8",
     "一种工业机器人用精密行星齿轮减速器", "F16H 1/28",
     "精密行星齿轮减速器：双级斜齿行星传动，回差小于1弧分，适用于六轴工业机器人关节。",
     365 * 12, 120,
     [(420, "4500000.00", "income", "中联资产评估集团有限公司"),
      (60, "4200000.00", "income", "中联资产评估集团有限公司")]),
    ("harmonic", "owner", "invention_patent", "ZL201910876543.2", "谐波减速器柔轮加工方法",
     "B23F 15/00", "谐波减速器柔轮的精密滚齿与热处理工艺，提高柔轮疲劳寿命。", 365 * 13, 200,
     [(420, "3000000.00", "income", "中联资产评估集团有限公司"),
      (60, "2600000.00", "market", "北京中企华资产评估有限责任公司")]),
    ("housing", "owner", "utility_model", "ZL202020345678.9", "一种减速器壳体散热结构",
     "F16H 57/02", "带导流筋的减速器壳体，降低满载温升。", 365 * 7, 20,
     [(100, "600000.00", "cost", "江苏华信资产评估有限公司")]),
    ("mark", "owner", "trademark", "第45678901号", "精传动力 JINGCHUAN 商标（第7类）", "Nice 7",
     "文字及图形组合商标，核定使用商品：减速机、齿轮箱。", 365 * 8, 365 * 8 - 30,
     [(100, "900000.00", "market", "江苏华信资产评估有限公司")]),
    ("wms", "owner2", "software_copyright", "2021SR0987654", "智能仓储调度系统V2.0 软件著作权",
     "G06Q 10/08", "仓储机器人任务调度与路径规划软件。", 365 * 45, None,
     [(400, "2000000.00", "income", "浙江中企华资产评估有限公司"),
      (30, "1800000.00", "income", "浙江中企华资产评估有限公司")]),
    ("slotting", "owner2", "invention_patent", "ZL202110112233.4", "一种基于深度学习的货位分配方法",
     "G06N 3/08", "基于深度强化学习的立体仓库货位动态分配方法。", 365 * 17, 25,
     [(200, "3000000.00", "income", "浙江中企华资产评估有限公司")]),
    ("brand_design", "owner2", "copyright", "国作登字-2022-F-00123456", "云图品牌形象设计（美术作品）",
     None, "品牌标识及视觉识别系统美术作品。", 365 * 50, None,
     [(300, "500000.00", "market", "浙江中企华资产评估有限公司")]),
]


def seed_collateral(s: Session, ctx: DemoContext) -> None:
    today = business_date(utcnow(), current_app.config["MARKET_TIMEZONE"])
    bank, bank2 = ctx.users["bank"], ctx.users.get("bank2")
    ago = lambda n: today - dt.timedelta(days=n)  # noqa: E731
    ahead = lambda n: today + dt.timedelta(days=n)  # noqa: E731

    a = {}
    for key, owner, kind, no, title, cls, abstract, life, fee_in, vals in ASSETS:
        asset = assets.create_asset(
            s, kind=kind, registry_no=no, title=title, owner_org_id=ctx.orgs[owner].id,
            expires_on=ahead(life), classification=cls, abstract=abstract,
            filed_on=ago(365 * 3), granted_on=ago(365 * 2),
            next_fee_due_on=ahead(fee_in) if fee_in is not None else None, actor_id=bank.id)
        for days, amount, method, agency in vals:
            assets.add_valuation(s, asset.id, amount=D(amount), valued_on=ago(days),
                                 method=method, agency=agency, actor_id=bank.id)
        a[key] = asset

    s.add(BankProfile(org_id=ctx.orgs["bank"].id, overall_npl_ratio=D("0.0135"),
                      ltv_threshold=D("0.70"), updated_at=utcnow()))

    shares = [services.ShareInput(ctx.orgs["fund"].id, D("0.4"), D("1500000.00")),
              services.ShareInput(ctx.orgs["insurer"].id, D("0.3"), None)]
    bad = services.create_loan(
        s, bank_org_id=bank.org_id, borrower_org_id=ctx.orgs["owner"].id,
        principal=D("5000000.00"), annual_rate=D("0.0435"), penalty_rate=D("0.06525"),
        disbursed_on=ago(400), maturity_on=ahead(330),
        asset_ids=[a["robot_gear"].id, a["harmonic"].id],
        registration_no=f"Y{ago(402).year}320500{1001:06d}", registered_on=ago(402),
        risk_shares=shares, reference="HX-KC-2025-0117", actor_id=bank.id)
    services.add_repayment(s, bad.id, amount=D("200000.00"), paid_on=ago(220),
                           actor_id=bank.id)
    services.declare_default(s, bad.id, declared_on=ago(40), actor_id=bank.id)
    services.add_cost(s, bad.id, amount=D("35000.00"), incurred_on=ago(30),
                      description="律师费（实现债权）", actor_id=bank.id)
    services.add_cost(s, bad.id, amount=D("12000.00"), incurred_on=ago(25),
                      description="质物评估费", actor_id=bank.id)

    good = services.create_loan(
        s, bank_org_id=bank.org_id, borrower_org_id=ctx.orgs["owner"].id,
        principal=D("1000000.00"), annual_rate=D("0.0395"), penalty_rate=D("0.05925"),
        disbursed_on=ago(120), maturity_on=ahead(245),
        asset_ids=[a["housing"].id, a["mark"].id],
        registration_no=f"Y{ago(121).year}320500{1002:06d}", registered_on=ago(121),
        reference="HX-KC-2025-0342", actor_id=bank.id)
    services.add_repayment(s, good.id, amount=D("9875.00"), paid_on=ago(30), actor_id=bank.id)

    overdue = services.create_loan(
        s, bank_org_id=bank.org_id, borrower_org_id=ctx.orgs["owner2"].id,
        principal=D("1000000.00"), annual_rate=D("0.0450"), penalty_rate=D("0.0675"),
        disbursed_on=ago(380), maturity_on=ago(15), asset_ids=[a["wms"].id],
        registration_no=f"Y{ago(381).year}330100{1003:06d}", registered_on=ago(381),
        risk_shares=[services.ShareInput(ctx.orgs["guarantor"].id, D("0.5"), D("400000.00"))],
        reference="HX-KC-2024-0981", actor_id=bank.id)

    loans = [bad, good, overdue]
    if bank2 is not None:
        loans.append(services.create_loan(
            s, bank_org_id=bank2.org_id, borrower_org_id=ctx.orgs["owner2"].id,
            principal=D("300000.00"), annual_rate=D("0.0420"), penalty_rate=D("0.0630"),
            disbursed_on=ago(90), maturity_on=ahead(275), asset_ids=[a["brand_design"].id],
            registration_no=f"Y{ago(91).year}330100{1004:06d}", registered_on=ago(91),
            reference="JN-2025-IP-007", actor_id=bank2.id))
    for loan in loans:
        refresh_flags(s, loan, today)

    ctx.data["defaulted_loan_id"] = bad.id
    ctx.data["defaulted_asset_ids"] = [a["robot_gear"].id, a["harmonic"].id]
    ctx.data["loan_ids"] = [ln.id for ln in loans]
    ctx.data["collateral_asset_ids"] = {k: v.id for k, v in a.items()}
    ctx.lines.append(f"  loans: {len(loans)} (defaulted #{bad.id} over a two-patent bundle)")


def init_app(app: Flask) -> None:
    add_seeder(app, 20, seed_collateral)
