"""Lending services: loans with their pledge and risk shares, money events, default,
and what settlement needs (recoveries, enforcement, closing the loan).

Services take a session and plain values, never commit, and audit every change.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit, lifecycle
from ..accounts.models import Org, User
from ..assets.models import Asset
from ..assets.services import MAX_ID, get_row
from ..errors import Conflict, Invalid, NotFound
from ..timeutil import utcnow
from .claims import Claim, allocate, claim_as_of
from .models import Loan, LoanEvent, Pledge, PledgeAsset, RiskShare

ONE = Decimal(1)


@dataclass(frozen=True)
class ShareInput:
    org_id: int
    share: Decimal
    cap: Decimal | None = None


def _loan_snapshot(loan: Loan) -> dict:
    return {"status": loan.status, "principal": loan.principal, "annual_rate": loan.annual_rate,
            "penalty_rate": loan.penalty_rate, "disbursed_on": loan.disbursed_on,
            "maturity_on": loan.maturity_on, "defaulted_on": loan.defaulted_on,
            "settled_on": loan.settled_on}


def get_loan(session: Session, loan_id: int, *, lock: bool = False) -> Loan:
    if not isinstance(loan_id, int) or not 0 < loan_id <= MAX_ID:
        raise NotFound("loan")
    stmt = select(Loan).where(Loan.id == loan_id)
    if lock:
        stmt = stmt.with_for_update()
    loan = session.scalar(stmt)
    if loan is None:
        raise NotFound("loan")
    return loan


def can_see_loan(user: User, loan: Loan) -> bool:
    """The loan's bank, its borrower and operators see a loan; nobody else learns it exists."""
    if user.role == "operator":
        return True
    if user.role == "bank":
        return user.org_id == loan.bank_org_id
    return user.org_id == loan.borrower_org_id


def visible_loan(session: Session, loan_id: int, user: User, *, lock: bool = False) -> Loan:
    loan = get_loan(session, loan_id, lock=lock)
    if not can_see_loan(user, loan):
        raise NotFound("loan")
    return loan


def bank_loan(session: Session, loan_id: int, user: User, *, lock: bool = False) -> Loan:
    """A loan the caller's bank holds (others → 404, never revealing that it exists)."""
    loan = get_loan(session, loan_id, lock=lock)
    if user.role != "bank" or user.org_id != loan.bank_org_id:
        raise NotFound("loan")
    return loan


def events_of(session: Session, loan_id: int) -> list[LoanEvent]:
    return list(session.scalars(select(LoanEvent).where(LoanEvent.loan_id == loan_id)
                                .order_by(LoanEvent.on_date, LoanEvent.id)))


def pledged_asset_ids(session: Session, loan_id: int) -> list[int]:
    """Every asset under the loan's pledge (active or not), in the order pledged."""
    return list(session.scalars(
        select(PledgeAsset.asset_id).join(Pledge, Pledge.id == PledgeAsset.pledge_id)
        .where(Pledge.loan_id == loan_id).order_by(PledgeAsset.id)))


def active_pledge_of_asset(session: Session, asset_id: int) -> Pledge | None:
    return session.scalar(
        select(Pledge).join(PledgeAsset, PledgeAsset.pledge_id == Pledge.id)
        .where(PledgeAsset.asset_id == asset_id, PledgeAsset.active.is_(True)))


# --- creating a loan with its pledge --------------------------------------------------

def _check_shares(shares: Sequence[ShareInput], bank_org_id: int, borrower_org_id: int) -> None:
    seen: set[int] = set()
    total = Decimal(0)
    for sh in shares:
        if sh.share <= 0 or sh.share > 1:
            raise Invalid("invalid_share", "each share must be above 0 and at most 1")
        if sh.cap is not None and sh.cap < 0:
            raise Invalid("invalid_cap", "a cap must not be negative")
        if sh.org_id in seen:
            raise Invalid("duplicate_risk_share", "an organisation is listed twice")
        if sh.org_id in (bank_org_id, borrower_org_id):
            raise Invalid("invalid_risk_share",
                          "a risk-sharing party is neither the bank nor the borrower")
        seen.add(sh.org_id)
        total += sh.share
    if total > ONE:
        raise Invalid("risk_shares_exceed_one", f"risk shares sum to {total}, above 1")


def _check_pledgeable(session: Session, asset: Asset, borrower_org_id: int,
                      registered_on: dt.date, maturity_on: dt.date) -> None:
    """专利权质押登记办法 (2021): the refusals of a pledge registration."""
    if asset.owner_org_id != borrower_org_id:
        raise Invalid("pledgor_not_owner",
                      f"asset {asset.registry_no} is not owned by the borrower")
    if not asset.in_force(registered_on):
        raise Invalid("asset_not_in_force", f"asset {asset.registry_no} is not in force")
    if active_pledge_of_asset(session, asset.id) is not None:
        raise Invalid("asset_already_pledged",
                      f"asset {asset.registry_no} is already under a registered pledge")
    if asset.expires_on is not None and maturity_on > asset.expires_on:
        raise Invalid("term_exceeds_asset",
                      f"the loan runs past the expiry of asset {asset.registry_no}")
    missing = [c.org_id for c in asset.co_owners if c.consent_at is None]
    if missing:
        raise Invalid("co_owner_consent_missing",
                      f"asset {asset.registry_no} lacks the consent of every co-owner")


def _new_pledge(session: Session, loan_id: int, registration_no: str,
                registered_on: dt.date, asset_ids: Sequence[int]) -> Pledge:
    """A registered pledge of these assets for the loan (checks are the caller's)."""
    pledge = Pledge(loan_id=loan_id, registration_no=registration_no,
                    registered_on=registered_on, status="registered")
    session.add(pledge)
    session.flush()
    for aid in asset_ids:
        session.add(PledgeAsset(pledge_id=pledge.id, asset_id=aid, active=True))
    return pledge


def create_loan(session: Session, *, bank_org_id: int, borrower_org_id: int,
                principal: Decimal, annual_rate: Decimal, penalty_rate: Decimal,
                disbursed_on: dt.date, maturity_on: dt.date, asset_ids: Sequence[int],
                registration_no: str, registered_on: dt.date,
                risk_shares: Iterable[ShareInput] = (), reference: str | None = None,
                currency: str = "CNY", first_loan: bool = False,
                actor_id: int | None = None) -> Loan:
    """A performing loan and its registered pledge over one or several assets.

    Refusals: bad input 422 → unknown organisation or asset 404 → pledge refusals 422
    (pledgor_not_owner, asset_not_in_force, asset_already_pledged, term_exceeds_asset,
    co_owner_consent_missing) → registration number taken 409. The one-active-pledge
    rule also holds under concurrency: the database's partial unique index decides.
    """
    shares = [s if isinstance(s, ShareInput) else ShareInput(**s) for s in risk_shares]
    asset_ids = list(asset_ids)
    registration_no = (registration_no or "").strip()
    if principal is None or principal <= 0:
        raise Invalid("invalid_amount", "principal must be positive")
    if annual_rate < 0 or penalty_rate < 0:
        raise Invalid("invalid_rate", "rates must not be negative")
    if maturity_on <= disbursed_on:
        raise Invalid("invalid_dates", "maturity_on must be after disbursed_on")
    if not asset_ids:
        raise Invalid("validation_error", "a pledge needs at least one asset")
    if len(set(asset_ids)) != len(asset_ids):
        raise Invalid("validation_error", "an asset is listed twice")
    if not registration_no:
        raise Invalid("validation_error", "registration_no is required")
    _check_shares(shares, bank_org_id, borrower_org_id)

    if get_row(session, Org, borrower_org_id) is None:
        raise NotFound("borrower organisation")
    for sh in shares:
        if get_row(session, Org, sh.org_id) is None:
            raise NotFound("risk-sharing organisation")
    assets = []
    for aid in asset_ids:
        asset = get_row(session, Asset, aid)
        if asset is None:
            raise NotFound("asset")
        assets.append(asset)
    for asset in assets:
        _check_pledgeable(session, asset, borrower_org_id, registered_on, maturity_on)
    if session.scalar(select(Pledge.id).where(Pledge.registration_no == registration_no)):
        raise Conflict("duplicate_registration_no",
                       f"pledge registration {registration_no} already exists")

    loan = Loan(bank_org_id=bank_org_id, borrower_org_id=borrower_org_id, principal=principal,
                currency=currency, annual_rate=annual_rate, penalty_rate=penalty_rate,
                disbursed_on=disbursed_on, maturity_on=maturity_on, status="performing",
                reference=(reference or None), first_loan=bool(first_loan),
                created_by=actor_id, created_at=utcnow())
    try:
        # The partial unique index on active pledged assets is the real guard: two
        # concurrent loans over one asset both pass the check above; one insert waits
        # for the other's commit and then fails here.
        with session.begin_nested():
            session.add(loan)
            session.flush()
            _new_pledge(session, loan.id, registration_no, registered_on,
                        [asset.id for asset in assets])
            for pos, sh in enumerate(shares):
                session.add(RiskShare(loan_id=loan.id, org_id=sh.org_id, share=sh.share,
                                      cap=sh.cap, position=pos))
            session.flush()
    except IntegrityError as exc:
        if "registration_no" in str(exc.orig):
            raise Conflict("duplicate_registration_no",
                           f"pledge registration {registration_no} already exists") from exc
        raise Invalid("asset_already_pledged",
                      "an asset is already under a registered pledge") from exc
    session.refresh(loan)
    audit.record(session, "loan.create", "loan", loan.id, actor_id=actor_id,
                 after={**_loan_snapshot(loan), "bank_org_id": bank_org_id,
                        "first_loan": loan.first_loan,
                        "borrower_org_id": borrower_org_id, "asset_ids": asset_ids,
                        "registration_no": registration_no, "registered_on": registered_on,
                        "risk_shares": [{"org_id": s.org_id, "share": s.share, "cap": s.cap}
                                        for s in shares]})
    audit.record(session, "pledge.register", "pledge", loan.pledge.id, actor_id=actor_id,
                 after={"loan_id": loan.id, "registration_no": registration_no,
                        "asset_ids": asset_ids, "registered_on": registered_on})
    return loan


# --- money events ---------------------------------------------------------------------

def claim_on(session: Session, loan: Loan, as_of: dt.date) -> Claim:
    return claim_as_of(loan, events_of(session, loan.id), as_of)


def _add_event(session: Session, loan: Loan, kind: str, amount: Decimal, on_date: dt.date,
               description: str = "", settlement_id: int | None = None,
               actor_id: int | None = None) -> LoanEvent:
    ev = LoanEvent(loan_id=loan.id, kind=kind, amount=amount, on_date=on_date,
                   description=description, settlement_id=settlement_id,
                   created_by=actor_id, created_at=utcnow())
    session.add(ev)
    session.flush()
    audit.record(session, f"loan.{kind}", "loan", loan.id, actor_id=actor_id,
                 after={"event_id": ev.id, "amount": amount, "on_date": on_date,
                        "description": description, "settlement_id": settlement_id})
    return ev


def add_cost(session: Session, loan_id: int, *, amount: Decimal, incurred_on: dt.date,
             description: str = "", actor_id: int | None = None) -> LoanEvent:
    """An enforcement cost (legal fees, appraisal): owed first under 民法典 561."""
    loan = get_loan(session, loan_id, lock=True)
    if amount is None or amount <= 0:
        raise Invalid("invalid_amount", "a cost must be a positive amount")
    return _add_event(session, loan, "cost", amount, incurred_on,
                      (description or "").strip(), actor_id=actor_id)


def add_repayment(session: Session, loan_id: int, *, amount: Decimal, paid_on: dt.date,
                  description: str = "", actor_id: int | None = None) -> LoanEvent:
    """A repayment by the borrower, applied on its date in 民法典 561 order. Paying the
    whole claim releases the pledge."""
    loan = get_loan(session, loan_id, lock=True)
    if amount is None or amount <= 0:
        raise Invalid("invalid_amount", "a repayment must be a positive amount")
    if paid_on < loan.disbursed_on:
        raise Invalid("invalid_dates", "a repayment cannot precede the disbursement")
    owed = claim_on(session, loan, paid_on)
    if amount > owed.total:
        raise Invalid("payment_exceeds_claim",
                      f"{amount} is more than the claim of {owed.total} on {paid_on}")
    ev = _add_event(session, loan, "repayment", amount, paid_on, description,
                    actor_id=actor_id)
    if amount == owed.total and not _later_money_events(session, loan, paid_on):
        release_pledge(session, loan.id, paid_on, actor_id=actor_id)
    return ev


def _later_money_events(session: Session, loan: Loan, after: dt.date) -> bool:
    return session.scalar(select(LoanEvent.id).where(LoanEvent.loan_id == loan.id,
                                                     LoanEvent.on_date > after).limit(1)) \
        is not None


def declare_default(session: Session, loan_id: int, *, declared_on: dt.date,
                    actor_id: int | None = None) -> Loan:
    """performing → defaulted. Declared before maturity it accelerates the loan
    (提前到期): from declared_on the whole outstanding principal accrues penalty interest."""
    loan = get_loan(session, loan_id, lock=True)
    if declared_on < loan.disbursed_on:
        raise Invalid("invalid_dates", "a default cannot precede the disbursement")
    if loan.status != "performing":
        raise Conflict("loan_not_performing", f"the loan is {loan.status}")
    before = _loan_snapshot(loan)
    lifecycle.move(session, loan, "defaulted", actor_id=actor_id, action="loan.default",
                   before=before, after=_loan_snapshot,
                   defaulted_on=declared_on)
    return loan


# --- what settlement calls ------------------------------------------------------------

def apply_recovery(session: Session, loan_id: int, amount: Decimal, on_date: dt.date,
                   settlement_id: int | None, actor_id: int | None = None,
                   description: str | None = None) -> Claim:
    """Apply disposal proceeds to the loan on `on_date` in 民法典 561 order and record a
    `recovery` event for what was applied. Returns what each head received; anything
    above the claim is not recorded (it is the pledgor's surplus, settlement's to pay).

    Idempotent per settlement: a second call with the same settlement_id records nothing
    and returns the same split.
    """
    loan = get_loan(session, loan_id, lock=True)
    if amount is None or amount < 0:
        raise Invalid("invalid_amount", "a recovery must not be negative")
    events = events_of(session, loan.id)
    if settlement_id is not None:
        done = [e for e in events if e.kind == "recovery" and e.settlement_id == settlement_id]
        if done:
            prior = [e for e in events if e.id != done[0].id]
            applied, _ = allocate(claim_as_of(loan, prior, done[0].on_date), done[0].amount)
            return applied
    applied, _rest = allocate(claim_as_of(loan, events, on_date), amount)
    if applied.total > 0:
        _add_event(session, loan, "recovery", applied.total, on_date,
                   description or (f"settlement {settlement_id}" if settlement_id else "recovery"),
                   settlement_id=settlement_id, actor_id=actor_id)
    return applied


def _deactivate(pledge: Pledge) -> None:
    for item in pledge.items:
        item.active = False


def enforce_pledge(session: Session, loan_id: int, on_date: dt.date,
                   actor_id: int | None = None) -> Pledge | None:
    """The collateral was disposed of: the pledge is enforced and its assets are free of it.

    Idempotent; a pledge released before the sale (the claim was paid) stays released —
    the lifecycle table has no released → enforced."""
    loan = get_loan(session, loan_id, lock=True)
    pledge = loan.pledge
    if pledge is None or pledge.status in ("enforced", "released"):
        return pledge
    lifecycle.move(session, pledge, "enforced", actor_id=actor_id, action="pledge.enforce",
                   after={"status": "enforced", "on": on_date}, enforced_on=on_date)
    _deactivate(pledge)
    return pledge


def release_pledge(session: Session, loan_id: int, on_date: dt.date,
                   actor_id: int | None = None) -> Pledge | None:
    """The secured claim is paid: the pledge is released (published as such)."""
    loan = get_loan(session, loan_id, lock=True)
    pledge = loan.pledge
    if pledge is None or pledge.status != "registered":
        return pledge
    lifecycle.move(session, pledge, "released", actor_id=actor_id, action="pledge.release",
                   after={"status": "released", "on": on_date}, released_on=on_date)
    _deactivate(pledge)
    return pledge


def mark_settled(session: Session, loan_id: int, on_date: dt.date,
                 actor_id: int | None = None) -> Loan:
    """The disposal is settled: the loan's status becomes `settled` (any shortfall stays
    owed by the debtor and is shared as agreed)."""
    loan = get_loan(session, loan_id, lock=True)
    if loan.status == "settled":
        return loan
    before = _loan_snapshot(loan)
    lifecycle.move(session, loan, "settled", actor_id=actor_id, action="loan.settle",
                   before=before, after=_loan_snapshot, settled_on=on_date)
    return loan



def replace_collateral(session: Session, loan_id: int, *, asset_ids: Sequence[int],
                       registration_no: str, registered_on: dt.date,
                       actor_id: int | None = None) -> Pledge:
    """Other collateral takes the current pledge's place for the same loan (民法典 443:
    shares pledged instead of the IP contributed for them). The old pledge is released
    and points at the new one; the loan's status and claim do not change.
    A registration number already on the register → 409 duplicate_registration_no."""
    loan = get_loan(session, loan_id, lock=True)
    old = loan.pledge
    if old is None or old.status != "registered":
        raise Conflict("pledge_not_registered", "the loan has no registered pledge to replace")
    registration_no = (registration_no or "").strip()
    if session.scalar(select(Pledge.id).where(Pledge.registration_no == registration_no)):
        raise Conflict("duplicate_registration_no",
                       f"pledge registration {registration_no} already exists")
    lifecycle.move(session, old, "released", actor_id=actor_id, action="pledge.release",
                   after={"status": "released", "on": registered_on,
                          "reason": "replacement collateral"}, released_on=registered_on)
    _deactivate(old)
    # One current pledge per loan (a partial unique index): the old row stops being
    # current (pointing at itself for a moment) before the new one is written.
    old.replaced_by_id = old.id
    session.flush()
    new = _new_pledge(session, loan.id, registration_no, registered_on, asset_ids)
    old.replaced_by_id = new.id
    session.flush()
    session.expire(loan, ["pledge"])
    audit.record(session, "pledge.register", "pledge", new.id, actor_id=actor_id,
                 after={"loan_id": loan.id, "registration_no": registration_no,
                        "asset_ids": list(asset_ids), "registered_on": registered_on,
                        "replaces_pledge_id": old.id})
    return new
