"""Agreed valuation (协议折价, 民法典 436): bank and pledgor agree a value for the pledged IP
after the default; the bank takes the IP against the debt and must dispose of it within
two years (财金〔2005〕53号) and before the IP expires.

The value settles the loan through the one settlement service (settlement/sale.py): a
Sale of the value to the bank itself, with no commission and no disposal costs, applied
as of `agreed_on` in 民法典 561 order. Whether the assets sit in a live listing, and
whether the bank has sold them since, is asked of the listings package
(market/providers.py): this module knows no listing.

Services take a session and plain values, never commit, and audit every change.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit, lifecycle, providers, settings_store
from ..assets.models import Asset
from ..assets.services import transfer_owner, valuation_on
from ..errors import Conflict, Invalid, NotFound
from ..money import cents
from ..settlement.models import Settlement
from ..settlement.sale import Sale, open_sale, settle_sale
from ..timeutil import utcnow
from .models import AgreedValuation, Loan
from .services import pledged_asset_ids

MODE = "agreed_valuation"
# The loan carries the `disposal_deadline` flag from this many days before dispose_by.
DEADLINE_WARNING_DAYS = 90


def years_after(day: dt.date, years: int) -> dt.date:
    """The same day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def dispose_by(session: Session, agreed_on: dt.date, assets: list[Asset]) -> dt.date:
    """The earlier of agreed_on + the disposal period and the assets' earliest expiry."""
    years = settings_store.get(session, "agreed_valuation_disposal_years")
    return min([years_after(agreed_on, years)] + [a.expires_on for a in assets])


def of_loan(session: Session, loan_id: int) -> AgreedValuation | None:
    return session.scalar(select(AgreedValuation).where(AgreedValuation.loan_id == loan_id))


def _active_asset_ids(loan: Loan) -> list[int]:
    if loan.pledge is None or loan.pledge.status != "registered":
        return []
    return [i.asset_id for i in sorted(loan.pledge.items, key=lambda i: i.id) if i.active]


def _value_on(session: Session, asset_ids: list[int], on: dt.date) -> tuple[Decimal, bool]:
    """Σ of the assets' values on a date, and whether every asset has a valid valuation."""
    total, complete = Decimal("0.00"), True
    for aid in asset_ids:
        v = valuation_on(session, aid, on)
        if v is None:
            complete = False
        else:
            total += v.amount
    return total, complete


def check_terms(value: Decimal | None, agreed_on: dt.date, pledgor_consent_ref: str | None,
                today: dt.date) -> None:
    """The request on its own (422, before the loan is looked at: API.md Conventions)."""
    if value is None or value <= 0:
        raise Invalid("invalid_amount", "the agreed value must be positive")
    if agreed_on > today:
        raise Invalid("invalid_dates", "agreed_on cannot be in the future")
    if not (pledgor_consent_ref or "").strip():
        raise Invalid("validation_error", "pledgor_consent_ref is required")


def record(session: Session, loan: Loan, *, value: Decimal, agreed_on: dt.date,
           pledgor_consent_ref: str, today: dt.date,
           actor_id: int | None = None) -> AgreedValuation:
    """Record the agreement and settle the loan with it, in the caller's transaction.

    After the request's own checks (check_terms), refusals in API.md's order: 409
    loan_not_defaulted, assets_listed, already_agreed; 422 agreed_before_default,
    value_below_floor, no_valid_valuation. (A loan that an agreement already settled
    answers already_agreed rather than loan_not_defaulted.)"""
    check_terms(value, agreed_on, pledgor_consent_ref, today)
    pledgor_consent_ref = pledgor_consent_ref.strip()
    existing = of_loan(session, loan.id)
    if loan.status != "defaulted":
        if existing is not None:
            raise Conflict("already_agreed", "this loan already has an agreed valuation")
        raise Conflict("loan_not_defaulted",
                       "an agreed valuation needs a loan declared in default")
    asset_ids = _active_asset_ids(loan)
    if not asset_ids:
        raise Conflict("pledge_not_registered", "the loan has no pledged assets to take")
    ask = providers.asset_in_live_listing.get()
    listing_id = ask(session, asset_ids) if ask is not None else None
    if listing_id is not None:
        raise Conflict("assets_listed",
                       f"a pledged asset is in listing {listing_id}; withdraw it first")
    if existing is not None:
        raise Conflict("already_agreed", "this loan already has an agreed valuation")
    if agreed_on < loan.defaulted_on:
        raise Invalid("agreed_before_default",
                      f"agreed_on is before the default declared on {loan.defaulted_on} "
                      "(民法典 428 forbids agreeing it in advance)")
    total, complete = _value_on(session, asset_ids, agreed_on)
    ratio = settings_store.get(session, "start_price_floor_ratio")
    floor = cents(total * ratio)
    # Below the floor of the valued assets alone is below the floor of them all.
    if value < floor:
        raise Invalid("value_below_floor",
                      f"the value must be at least {ratio * 100:.0f}% of the assets' value "
                      f"({total:.2f} on {agreed_on}), i.e. {floor}")
    if not complete:
        raise Invalid("no_valid_valuation",
                      f"a pledged asset has no valuation valid on {agreed_on}")

    assets = [session.get(Asset, aid) for aid in asset_ids]
    av = AgreedValuation(loan_id=loan.id, amount=cents(value), agreed_on=agreed_on,
                         dispose_by=dispose_by(session, agreed_on, assets), status="holding",
                         pledgor_consent_ref=pledgor_consent_ref, bank_org_id=loan.bank_org_id,
                         created_by=actor_id, created_at=utcnow())
    try:
        with session.begin_nested():  # a concurrent agreement on the same loan loses here
            session.add(av)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("already_agreed", "this loan already has an agreed valuation") from exc
    st = open_sale(session, Sale(
        mode=MODE, source_id=loan.id, seller_org_id=loan.bank_org_id,
        buyer_org_id=loan.bank_org_id, pledgor_org_id=loan.borrower_org_id, loan_id=loan.id,
        price=av.amount, as_of=agreed_on, asset_ids=tuple(asset_ids), exchange_fees=False))
    settle_sale(session, st.id, paid_at=utcnow(), actor_id=actor_id)
    av.settlement_id = st.id
    for aid in asset_ids:
        transfer_owner(session, aid, loan.bank_org_id, actor_id=actor_id,
                       reason=f"agreed valuation, settlement {st.id}")
    session.flush()
    audit.record(session, "agreed_valuation.create", "agreed_valuation", av.id,
                 actor_id=actor_id,
                 after={"loan_id": loan.id, "value": av.amount, "agreed_on": agreed_on,
                        "dispose_by": av.dispose_by, "pledgor_consent_ref": pledgor_consent_ref,
                        "settlement_id": st.id, "asset_ids": asset_ids})
    return av


def status_on(av: AgreedValuation, today: dt.date) -> str:
    """holding | disposed | overdue; past dispose_by with assets unsold it is overdue
    even before the daily job has moved it."""
    if av.status == "holding" and today > av.dispose_by:
        return "overdue"
    return av.status


def deadline_near(av: AgreedValuation | None, today: dt.date) -> bool:
    """The `disposal_deadline` flag holds: not disposed, and dispose_by is at most
    DEADLINE_WARNING_DAYS away (or past)."""
    return (av is not None and av.status != "disposed"
            and today >= av.dispose_by - dt.timedelta(days=DEADLINE_WARNING_DAYS))


def refresh_status(session: Session, av: AgreedValuation, today: dt.date) -> None:
    """The daily move holding → overdue once dispose_by has passed."""
    if av.status == "holding" and today > av.dispose_by:
        lifecycle.move(session, av, "overdue", reason=f"not disposed by {av.dispose_by}")


def undisposed_loan_ids(session: Session) -> list[int]:
    return list(session.scalars(select(AgreedValuation.loan_id)
                                .where(AgreedValuation.status != "disposed")))


def mark_disposed(session: Session, seller_org_id: int, on: dt.date,
                  actor_id: int | None = None) -> list[AgreedValuation]:
    """After a sale by `seller_org_id` settled: its agreed valuations whose every asset it
    has now sold in listings become `disposed`. Returns those that moved."""
    ask = providers.assets_sold_by.get()
    if ask is None:
        return []
    moved = []
    for av in session.scalars(select(AgreedValuation).where(
            AgreedValuation.bank_org_id == seller_org_id,
            AgreedValuation.status != "disposed").order_by(AgreedValuation.id)):
        asset_ids = pledged_asset_ids(session, av.loan_id)
        if set(asset_ids) <= ask(session, seller_org_id, asset_ids, av.created_at):
            lifecycle.move(session, av, "disposed", actor_id=actor_id,
                           reason="every asset sold", disposed_on=on)
            moved.append(av)
    return moved


def as_dict(session: Session, av: AgreedValuation, today: dt.date) -> dict:
    """The body of GET /loans/{id}/agreed-valuation (API.md)."""
    st = session.get(Settlement, av.settlement_id) if av.settlement_id else None
    if st is None:
        raise NotFound("agreed valuation")
    return {
        "value": av.amount, "agreed_on": av.agreed_on, "dispose_by": av.dispose_by,
        "status": status_on(av, today),
        "applied": {"costs": st.applied_costs, "penalty_interest": st.applied_penalty_interest,
                    "interest": st.applied_interest, "principal": st.applied_principal},
        "surplus_to_pledgor": st.surplus_to_pledgor, "shortfall": st.shortfall,
        "risk_shares": [{"org_id": rs.org_id, "amount": rs.amount} for rs in st.risk_shares],
        "lender_loss": st.lender_loss,
    }
