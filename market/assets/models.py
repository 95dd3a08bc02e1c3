"""IP assets, co-owners, appraisal agencies and valuations."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, Money, UTCDateTime

ASSET_KINDS = (
    "invention_patent", "utility_model", "design_patent", "trademark", "copyright",
    "software_copyright", "ic_layout", "geographical_indication", "plant_variety",
    "license_revenue_right",
    # Shares a company issued for contributed IP (作价入股), pledged as replacement
    # collateral (民法典 443); made by the exchange on acceptance, not an IP right.
    "equity_interest",
)
# Kinds with no term of protection: their expires_on is empty.
NO_EXPIRY_KINDS = ("equity_interest",)
LEGAL_STATUSES = ("valid", "lapsed", "invalid", "expired")
VALUATION_METHODS = ("income", "market", "cost")
# A valuation counts once applied; an owner's valuation of a pledged asset is proposed
# until the pledgee or an operator applies it (API.md "Assets").
VALUATION_STATUSES = ("proposed", "applied")


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("kind", "jurisdiction", "registry_no",
                                       name="uq_assets_identity"),
                      CheckConstraint("expires_on IS NOT NULL OR kind = 'equity_interest'",
                                      name="expires_on_required"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    registry_no: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300))
    abstract: Mapped[str | None] = mapped_column(Text)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(8), default="CN")
    classification: Mapped[str | None] = mapped_column(String(120))  # IPC / Nice / Locarno
    filed_on: Mapped[dt.date | None] = mapped_column(Date)
    granted_on: Mapped[dt.date | None] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)  # None: NO_EXPIRY_KINDS only
    legal_status: Mapped[str] = mapped_column(String(16), default="valid")
    next_fee_due_on: Mapped[dt.date | None] = mapped_column(Date)  # annuity / renewal
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    co_owners: Mapped[list["AssetCoOwner"]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", lazy="selectin")
    # Only the valuations that count (applied): the floor, LTV, value and the listing pages
    # read this, so an owner's proposal for a pledged asset can move none of them.
    # services.valuations_of() lists proposals too.
    valuations: Mapped[list["Valuation"]] = relationship(
        primaryjoin="and_(Asset.id == Valuation.asset_id, Valuation.status == 'applied')",
        order_by="Valuation.valued_on", lazy="selectin", viewonly=True)

    def in_force(self, on: dt.date) -> bool:
        return self.legal_status == "valid" and (self.expires_on is None
                                                 or self.expires_on > on)


class AssetCoOwner(Base):
    __tablename__ = "asset_co_owners"
    __table_args__ = (UniqueConstraint("asset_id", "org_id", name="uq_asset_co_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # pledge consent
    consent_ref: Mapped[str | None] = mapped_column(String(120))

    asset: Mapped[Asset] = relationship(back_populates="co_owners")


class AppraisalAgency(Base):
    __tablename__ = "appraisal_agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    license_no: Mapped[str | None] = mapped_column(String(64))


class Valuation(Base):
    __tablename__ = "valuations"
    __table_args__ = (Index("ix_valuations_asset_date", "asset_id", "valued_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    method: Mapped[str] = mapped_column(String(8))
    agency: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("appraisal_agencies.id"))
    valued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="applied", server_default="applied")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    asset: Mapped[Asset] = relationship()
