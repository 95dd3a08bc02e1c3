"""Asset services: registering IP assets, their co-owners and valuations.

Services take a session and plain values, never commit, and audit what they change.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Iterable

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit, settings_store
from ..accounts.models import Org, User
from ..errors import Conflict, Invalid, NotFound
from ..inputs import MAX_ID
from ..notifications import notify
from ..timeutil import business_date, utcnow
from . import access
from .models import (ASSET_KINDS, LEGAL_STATUSES, VALUATION_METHODS, VALUATION_STATUSES, Asset,
                     AssetCoOwner, Valuation)




def get_row(session: Session, model, row_id: int):
    """session.get that answers None for ids no INTEGER key can hold."""
    if not isinstance(row_id, int) or not 0 < row_id <= MAX_ID:
        return None
    return session.get(model, row_id)


def _snapshot(asset: Asset) -> dict:
    return {"kind": asset.kind, "registry_no": asset.registry_no, "title": asset.title,
            "owner_org_id": asset.owner_org_id, "jurisdiction": asset.jurisdiction,
            "expires_on": asset.expires_on, "legal_status": asset.legal_status,
            "next_fee_due_on": asset.next_fee_due_on}


def get_asset(session: Session, asset_id: int) -> Asset:
    asset = get_row(session, Asset, asset_id)
    if asset is None:
        raise NotFound("asset")
    return asset


def create_asset(session: Session, *, kind: str, registry_no: str, title: str,
                 owner_org_id: int, expires_on: dt.date, jurisdiction: str = "CN",
                 legal_status: str = "valid", classification: str | None = None,
                 abstract: str | None = None, filed_on: dt.date | None = None,
                 granted_on: dt.date | None = None, next_fee_due_on: dt.date | None = None,
                 co_owner_org_ids: Iterable[int] = (), actor_id: int | None = None) -> Asset:
    """Register an asset; the same kind + jurisdiction + registry number twice → 409."""
    registry_no = (registry_no or "").strip()
    title = (title or "").strip()
    jurisdiction = (jurisdiction or "CN").strip().upper()
    if kind not in ASSET_KINDS:
        raise Invalid("invalid_kind", f"kind must be one of {', '.join(ASSET_KINDS)}")
    if legal_status not in LEGAL_STATUSES:
        raise Invalid("invalid_legal_status",
                      f"legal_status must be one of {', '.join(LEGAL_STATUSES)}")
    if not registry_no or not title:
        raise Invalid("validation_error", "registry_no and title are required")
    co_owner_org_ids = list(dict.fromkeys(co_owner_org_ids))
    if owner_org_id in co_owner_org_ids:
        raise Invalid("validation_error", "the owner is not its own co-owner")
    for org_id in [owner_org_id, *co_owner_org_ids]:
        if get_row(session, Org, org_id) is None:
            raise NotFound("organisation")
    duplicate = session.scalar(select(Asset.id).where(
        Asset.kind == kind, Asset.jurisdiction == jurisdiction, Asset.registry_no == registry_no))
    if duplicate is not None:
        raise Conflict("duplicate_asset", f"asset {registry_no} is already registered")
    asset = Asset(kind=kind, registry_no=registry_no, title=title, abstract=abstract,
                  owner_org_id=owner_org_id, jurisdiction=jurisdiction,
                  classification=classification, filed_on=filed_on, granted_on=granted_on,
                  expires_on=expires_on, legal_status=legal_status,
                  next_fee_due_on=next_fee_due_on, created_by=actor_id, created_at=utcnow())
    asset.co_owners = [AssetCoOwner(org_id=o) for o in co_owner_org_ids]
    try:
        with session.begin_nested():  # a racing insert of the same identity → 409, not 500
            session.add(asset)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("duplicate_asset", f"asset {registry_no} is already registered") from exc
    audit.record(session, "asset.create", "asset", asset.id, actor_id=actor_id,
                 after={**_snapshot(asset), "co_owner_org_ids": co_owner_org_ids})
    return asset


def update_legal_status(session: Session, asset_id: int, *, legal_status: str | None = None,
                        expires_on: dt.date | None = None,
                        next_fee_due_on: dt.date | None = None,
                        actor_id: int | None = None) -> Asset:
    """Record what the IP office says now (status, expiry, next annuity/renewal date)."""
    asset = get_asset(session, asset_id)
    if legal_status is not None and legal_status not in LEGAL_STATUSES:
        raise Invalid("invalid_legal_status",
                      f"legal_status must be one of {', '.join(LEGAL_STATUSES)}")
    before = _snapshot(asset)
    if legal_status is not None:
        asset.legal_status = legal_status
    if expires_on is not None:
        asset.expires_on = expires_on
    if next_fee_due_on is not None:
        asset.next_fee_due_on = next_fee_due_on
    audit.record(session, "asset.status", "asset", asset.id, actor_id=actor_id,
                 before=before, after=_snapshot(asset))
    return asset


def transfer_owner(session: Session, asset_id: int, new_owner_org_id: int, *, reason: str,
                   actor_id: int | None = None) -> Asset:
    """A completed sale transfers the IP: the buyer becomes its registered owner (its
    pledge, if any, was enforced by the sale), so it can be listed or pledged anew by
    the buyer and no longer by the former owner. Co-owners' consents no longer hold."""
    asset = get_asset(session, asset_id)
    before = {"owner_org_id": asset.owner_org_id}
    asset.owner_org_id = new_owner_org_id
    for co in asset.co_owners:
        co.consent_at, co.consent_ref = None, None
    audit.record(session, "asset.transfer", "asset", asset.id, actor_id=actor_id,
                 before=before, after={"owner_org_id": new_owner_org_id, "reason": reason})
    return asset


def one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def validity_end(valued_on: dt.date, validity_days: int) -> dt.date:
    """The last day an appraisal can be valid: the operator's validity period from
    valued_on. 365 days is the usual "one year" of a report, a calendar year (so a
    report of 1 January 2024 holds until 1 January 2025, across the leap day)."""
    if validity_days == 365:
        return one_year_after(valued_on)
    return valued_on + dt.timedelta(days=validity_days)


def _market_today() -> dt.date:
    return business_date(utcnow(), current_app.config.get("MARKET_TIMEZONE", "Asia/Shanghai"))


def valuation_period(session: Session, valued_on: dt.date, valid_until: dt.date | None,
                     today: dt.date | None = None) -> dt.date:
    """valid_until (defaulted) once the dates pass: valued_on not after today (the market's
    business date), valid_until neither before valued_on nor past the validity period."""
    today = today or _market_today()
    if valued_on > today:
        raise Invalid("valued_on_in_future", f"valued_on {valued_on} is after today ({today})")
    validity_days = settings_store.get(session, "valuation_validity_days")
    longest = validity_end(valued_on, validity_days)
    valid_until = valid_until or longest
    if valid_until < valued_on:
        raise Invalid("invalid_dates", "valid_until is before valued_on")
    if valid_until > longest:
        raise Invalid("validity_too_long",
                      f"an appraisal is valid for at most {validity_days} days: valid_until "
                      f"may be {longest} at the latest")
    return valid_until


def add_valuation(session: Session, asset_id: int, *, amount: Decimal, valued_on: dt.date,
                  method: str, agency: str, valid_until: dt.date | None = None,
                  currency: str = "CNY", actor_id: int | None = None,
                  status: str = "applied", today: dt.date | None = None) -> Valuation:
    """An appraisal of the asset, valid for the operator's validity period (one year by
    default) unless the report says less. A `proposed` one counts only once applied."""
    asset = get_asset(session, asset_id)
    if method not in VALUATION_METHODS:
        raise Invalid("invalid_method", f"method must be one of {', '.join(VALUATION_METHODS)}")
    if status not in VALUATION_STATUSES:
        raise Invalid("validation_error", f"status must be one of {', '.join(VALUATION_STATUSES)}")
    if amount is None or amount <= 0:
        raise Invalid("invalid_amount", "a valuation must be a positive amount")
    agency = (agency or "").strip()
    if not agency:
        raise Invalid("validation_error", "agency is required")
    valid_until = valuation_period(session, valued_on, valid_until, today)
    v = Valuation(asset_id=asset.id, amount=amount, currency=currency, method=method,
                  agency=agency, valued_on=valued_on, valid_until=valid_until, status=status,
                  created_by=actor_id, created_at=utcnow())
    session.add(v)
    session.flush()
    audit.record(session, "valuation.create", "asset", asset.id, actor_id=actor_id,
                 after={"valuation_id": v.id, "amount": amount, "method": method,
                        "agency": agency, "valued_on": valued_on, "valid_until": valid_until,
                        "status": status})
    if status == "proposed":
        _tell_the_pledgee(session, asset, v)
    return v


def _tell_the_pledgee(session: Session, asset: Asset, v: Valuation) -> None:
    """The pledgee's bank users learn of the owner's proposal: it waits for them."""
    pledgee = access.pledgee_org_id(session, asset.id)
    if pledgee is None:
        return
    for uid in session.scalars(select(User.id).where(User.org_id == pledgee,
                                                     User.role == "bank",
                                                     User.active.is_(True))):
        notify(session, uid, "valuation.proposed",
               f"{asset.registry_no}: the owner proposes a valuation of {v.amount:,.2f}",
               f"Valued on {v.valued_on} by {v.agency}; it counts once you apply it.",
               f"/assets/{asset.id}")


def apply_valuation(session: Session, valuation: Valuation, *,
                    actor_id: int | None = None) -> Valuation:
    """A proposed valuation starts to count. The conditional UPDATE decides who wins when
    two apply at once; the loser (and a second apply) is 409."""
    won = session.execute(
        update(Valuation).where(Valuation.id == valuation.id, Valuation.status == "proposed")
        .values(status="applied").execution_options(synchronize_session=False)).rowcount
    if won != 1:
        raise Conflict("invalid_transition", "this valuation has already been applied")
    session.refresh(valuation)
    asset = session.get(Asset, valuation.asset_id)
    if asset is not None:
        session.expire(asset, ["valuations"])  # the counting list now includes it
    audit.record(session, "valuation.apply", "asset", valuation.asset_id, actor_id=actor_id,
                 before={"valuation_id": valuation.id, "status": "proposed"},
                 after={"valuation_id": valuation.id, "status": "applied"})
    return valuation


def valuation_on(session: Session, asset_id: int, on_date: dt.date) -> Valuation | None:
    """The asset's value on a date: its latest applied valuation valid on that date (动态评估)."""
    return session.scalar(
        select(Valuation)
        .where(Valuation.asset_id == asset_id, Valuation.status == "applied",
               Valuation.valued_on <= on_date, Valuation.valid_until >= on_date)
        .order_by(Valuation.valued_on.desc(), Valuation.id.desc())
        .limit(1))


def valuations_of(session: Session, asset_id: int) -> list[Valuation]:
    """Every valuation of the asset, proposals included (for its parties)."""
    return list(session.scalars(select(Valuation).where(Valuation.asset_id == asset_id)
                                .order_by(Valuation.valued_on, Valuation.id)))


def add_co_owner(session: Session, asset_id: int, org_id: int, *,
                 actor_id: int | None = None) -> AssetCoOwner:
    asset = get_asset(session, asset_id)
    if get_row(session, Org, org_id) is None:
        raise NotFound("organisation")
    if org_id == asset.owner_org_id:
        raise Invalid("validation_error", "the owner is not its own co-owner")
    row = session.scalar(select(AssetCoOwner).where(AssetCoOwner.asset_id == asset_id,
                                                    AssetCoOwner.org_id == org_id))
    if row is None:
        row = AssetCoOwner(asset_id=asset_id, org_id=org_id)
        session.add(row)
        session.flush()
        audit.record(session, "asset.co_owner_add", "asset", asset_id, actor_id=actor_id,
                     after={"org_id": org_id})
    return row


def record_consent(session: Session, asset_id: int, org_id: int, *, consent_ref: str = "",
                   actor_id: int | None = None) -> AssetCoOwner:
    """A co-owner's written consent to pledge the asset (required for co-owned assets)."""
    get_asset(session, asset_id)
    if get_row(session, Org, org_id) is None:
        raise NotFound("co-owner")
    row = session.scalar(select(AssetCoOwner).where(AssetCoOwner.asset_id == asset_id,
                                                    AssetCoOwner.org_id == org_id))
    if row is None:
        raise NotFound("co-owner")
    row.consent_at = utcnow()
    row.consent_ref = (consent_ref or "").strip() or None
    audit.record(session, "asset.co_owner_consent", "asset", asset_id, actor_id=actor_id,
                 after={"org_id": org_id, "consent_ref": row.consent_ref})
    return row
