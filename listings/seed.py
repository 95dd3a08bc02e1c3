"""Demo listings (order 30): every mode, several IP kinds, one collateral-disposal
auction from the defaulted loan the lending seeder leaves in ctx.data. Approved
through the services so the auctions package's hooks create the rounds."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_UP, Decimal

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.assets.models import Asset, Valuation
from market import settings_store
from market.demo import DemoContext, add_seeder
from market.timeutil import utcnow

from . import rules, services

D = Decimal

# key, owner key, kind, registry_no, title, classification, abstract, value
DEMO_ASSETS = [
    ("gear", "owner", "invention_patent", "ZL202010456789.1", "一种行星齿轮减速器",
     "F16H 1/28", "A compact planetary gear reducer with helical stages for industrial robots; "
     "low backlash, high torque density.", D("3200000.00")),
    ("gear2", "owner", "utility_model", "ZL202120987654.3", "齿轮箱润滑冷却装置",
     "F16H 57/04", "Gearbox lubrication and cooling device.", D("450000.00")),
    ("brand", "owner", "trademark", "TM-38712345", "精传 JINGCHUAN 商标（第7类）", "Nice 7",
     "Registered word-and-device mark for transmission machinery.", D("800000.00")),
    ("soft", "owner2", "software_copyright", "2022SR0123456", "云图工业视觉检测软件 V3.0",
     "G06T 7/00", "Industrial machine-vision inspection software: defect detection on "
     "production lines.", D("1500000.00")),
    ("ic", "owner2", "ic_layout", "BS.215012345", "低功耗蓝牙射频芯片布图设计", "H01L",
     "IC layout design of a low-power Bluetooth RF transceiver.", D("2600000.00")),
    ("battery", "owner2", "invention_patent", "ZL201910334455.6", "锂电池极片涂布方法",
     "H01M 4/04", "Method for coating lithium battery electrode sheets with uniform "
     "thickness.", D("5200000.00")),
]


def _asset(s: Session, ctx: DemoContext, spec, today: dt.date) -> Asset:
    key, owner, kind, no, title, cls, abstract, value = spec
    existing = s.scalar(select(Asset).where(Asset.registry_no == no, Asset.kind == kind))
    if existing is not None:
        return existing
    a = Asset(kind=kind, registry_no=no, title=title, abstract=abstract,
              owner_org_id=ctx.orgs[owner].id, jurisdiction="CN", classification=cls,
              filed_on=today - dt.timedelta(days=900), granted_on=today - dt.timedelta(days=500),
              expires_on=today + dt.timedelta(days=365 * 12), legal_status="valid",
              created_at=utcnow())
    s.add(a)
    s.flush()
    for months_ago, factor in ((14, D("0.85")), (2, D("1"))):
        on = today - dt.timedelta(days=30 * months_ago)
        s.add(Valuation(asset_id=a.id, amount=(value * factor).quantize(D("0.01")),
                        method="income", agency="中联资产评估集团有限公司", valued_on=on,
                        valid_until=on + dt.timedelta(days=365), created_at=utcnow()))
    s.flush()
    s.refresh(a)
    return a


def _round(amount: Decimal, step: Decimal) -> Decimal:
    return ((amount / step).to_integral_value(rounding=ROUND_UP) * step).quantize(D("0.01"))


def _auction_terms(start_price: Decimal, starts_at: dt.datetime, days: int = 3) -> dict:
    return {"start_price": start_price, "increment": _round(start_price / 100, D("1000")),
            "deposit": _round(start_price / 10, D("100")), "starts_at": starts_at,
            "ends_at": starts_at + dt.timedelta(days=days), "reserve_price": None,
            "allow_proxy": True}  # soft close: the operator's defaults (settings)


def seed_listings(s: Session, ctx: DemoContext) -> None:
    op, owner, owner2 = ctx.users["operator"], ctx.users["owner"], ctx.users["owner2"]
    today = rules.market_date(utcnow())
    now = utcnow().replace(second=0, microsecond=0)
    a = {spec[0]: _asset(s, ctx, spec, today) for spec in DEMO_ASSETS}
    published = []

    # The demo's running auctions were approved a notice period ago (法释〔2016〕18号 art. 12),
    # so they are open now; the gear patent is approved today and waits out its notice.
    announced = utcnow() - dt.timedelta(seconds=settings_store.get(s, "min_notice_seconds"))

    def make(user, data, approve=True, approved_at=announced):
        listing = services.create_listing(s, user, data)
        services.submit(s, user, listing)
        if approve:
            services.approve(s, op, listing, now=approved_at)
            published.append(listing)
        return listing

    loan_id = ctx.data.get("defaulted_loan_id")
    asset_ids = ctx.data.get("defaulted_asset_ids")
    bank = ctx.users.get("bank")
    if loan_id and asset_ids and bank is not None:
        assets = list(s.scalars(select(Asset).where(Asset.id.in_(asset_ids))))
        total = rules.appraisal_total(assets, today)
        if total:
            try:
                make(bank, {
                    "title": "质押专利包处置拍卖：" + "、".join(x.title for x in assets)[:120],
                    "description": "Collateral disposal after loan default (民法典 436): the bank "
                                   "sells the pledged patents as one bundle. Proceeds settle the "
                                   "loan; any surplus goes to the pledgor.",
                    "mode": "auction", "asset_ids": list(asset_ids), "loan_id": loan_id,
                    "auction": _auction_terms(_round(total * D("0.80"), D("10000")), now)})
            except Exception as exc:  # noqa: BLE001 - the demo goes on without it
                ctx.lines.append(f"  (collateral auction not seeded: {exc})")
        else:
            ctx.lines.append("  (collateral auction not seeded: no valid valuation)")

    make(owner, {"title": "行星齿轮减速器发明专利拍卖",
                 "description": "Invention patent for a planetary gear reducer used in "
                                "industrial robots. Sold with the technical drawings.",
                 "mode": "auction", "asset_ids": [a["gear"].id],
                 "auction": _auction_terms(D("2400000.00"), now + dt.timedelta(hours=2), 4)},
         approved_at=utcnow())
    make(owner, {"title": "精传商标挂牌转让", "mode": "transfer",
                 "description": "Listed transfer of the JINGCHUAN class-7 trademark with its "
                                "goodwill; disclosure period 10 working days.",
                 "asset_ids": [a["brand"].id],
                 "transfer": {"list_price": D("880000.00"), "deposit": D("88000.00"),
                              "increment": D("10000.00")}})
    make(owner2, {"title": "工业视觉检测软件著作权许可", "mode": "licensing",
                  "description": "Non-exclusive licence of machine-vision inspection software, "
                                 "mainland China, 3 years; upfront fee plus 3% running royalty.",
                  "asset_ids": [a["soft"].id], "ask_price": D("300000.00"),
                  "licensing": {"kind": "non_exclusive", "territory": "CN", "term_months": 36,
                                "upfront_fee": D("300000.00"), "royalty_rate": D("0.03")}})
    make(owner2, {"title": "蓝牙射频芯片布图设计作价入股", "mode": "equity",
                  "description": "Contribution of the IC layout design into a joint venture "
                                 "at an agreed valuation (作价入股).",
                  "asset_ids": [a["ic"].id], "equity": {"min_valuation": D("2600000.00")}})
    make(owner2, {"title": "锂电池极片涂布专利拍卖",
                  "description": "Invention patent on electrode coating for lithium batteries.",
                  "mode": "auction", "asset_ids": [a["battery"].id],
                  "auction": _auction_terms(D("3800000.00"), now - dt.timedelta(hours=1), 2)})
    # One waiting in the moderation queue, so operators see the workflow.
    make(owner, {"title": "齿轮箱润滑冷却装置实用新型转让", "mode": "transfer",
                 "description": "Utility model for gearbox lubrication and cooling.",
                 "asset_ids": [a["gear2"].id],
                 "transfer": {"list_price": D("420000.00"), "deposit": D("42000.00"),
                              "increment": D("5000.00")}}, approve=False)
    ctx.data["published_listing_ids"] = [x.id for x in published]
    ctx.lines.append(f"  listings: {len(published)} published, 1 waiting for review")


def init_app(app: Flask) -> None:
    add_seeder(app, 30, seed_listings)
