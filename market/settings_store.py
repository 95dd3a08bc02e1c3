"""Rule thresholds an operator may change; env/DOMAIN.md defaults until one is saved.

Each setting names its legal source so the settings page can show it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from flask import current_app, has_app_context
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import audit
from .db import Base, UTCDateTime
from .errors import Invalid
from .timeutil import utcnow


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


@dataclass(frozen=True)
class SettingSpec:
    key: str
    kind: Callable[[str], object]
    default: str  # used when neither the database nor the environment says otherwise
    source: str  # the rule it comes from, shown on the settings page
    label: str
    config_key: str | None = None  # an app config (env) value that overrides the default
    # On the settings page. A setting whose feature is not built yet is kept but not shown:
    # the page shows only settings that change behaviour.
    shown: bool = True


SPECS: dict[str, SettingSpec] = {
    s.key: s
    for s in [
        SettingSpec("min_auction_seconds", int, "86400", "法释〔2016〕18号 (≥24h)",
                    "Minimum auction duration (seconds)", "MARKET_MIN_AUCTION_SECONDS"),
        SettingSpec("start_price_floor_ratio", Decimal, "0.70", "法释〔2016〕18号",
                    "Starting price floor, share of appraisal"),
        SettingSpec("deposit_min_ratio", Decimal, "0.05", "法释〔2016〕18号",
                    "Deposit minimum, share of starting price"),
        SettingSpec("deposit_max_ratio", Decimal, "0.20", "法释〔2016〕18号",
                    "Deposit maximum, share of starting price"),
        SettingSpec("default_extension_window_s", int, "300", "法释〔2016〕18号",
                    "Soft-close window (seconds)"),
        SettingSpec("default_extension_s", int, "300", "法释〔2016〕18号",
                    "Soft-close extension (seconds)"),
        SettingSpec("reauction_max_cut", Decimal, "0.20", "法释〔2016〕18号",
                    "Re-auction: maximum starting-price cut"),
        # The next round's start follows reauction_notice_seconds; this upper bound is
        # not enforced yet, so it is not shown.
        SettingSpec("reauction_within_days", int, "30", "法释〔2016〕18号",
                    "Re-auction within (days)", shown=False),
        SettingSpec("min_notice_seconds", int, "2592000", "法释〔2016〕18号 art. 12; 拍卖法 45 (≥7 days)",
                    "Announce an auction at least (seconds) before it starts",
                    "MARKET_MIN_NOTICE_SECONDS"),
        SettingSpec("reauction_notice_seconds", int, "1296000", "法释〔2016〕18号 art. 26",
                    "Announce a re-auction at least (seconds) before it starts",
                    "MARKET_REAUCTION_NOTICE_SECONDS"),
        SettingSpec("fixed_price_days", int, "60", "法释〔2016〕18号",
                    "Fixed-price sale (变卖) period (days)"),
        SettingSpec("fixed_price_countdown_s", int, "86400", "法释〔2016〕18号",
                    "Fixed-price sale countdown after first bid (seconds)"),
        SettingSpec("deposit_release_hours", int, "24", "法释〔2016〕18号",
                    "Release losers' deposits within (hours)"),
        SettingSpec("balance_due_days", int, "10", "Exchange rule",
                    "Winner's balance due within (days)"),
        # Where investors send money by bank transfer (deposits, balances); empty until the
        # operator enters it, and then every page that asks for a transfer names it.
        SettingSpec("receiving_account_name", str, "", "Exchange rule",
                    "Receiving account: beneficiary name", "MARKET_RECEIVING_ACCOUNT_NAME"),
        SettingSpec("receiving_account_bank", str, "", "Exchange rule",
                    "Receiving account: bank", "MARKET_RECEIVING_ACCOUNT_BANK"),
        SettingSpec("receiving_account_number", str, "", "Exchange rule",
                    "Receiving account: account number", "MARKET_RECEIVING_ACCOUNT_NUMBER"),
        SettingSpec("licence_payment_days", int, "10", "Exchange rule",
                    "Licence fee due within (days) of acceptance"),
        SettingSpec("valuation_validity_days", int, "365", "评估报告有效期 (1 year)",
                    "Valuation validity (days)"),
        SettingSpec("seller_commission_rate", Decimal, "0.01", "拍卖法 56 (≤5%)",
                    "Seller commission rate", "MARKET_SELLER_COMMISSION_RATE"),
        SettingSpec("buyer_premium_rate", Decimal, "0", "拍卖法 56 (≤5%)",
                    "Buyer premium rate", "MARKET_BUYER_PREMIUM_RATE"),
        SettingSpec("ltv_threshold", Decimal, "0.70", "民法典 433",
                    "Loan-to-value threshold for flags"),
        SettingSpec("annuity_warning_days", int, "60", "专利法 (annuity)",
                    "Warn of annuity/renewal due within (days)"),
        SettingSpec("transfer_disclosure_days", int, "10", "企业国有资产交易监督管理办法",
                    "Listed transfer: disclosure working days"),
        SettingSpec("transfer_disclosure_days_large", int, "20", "企业国有资产交易监督管理办法",
                    "Listed transfer: disclosure working days above ¥10M"),
        SettingSpec("agreed_valuation_disposal_years", int, "2", "财金〔2005〕53号",
                    "Agreed valuation: dispose within (years)"),
        SettingSpec("npl_tolerance_pp", Decimal, "3", "银保监发〔2019〕34号",
                    "IP-pledge NPL tolerance (percentage points)", shown=False),
    ]
}

WEEK_S = 7 * 86400
_DEPOSIT = (Decimal("0.05"), Decimal("0.20"),
            "保证金为起拍价的5%–20%（法释〔2016〕18号 第十七条）",
            "a deposit is 5%–20% (0.05–0.20) of the start price (法释〔2016〕18号 art. 17)")
_COMMISSION = (None, Decimal("0.05"), "佣金不超过成交价的5%（拍卖法 第五十六条）",
               "a commission is at most 0.05 (5%) of the price (拍卖法 56)")
_NOTICE = (WEEK_S, None, "拍卖公告至少提前7日（拍卖法 第四十五条）",
           "an auction is announced at least 7 days (604800 seconds) before it starts "
           "(拍卖法 45)")
# What the law or the exchange's rules allow an operator to save: (min, max, 中文, English).
BOUNDS: dict[str, tuple] = {
    "deposit_min_ratio": _DEPOSIT,
    "deposit_max_ratio": _DEPOSIT,
    "reauction_max_cut": (None, Decimal("0.20"),
                          "再次拍卖起拍价降价幅度不超过20%（法释〔2016〕18号 第二十六条）",
                          "a re-auction's start price is cut by at most 0.20 (20%) "
                          "(法释〔2016〕18号 art. 26)"),
    "min_notice_seconds": _NOTICE,
    "reauction_notice_seconds": _NOTICE,
    "seller_commission_rate": _COMMISSION,
    "buyer_premium_rate": _COMMISSION,
}


def check_bounds(key: str, value) -> None:
    """422 setting_out_of_bounds, in Chinese and English with the source, for a value the
    law or the exchange's rules do not allow."""
    if key not in BOUNDS:
        return
    lo, hi, zh, en = BOUNDS[key]
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise Invalid("setting_out_of_bounds", f"{zh} / {en[0].upper()}{en[1:]}.")


def shown() -> dict[str, SettingSpec]:
    """The settings the settings page shows and saves."""
    return {k: spec for k, spec in SPECS.items() if spec.shown}


def default_value(key: str) -> str:
    spec = SPECS[key]
    if spec.config_key and has_app_context():
        configured = current_app.config.get(spec.config_key)
        if configured is not None:
            return str(configured)
    return spec.default


def receiving_account(session: Session) -> dict[str, str] | None:
    """The exchange's account for bank transfers, or None while any part is unset."""
    account = {part: str(get(session, f"receiving_account_{part}")).strip()
               for part in ("name", "bank", "number")}
    return account if all(account.values()) else None


def get(session: Session, key: str):
    spec = SPECS[key]
    row = session.get(Setting, key)
    return spec.kind(row.value if row is not None else default_value(key))


def all_values(session: Session) -> dict[str, object]:
    saved = {r.key: r.value for r in session.scalars(select(Setting))}
    return {k: s.kind(saved.get(k, default_value(k))) for k, s in SPECS.items()}


def put(session: Session, key: str, raw: str, *, actor_id: int | None) -> object:
    spec = SPECS.get(key)
    if spec is None:
        raise Invalid("unknown_setting", f"unknown setting {key}")
    try:
        value = spec.kind(str(raw).strip())
    except Exception as exc:  # noqa: BLE001 - any parse failure is bad input
        raise Invalid("invalid_setting", f"{key}: not a valid value") from exc
    if isinstance(value, Decimal) and (not value.is_finite() or value < 0):
        raise Invalid("invalid_setting", f"{key}: must be a non-negative number")
    if isinstance(value, int) and value < 0:
        raise Invalid("invalid_setting", f"{key}: must not be negative")
    check_bounds(key, value)
    row = session.get(Setting, key)
    before = row.value if row else default_value(key)
    if row is None:
        row = Setting(key=key, value=str(value), updated_at=utcnow(), updated_by=actor_id)
        session.add(row)
    else:
        row.value, row.updated_at, row.updated_by = str(value), utcnow(), actor_id
    audit.record(session, "setting.update", "setting", None, actor_id=actor_id,
                 before={key: before}, after={key: str(value)})
    return value
