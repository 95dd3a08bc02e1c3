"""An equity listing's terms (API.md "Equity contribution"): checked on create, edit,
submit and approve, like the other rules of listings/rules.py.

- `min_valuation` at least the floor: 70% (operator setting) of the assets' value today.
  Non-monetary contributions must be appraised (公司法 art. 48), so an equity listing
  needs a valid valuation whether or not the IP is pledged.
- A bank contributing pledged IP acts for the pledgor with its consent (民法典 444):
  `pledgor_consent_ref`.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from market import settings_store
from market.assets.models import Asset
from market.errors import Invalid
from market.money import cents
from market.timeutil import utcnow

from ..models import Listing
from ..rules import appraisal_total, market_date
from .equity_models import EquityTerms


def terms_of(session: Session, listing_id: int | None) -> EquityTerms | None:
    return session.get(EquityTerms, listing_id) if listing_id is not None else None


def _check(session: Session, listing: Listing, min_valuation: Decimal | None,
           consent_ref: str | None, assets: Iterable[Asset]) -> None:
    if min_valuation is None:
        raise Invalid("equity_terms_required", "an equity listing needs equity.min_valuation")
    if min_valuation <= 0:
        raise Invalid("min_valuation_not_positive", "the minimum valuation must be positive")
    if listing.loan_id is not None and not consent_ref:
        raise Invalid("pledgor_consent_required",
                      "a bank contributing pledged IP needs the pledgor's consent (民法典 444)")
    today = market_date(utcnow())
    total = appraisal_total(assets, today)
    if total is None:
        raise Invalid("no_valid_valuation",
                      f"every asset needs an appraisal valid on {today} (公司法 art. 48)")
    ratio = settings_store.get(session, "start_price_floor_ratio")
    floor = cents(total * ratio)
    if min_valuation < floor:
        raise Invalid("start_price_below_floor",
                      f"the minimum valuation must be at least {ratio * 100:.0f}% of the "
                      f"assets' value ({total:.2f} on {today}), i.e. {floor}")


def save(session: Session, listing: Listing, data: dict[str, Any],
         assets: Iterable[Asset]) -> None:
    """Create or edit: check and keep the terms (the listing has its id). Terms given to
    a listing of another mode are refused; an edit without terms keeps the old ones."""
    given = data.get("equity")
    row = terms_of(session, listing.id)
    if listing.mode != "equity":
        if given:
            raise Invalid("equity_terms_not_allowed",
                          f"a {listing.mode} listing takes no equity terms")
        if row is not None:
            session.delete(row)
        return
    min_valuation = given["min_valuation"] if given else (row.min_valuation if row else None)
    consent = data.get("pledgor_consent_ref", row.pledgor_consent_ref if row else None)
    consent = (consent or "").strip() or None
    _check(session, listing, min_valuation, consent, assets)
    if row is None:
        row = EquityTerms(listing_id=listing.id)
        session.add(row)
    row.min_valuation, row.pledgor_consent_ref = min_valuation, consent
    session.flush()


def recheck(session: Session, listing: Listing, assets: Iterable[Asset]) -> None:
    """Submit and approve: values and settings may have changed since creation."""
    if listing.mode != "equity":
        return
    row = terms_of(session, listing.id)
    _check(session, listing, row.min_valuation if row else None,
           row.pledgor_consent_ref if row else None, assets)


def listing_fields(session: Session, listing: Listing) -> dict:
    """What GET /listings/{id} shows of the terms."""
    row = terms_of(session, listing.id) if listing.mode == "equity" else None
    return {"equity": {"min_valuation": row.min_valuation} if row else None,
            "pledgor_consent_ref": row.pledgor_consent_ref if row else None}
