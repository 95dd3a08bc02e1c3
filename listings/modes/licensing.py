"""Licensing (许可, API.md "Licensing"; DOMAIN.md "Ways to dispose" 3).

The licensor of record is always the assets' owner. A listing's terms (LicenceTerms) are
checked on create, submit and approve; licences are applied for, accepted or rejected by
the seller (an open licence, 专利法 arts. 50–52, skips that), paid through the payments
package (hook payment.paid), in force on [starts_on, ends_on), and expired or cancelled
by the scheduler. Every confirmed fee is split once: seller commission to the exchange,
then the rest to the listing's loan as a recovery (民法典 444: the fees go to the debt),
what the claim does not need to the owner.

Journal (ref_type "payment", per paid licence payment <pid> of licence <lid>):
  licence_fee:<pid>                 Dr cash  Cr platform_commission, seller_proceeds (owner,
                                    when no claim takes the rest)
  recovery:licence:<lid>:p<pid>     recovery.apply_recovery's entry (the rest, to the claim)
"""
from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from market import audit, lifecycle, settings_store
from market.accounts.models import Org, User
from market.assets.models import Asset
from market.errors import Conflict, Forbidden, Invalid, NotFound
from market.lending import services as lending
from market.lending.models import PledgeAsset
from market.money import ZERO
from market.payments import services as payments
from market.payments.models import Payment
from market.settlement import ledger
from market.settlement.models import JournalEntry
from market.settlement.recovery import apply_recovery, entry_key
from market.settlement.services import seller_commission
from market.timeutil import utcnow

from .. import rules
from ..lifecycle import transition
from ..models import Listing, ListingAsset
from .licensing_models import (EXCLUDING_KINDS, HOLDING_STATUSES, TERMS, Licence, LicenceTerms,
                               RoyaltyReport)

PATENT_KINDS = ("invention_patent", "utility_model", "design_patent")
PURPOSE = "licence"


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole months; a day the target month lacks becomes its last day."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def today() -> dt.date:
    return rules.market_date(utcnow())


# ---------------------------------------------------------------- terms on the listing

def terms_of(session: Session, listing_id: int) -> LicenceTerms | None:
    return session.get(LicenceTerms, listing_id)


def apply_terms(session: Session, listing: Listing, data: dict, assets: list[Asset]) -> None:
    """Create/update: keep the licensing terms and consents, or refuse them for another mode."""
    given = data.get("licensing")
    row = terms_of(session, listing.id) if listing.id else None
    if listing.mode != "licensing":
        if given:
            raise Invalid("licensing_terms_not_allowed",
                          f"a {listing.mode} listing takes no licensing terms")
        if row is not None:
            session.delete(row)
        return
    if not given and row is None:
        raise Invalid("licensing_terms_required", "a licensing listing needs licensing terms")
    if row is None:
        row = LicenceTerms()
    if given:
        row.kind = given["kind"]
        row.open = bool(given.get("open", False))
        row.field = (given.get("field") or "").strip()
        row.territory = (given.get("territory") or "CN").strip() or "CN"
        row.term_months = given["term_months"]
        row.upfront_fee = given["upfront_fee"]
        row.royalty_rate = given.get("royalty_rate") or Decimal("0")
        row.minimum_annual_royalty = given.get("minimum_annual_royalty") or Decimal("0.00")
    for key in ("pledgor_consent_ref", "pledgee_consent_ref"):
        if key in data:
            setattr(row, key, (data.get(key) or "").strip() or None)
    check_terms(session, listing, row, assets)
    if row.listing_id is None:
        row.listing_id = listing.id
        session.add(row)


def check_terms(session: Session, listing: Listing, terms: LicenceTerms,
                assets: list[Asset], on: dt.date | None = None) -> None:
    """The 422 rules of a licensing listing (create, submit, approve)."""
    on = on or today()
    if terms.upfront_fee is None or terms.upfront_fee <= 0:
        raise Invalid("upfront_fee_not_positive", "the upfront fee must be greater than zero")
    if terms.open:
        if any(a.kind not in PATENT_KINDS for a in assets):
            raise Invalid("open_licence_patents_only",
                          "an open licence is for patents only (专利法 art. 50)")
        if terms.kind != "non_exclusive":
            raise Invalid("open_licence_must_be_non_exclusive",
                          "an open licence is non-exclusive (专利法 art. 51)")
    if listing.loan_id is not None and not terms.pledgor_consent_ref:
        raise Invalid("pledgor_consent_required",
                      "a bank licensing pledged IP acts for the pledgor with its consent "
                      "(民法典 444): give pledgor_consent_ref")
    if listing.loan_id is None and assets:
        pledged = session.scalar(select(PledgeAsset.asset_id).where(
            PledgeAsset.asset_id.in_([a.id for a in assets]), PledgeAsset.active.is_(True)))
        if pledged is not None and not terms.pledgee_consent_ref:
            raise Invalid("pledgee_consent_required",
                          "pledged IP may be licensed only with the pledgee's consent "
                          "(民法典 444): give pledgee_consent_ref")
    for a in assets:
        if any(c.consent_at is None for c in a.co_owners):
            raise Invalid("co_owner_consent_missing",
                          f"asset {a.registry_no} lacks the consent of every co-owner")
    if assets and add_months(on, terms.term_months) > min(a.expires_on for a in assets):
        raise Invalid("term_exceeds_asset",
                      "the licence term runs past the earliest expiry of the assets")


def recheck(session: Session, listing: Listing, assets: list[Asset]) -> None:
    """Submit and approve: the terms again, then conflicts with licences in force."""
    if listing.mode != "licensing":
        return
    terms = terms_of(session, listing.id)
    if terms is None:
        raise Invalid("licensing_terms_required", "a licensing listing needs licensing terms")
    check_terms(session, listing, terms, assets)
    check_conflict(session, [a.id for a in assets], terms.kind, terms.field, terms.territory,
                   listing_id=listing.id)


def terms_dict(session: Session, listing: Listing) -> dict:
    """The listing's licensing fields as the API shows them (empty for other modes)."""
    if listing.mode != "licensing":
        return {}
    t = terms_of(session, listing.id)
    if t is None:
        return {"licensing": None}
    return {"licensing": {"kind": t.kind, "open": t.open, "field": t.field,
                          "territory": t.territory, "term_months": t.term_months,
                          "upfront_fee": t.upfront_fee, "royalty_rate": t.royalty_rate,
                          "minimum_annual_royalty": t.minimum_annual_royalty},
            "pledgor_consent_ref": t.pledgor_consent_ref,
            "pledgee_consent_ref": t.pledgee_consent_ref}


# ---------------------------------------------------------------- conflicts

def _overlap(field_a: str, territory_a: str, field_b: str, territory_b: str) -> bool:
    # An empty field is every field of use.
    same_field = not field_a or not field_b or field_a == field_b
    return same_field and territory_a == territory_b


def check_conflict(session: Session, asset_ids: list[int], kind: str, field: str,
                   territory: str, *, listing_id: int | None = None,
                   licence_id: int | None = None) -> None:
    """409 licence_conflict: nothing over an exclusive or sole licence in force on the same
    asset, field and territory; no exclusive or sole licence beside any other licence in
    force there, nor on an asset under an open licence (专利法 art. 51)."""
    on = today()
    held = session.scalars(
        select(Licence).join(ListingAsset, ListingAsset.listing_id == Licence.listing_id)
        .where(ListingAsset.asset_id.in_(asset_ids), Licence.status.in_(HOLDING_STATUSES))
        .distinct())
    for other in held:
        if other.id == licence_id:
            continue
        if other.status == "active" and other.ends_on is not None and other.ends_on <= on:
            continue  # ran out; the scheduler expires it
        if not _overlap(field, territory, other.field, other.territory):
            continue
        if other.kind in EXCLUDING_KINDS or kind in EXCLUDING_KINDS:
            raise Conflict("licence_conflict",
                           f"licence {other.id} ({other.kind}) holds this field and territory")
    if kind in EXCLUDING_KINDS:
        open_listing = session.scalar(
            select(Listing.id).join(ListingAsset, ListingAsset.listing_id == Listing.id)
            .join(LicenceTerms, LicenceTerms.listing_id == Listing.id)
            .where(ListingAsset.asset_id.in_(asset_ids), LicenceTerms.open.is_(True),
                   Listing.status == "published", Listing.id != (listing_id or 0)).limit(1))
        if open_listing is not None:
            raise Conflict("licence_conflict",
                           f"the asset is under an open licence (listing {open_listing}); "
                           "it takes no exclusive or sole licence (专利法 art. 51)")


# ---------------------------------------------------------------- visibility

def _listing(session: Session, licence: Licence) -> Listing:
    return session.get(Listing, licence.listing_id)


def _asset_ids(listing: Listing) -> list[int]:
    return [la.asset_id for la in listing.assets]


def can_see(user: User, licence: Licence, listing: Listing) -> bool:
    return (user.role == "operator"
            or user.org_id in (licence.licensor_org_id, listing.seller_org_id,
                               licence.licensee_org_id))


def get_licence(session: Session, user: User, licence_id: int, *,
                lock: bool = False) -> tuple[Licence, Listing]:
    if not isinstance(licence_id, int) or not 0 < licence_id <= 2 ** 31 - 1:
        raise NotFound("licence")
    stmt = select(Licence).where(Licence.id == licence_id)
    if lock:
        stmt = stmt.with_for_update()
    licence = session.scalar(stmt)
    if licence is None:
        raise NotFound("licence")
    listing = _listing(session, licence)
    if not can_see(user, licence, listing):
        raise NotFound("licence")
    return licence, listing


def licensor_org_id(session: Session, listing: Listing) -> int:
    """The owner of the listing's assets (the licensor of record)."""
    first = session.get(Asset, listing.assets[0].asset_id)
    return first.owner_org_id


# ---------------------------------------------------------------- applications

def _payable(session: Session, licence: Licence) -> dict:
    days = settings_store.get(session, "licence_payment_days")
    return {"pay_by": utcnow() + dt.timedelta(days=days), "updated_at": utcnow()}


def apply(session: Session, user: User, listing: Listing) -> Licence:
    """An investor or owner applies for (or, open licence, takes) a licence."""
    if listing.mode != "licensing":
        raise Conflict("not_a_licensing_listing", "this listing offers no licence")
    licensor = licensor_org_id(session, listing)
    if user.org_id in (listing.seller_org_id, licensor):
        raise Forbidden("seller_cannot_license",
                        "the seller and the pledgor cannot take a licence of their own IP")
    if listing.status != "published":
        raise Conflict("listing_not_published", f"the listing is {listing.status}")
    mine = session.scalar(select(Licence.id).where(
        Licence.listing_id == listing.id, Licence.licensee_org_id == user.org_id,
        Licence.status.in_(("applied",) + HOLDING_STATUSES)))
    if mine is not None:
        raise Conflict("licence_exists", f"your organisation already has licence {mine} here")
    terms = terms_of(session, listing.id)
    check_conflict(session, _asset_ids(listing), terms.kind, terms.field, terms.territory,
                   listing_id=listing.id)
    now = utcnow()
    licence = Licence(listing_id=listing.id, licensor_org_id=licensor,
                      licensee_org_id=user.org_id, applicant_user_id=user.id,
                      **{k: getattr(terms, k) for k in TERMS}, currency=listing.currency, status="applied", created_at=now,
                      updated_at=now, paid_total=ZERO, commission_total=ZERO,
                      applied_to_loan=ZERO, paid_to_owner=ZERO)
    session.add(licence)
    session.flush()
    audit.record(session, "licence.apply", "licence", licence.id, actor_id=user.id,
                 after={"listing_id": listing.id, "licensee_org_id": user.org_id,
                        "kind": licence.kind, "open": licence.open})
    if licence.open:
        # 专利法 art. 51: whoever accepts the published terms is licensed on paying.
        lifecycle.move(session, licence, "awaiting_payment", actor_id=user.id,
                       reason="open licence", **_payable(session, licence))
    return licence


def _require_seller(user: User, listing: Listing) -> None:
    if user.role not in ("bank", "owner") or user.org_id != listing.seller_org_id:
        raise Forbidden("not_listing_seller", "only the listing's seller decides applications")


def accept(session: Session, user: User, licence: Licence, listing: Listing) -> Licence:
    _require_seller(user, listing)
    if licence.status != "applied":
        raise lifecycle.refuse(licence, "awaiting_payment")
    if listing.status != "published":
        raise Conflict("listing_not_published", f"the listing is {listing.status}")
    check_conflict(session, _asset_ids(listing), licence.kind, licence.field,
                   licence.territory, listing_id=listing.id, licence_id=licence.id)
    lifecycle.move(session, licence, "awaiting_payment", actor_id=user.id,
                   **_payable(session, licence))
    if licence.kind in EXCLUDING_KINDS:
        others = session.scalars(select(Licence).where(
            Licence.listing_id == listing.id, Licence.id != licence.id,
            Licence.status == "applied"))
        for other in others:
            lifecycle.move(session, other, "rejected", actor_id=user.id,
                           reason="an exclusive or sole licence was granted",
                           reject_reason="an exclusive or sole licence was granted",
                           updated_at=utcnow())
        if listing.status == "published":
            transition(session, listing, "licensed", actor_id=user.id,
                       reason=f"licence {licence.id}")
    return licence


def reject(session: Session, user: User, licence: Licence, listing: Listing,
           reason: str) -> Licence:
    _require_seller(user, listing)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason_required", "give the applicant a reason")
    lifecycle.move(session, licence, "rejected", actor_id=user.id, reason=reason,
                   reject_reason=reason, updated_at=utcnow())
    return licence


# ---------------------------------------------------------------- payment

def start_payment(session: Session, user: User, licence: Licence, method: str) -> Payment:
    if user.org_id != licence.licensee_org_id:
        raise Forbidden("not_licensee", "only the licensee pays the licence fee")
    if licence.status != "awaiting_payment":
        raise Conflict("licence_not_payable", f"the licence is {licence.status}")
    return payments.start_payable_payment(
        session, listing_id=licence.listing_id, purpose=PURPOSE, payable_id=licence.id,
        amount=licence.upfront_fee, currency=licence.currency, user=user, method=method,
        due_by=licence.pay_by)


def fee_entry_key(payment_id: int) -> str:
    return f"licence_fee:{payment_id}"


def recovery_source(licence_id: int, payment_id: int) -> str:
    return f"licence:{licence_id}:p{payment_id}"


def on_payment_paid(session: Session, payment: Payment, paid_at: dt.datetime,
                    actor_id: int | None) -> None:
    """Hook payment.paid: the licence becomes active and its fee is distributed, once."""
    if payment.purpose != PURPOSE:
        return
    licence = session.scalar(select(Licence).where(Licence.id == payment.payable_id)
                             .with_for_update())
    if licence is None or licence.status != "awaiting_payment":
        # Money for a licence given up on (cancelled): an operator refunds it.
        audit.record(session, "licence.paid_while_" + (licence.status if licence else "missing"),
                     "payment", payment.id, after={"amount": payment.amount,
                                                   "refund_needed": True})
        return
    on = rules.market_date(paid_at)
    lifecycle.move(session, licence, "active", actor_id=actor_id, starts_on=on,
                   ends_on=add_months(on, licence.term_months), updated_at=utcnow())
    distribute(session, licence, payment, on, actor_id)


def distribute(session: Session, licence: Licence, payment: Payment, on: dt.date,
               actor_id: int | None) -> None:
    """Commission to the exchange; the rest to the listing's loan up to its claim (a
    recovery, 561 order, no shortfall); what remains to the owner."""
    amount = payment.amount
    commission = seller_commission(amount, settings_store.get(session, "seller_commission_rate"))
    rest = amount - commission
    listing = _listing(session, licence)
    applied, to_owner = ZERO, rest
    if listing.loan_id is not None and rest > 0:
        loan = lending.get_loan(session, listing.loan_id)
        if loan.status != "settled" and lending.claim_on(session, loan, on).total > 0:
            got = apply_recovery(session, loan.id, rest, on,
                                 source=recovery_source(licence.id, payment.id),
                                 actor_id=actor_id)
            applied, to_owner = got.applied, got.remainder
            rest = ZERO  # the recovery's entry took it in
    ledger.post_if_any(session, "licence_fee", "payment", payment.id, fee_entry_key(payment.id),
                       [("cash", None, commission + rest, ZERO, f"licence {licence.id} fee"),
                        ("platform_commission", None, ZERO, commission, "seller commission"),
                        ("seller_proceeds", licence.licensor_org_id, ZERO, rest, "to the owner")],
                       memo=f"licence {licence.id}")
    licence.paid_total += amount
    licence.commission_total += commission
    licence.applied_to_loan += applied
    licence.paid_to_owner += to_owner
    session.flush()
    audit.record(session, "licence.fee_distributed", "licence", licence.id, actor_id=actor_id,
                 after={"payment_id": payment.id, "amount": amount, "commission": commission,
                        "applied_to_loan": applied, "to_owner": to_owner, "on": on})


# ---------------------------------------------------------------- scheduler

def _sweep(db, status: str, due_clause, act) -> int:
    """One transaction per due licence still in `status`; `act` says whether it moved."""
    with db.transaction() as s:
        due = list(s.scalars(select(Licence.id).where(Licence.status == status, due_clause)))
    done = 0
    for lid in due:
        with db.transaction() as s:
            licence = s.scalar(select(Licence).where(Licence.id == lid, Licence.status == status)
                               .with_for_update())
            if licence is not None and act(s, licence):
                done += 1
    return done


def _cancel(s: Session, licence: Licence) -> bool:
    for p in s.scalars(select(Payment).where(
            Payment.purpose == PURPOSE, Payment.payable_id == licence.id,
            Payment.status == "pending", Payment.method == "offline")):
        payments.cancel_payment(s, p.id, actor_id=None)
    if not lifecycle.try_move(s, licence, "cancelled", reason="not paid in time",
                              updated_at=utcnow()):
        return False
    listing = _listing(s, licence)
    if licence.kind in EXCLUDING_KINDS and listing.status == "licensed":
        transition(s, listing, "published", actor_id=None,
                   reason=f"licence {licence.id} not paid")
    return True


def cancel_unpaid(db) -> int:
    """Accepted licences not paid by their deadline are cancelled (with their pending
    offline payments); an exclusive or sole listing is published again."""
    return _sweep(db, "awaiting_payment", Licence.pay_by <= utcnow(), _cancel)


def expire(db) -> int:
    """Active licences whose term has ended ([starts_on, ends_on)) expire."""
    return _sweep(db, "active", Licence.ends_on <= today(),
                  lambda s, licence: lifecycle.try_move(s, licence, "expired",
                                                        updated_at=utcnow()))


# ---------------------------------------------------------------- reading

def licence_dict(licence: Licence, listing: Listing) -> dict:
    return {"id": licence.id, "listing_id": licence.listing_id,
            "asset_ids": _asset_ids(listing), "licensee_org_id": licence.licensee_org_id,
            "kind": licence.kind, "open": licence.open, "field": licence.field,
            "territory": licence.territory, "term_months": licence.term_months,
            "starts_on": licence.starts_on, "ends_on": licence.ends_on,
            "upfront_fee": licence.upfront_fee, "royalty_rate": licence.royalty_rate,
            "minimum_annual_royalty": licence.minimum_annual_royalty,
            "status": licence.status, "paid_total": licence.paid_total,
            "applied_to_loan": licence.applied_to_loan, "paid_to_owner": licence.paid_to_owner}


def register_stmt(registry_no: str | None):
    """Licences in force, one row per licensed asset (the public licence register)."""
    on = today()
    licensor = Org.__table__.alias("licensor")
    licensee = Org.__table__.alias("licensee")
    stmt = (select(Asset.registry_no, Licence.kind, licensor.c.name.label("licensor"),
                   licensee.c.name.label("licensee"), Licence.field, Licence.territory,
                   Licence.starts_on, Licence.ends_on)
            .join(ListingAsset, ListingAsset.listing_id == Licence.listing_id)
            .join(Asset, Asset.id == ListingAsset.asset_id)
            .join(licensor, licensor.c.id == Licence.licensor_org_id)
            .join(licensee, licensee.c.id == Licence.licensee_org_id)
            .where(Licence.status == "active", Licence.starts_on <= on, Licence.ends_on > on)
            .order_by(Licence.starts_on.desc(), Licence.id))
    if registry_no:
        stmt = stmt.where(Asset.registry_no == registry_no.strip())
    return stmt


def licences_of_org(session: Session, org_id: int) -> list[Licence]:
    return list(session.scalars(select(Licence).where(Licence.licensee_org_id == org_id)
                                .order_by(Licence.id.desc())))


def applications_of(session: Session, listing_id: int) -> list[Licence]:
    return list(session.scalars(select(Licence).where(Licence.listing_id == listing_id)
                                .order_by(Licence.id)))


# ---------------------------------------------------------------- ledger verify

def verify(session: Session) -> list[str]:
    """Hook ledger.verify: each licence's totals (fee and royalties) add up and match
    its journal entries."""
    problems: list[str] = []
    for licence in session.scalars(select(Licence).where(Licence.paid_total > 0)
                                   .order_by(Licence.id)):
        name = f"licence {licence.id}"
        reports = select(RoyaltyReport.id).where(RoyaltyReport.licence_id == licence.id)
        paid = list(session.scalars(select(Payment).where(
            ((Payment.purpose == PURPOSE) & (Payment.payable_id == licence.id))
            | ((Payment.purpose == "royalty") & Payment.payable_id.in_(reports)),
            Payment.status == "paid")))
        if licence.paid_total != sum((p.amount for p in paid), ZERO):
            problems.append(f"{name}: paid_total ≠ Σ paid payments")
        if licence.paid_total != (licence.commission_total + licence.applied_to_loan
                                  + licence.paid_to_owner):
            problems.append(f"{name}: paid ≠ commission + applied to the loan + to the owner")
        keys = [k for p in paid for k in (fee_entry_key(p.id),
                                          entry_key(recovery_source(licence.id, p.id)))]
        entries = list(session.scalars(select(JournalEntry)
                                       .where(JournalEntry.idempotency_key.in_(keys))))

        def total(account: str, side: str) -> Decimal:
            return sum((getattr(ln, side) for e in entries for ln in e.lines
                        if ln.account == account), ZERO)

        if total("cash", "debit") != licence.paid_total:
            problems.append(f"{name}: cash received in the journal ≠ paid_total")
        if total("platform_commission", "credit") != licence.commission_total:
            problems.append(f"{name}: commission in the journal ≠ its figure")
        if total("bank_recovery", "credit") != licence.applied_to_loan:
            problems.append(f"{name}: applied to the loan in the journal ≠ its figure")
        owner = total("pledgor_surplus", "credit") + total("seller_proceeds", "credit")
        if owner != licence.paid_to_owner:
            problems.append(f"{name}: paid to the owner in the journal ≠ its figure")
    return problems
