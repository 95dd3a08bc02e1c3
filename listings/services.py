"""Listing use cases: create, edit, submit, moderate, withdraw, costs, visibility.

Services take a Session and plain values and never commit. Every state change goes
through lifecycle.transition() (row + audit). Hooks (market/hooks.py) fired here:
- listing.published(session, listing, now)   on approve
- listing.before_withdraw(session, listing)  before a withdrawal (auctions refuse with bids)
- listing.closed(session, listing, reason)   after withdraw ("withdrawn") / unpublish ("unpublished")
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, lazyload

from market import audit, hooks, settings_store
from market.accounts.models import Org, User
from market.assets.models import Asset
from market.assets.services import transfer_owner
from market.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from market.inputs import MAX_ID
from market.lending.models import Loan, PledgeAsset
from market.timeutil import utcnow

from . import notice, rules, search
from .lifecycle import EDITABLE, transition
from .parties import seller_side_orgs
from .models import MODES, Listing, ListingAsset, ListingCost, PriorityHolder
from .modes import equity_terms, licensing, transfer

# Statuses an outsider may see: the listing has been published at some point.
PUBLIC_STATUSES = ("published", "sold", "failed", "settled", "licensed", "unsold")
# A listing in one of these holds its assets: they cannot be listed again meanwhile.
ACTIVE_STATUSES = ("pending_review", "changes_requested", "published", "sold", "failed",
                   "unsold")
SELLER_ROLES = ("bank", "owner")


def valid_id(value) -> bool:
    return isinstance(value, int) and 0 < value <= MAX_ID
AUCTION_FIELDS = ("start_price", "increment", "deposit", "starts_at", "ends_at",
                  "reserve_price", "allow_proxy", "extension_window_s", "extension_s",
                  "reauction_cut")


# ---------------------------------------------------------------- visibility

def is_seller(user: User | None, listing: Listing) -> bool:
    return (user is not None and user.role in SELLER_ROLES
            and user.org_id == listing.seller_org_id)


def can_see(user: User | None, listing: Listing) -> bool:
    if listing.status in PUBLIC_STATUSES:
        return True
    if user is None:
        return False
    return user.role == "operator" or is_seller(user, listing)


def get_listing(session: Session, user: User | None, listing_id: int, *,
                for_update: bool = False) -> Listing:
    """The listing if the caller may see it; 404 otherwise (existence is not revealed)."""
    if not valid_id(listing_id):
        raise NotFound("listing")
    stmt = select(Listing).where(Listing.id == listing_id)
    if for_update:
        stmt = stmt.with_for_update()
    listing = session.scalar(stmt)
    if listing is None or not can_see(user, listing):
        raise NotFound("listing")
    return listing


def visibility_clause(user: User | None):
    if user is not None and user.role == "operator":
        return None
    public = Listing.status.in_(PUBLIC_STATUSES)
    if user is not None and user.role in SELLER_ROLES:
        return or_(public, Listing.seller_org_id == user.org_id)
    return public


def default_status_clause(user: User | None):
    """Without a status filter: the public sees what is on sale now; sellers also their own."""
    if user is not None and user.role == "operator":
        return None
    if user is not None and user.role in SELLER_ROLES:
        return or_(Listing.status == "published", Listing.seller_org_id == user.org_id)
    return Listing.status == "published"


def listing_assets(session: Session, listing: Listing) -> list[Asset]:
    ids = [la.asset_id for la in listing.assets]
    if not ids:
        return []
    by_id = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


def assets_by_listing(session: Session, listings: list[Listing]) -> dict[int, list[Asset]]:
    ids = {la.asset_id for lst in listings for la in lst.assets}
    if not ids:
        return {}
    # Cards and the listings API show the assets' own columns only: their co-owners and
    # valuations (eager by default) load on access instead of in two queries per page.
    by_id = {a.id: a for a in session.scalars(
        select(Asset).where(Asset.id.in_(ids))
        .options(lazyload(Asset.co_owners), lazyload(Asset.valuations)))}
    return {lst.id: [by_id[la.asset_id] for la in lst.assets if la.asset_id in by_id]
            for lst in listings}


# ---------------------------------------------------------------- create / edit

def _apply_terms(listing: Listing, data: dict[str, Any], session: Session) -> None:
    listing.title = data["title"].strip()
    listing.description = data.get("description")
    listing.mode = data["mode"]
    listing.ask_price = data.get("ask_price")
    terms = data.get("auction")
    if listing.mode == "auction":
        if not terms:
            raise Invalid("auction_terms_required", "an auction listing needs auction terms")
        needed = ("start_price", "increment", "deposit", "starts_at", "ends_at")
        if any(terms.get(k) is None for k in needed):
            raise Invalid("auction_terms_required",
                          "an auction needs start price, increment, deposit, start and end")
        listing.start_price = terms["start_price"]
        listing.increment = terms["increment"]
        listing.deposit = terms["deposit"]
        listing.starts_at = terms["starts_at"]
        listing.ends_at = terms["ends_at"]
        listing.reserve_price = terms.get("reserve_price")
        listing.allow_proxy = bool(terms.get("allow_proxy", False))
        # Not given: the operator's soft-close defaults (settings).
        listing.extension_window_s = terms.get("extension_window_s") \
            or settings_store.get(session, "default_extension_window_s")
        listing.extension_s = terms.get("extension_s") \
            or settings_store.get(session, "default_extension_s")
        if "reauction_cut" in terms:
            listing.reauction_cut = terms["reauction_cut"]
        backstop = terms.get("backstop")
        before = (listing.backstop_org_id, listing.backstop_price)
        if backstop:
            listing.backstop_org_id = backstop["org_id"]
            listing.backstop_price = backstop["price"]
        else:
            listing.backstop_org_id = listing.backstop_price = None
        if (listing.backstop_org_id, listing.backstop_price) != before:
            # The fund accepted other terms (or none): it must accept these anew.
            listing.backstop_accepted_at = listing.backstop_accepted_by = None
    else:
        if terms:
            raise Invalid("auction_terms_not_allowed",
                          f"a {listing.mode} listing takes an ask_price, not auction terms")
        for f in ("start_price", "increment", "deposit", "starts_at", "ends_at",
                  "reserve_price", "backstop_org_id", "backstop_price"):
            setattr(listing, f, None)
    transfer.apply_terms(listing, data)


def _resolve_assets(session: Session, user: User, asset_ids: list[int],
                    loan_id: int | None, *, allow_pledged: bool = False
                    ) -> tuple[list[Asset], Loan | None]:
    """404 for unknown assets/loans, then who may list them (403 / 422)."""
    if not asset_ids:
        raise Invalid("assets_required", "list at least one asset")
    if len(set(asset_ids)) != len(asset_ids):
        raise Invalid("duplicate_assets", "an asset appears twice")
    bad = [i for i in asset_ids if not valid_id(i)]
    if bad:
        raise NotFound(f"asset {bad[0]}")
    found = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(asset_ids)))}
    missing = [i for i in asset_ids if i not in found]
    if missing:
        raise NotFound(f"asset {missing[0]}")
    assets = [found[i] for i in asset_ids]
    loan = None
    if loan_id is not None:
        loan = session.get(Loan, loan_id) if valid_id(loan_id) else None
        if loan is None or user.role != "bank" or loan.bank_org_id != user.org_id:
            raise NotFound("loan")
        if loan.status != "defaulted":
            raise Invalid("loan_not_defaulted",
                          "collateral can be listed only after the loan is declared in default")
        _check_may_list(session, user.org_id, assets, loan, allow_pledged=allow_pledged)
        return assets, loan
    _check_may_list(session, user.org_id, assets, None, allow_pledged=allow_pledged)
    return assets, None


def _check_may_list(session: Session, seller_org_id: int, assets: list[Asset],
                    loan: Loan | None, *, not_owned_status: int = 403,
                    allow_pledged: bool = False) -> None:
    """With a loan: exactly the assets its registered pledge holds. Without: the seller's
    own assets, none under an active pledge (only the pledgee disposes of those). Run on
    create and edit, and again on submit and approve: a pledge or a sale may come between."""
    asset_ids = [a.id for a in assets]
    if loan is not None:
        pledge = loan.pledge  # the current one (collateral may have been replaced)
        pledged = set()
        if pledge is not None and pledge.status == "registered":
            pledged = {pa.asset_id for pa in pledge.items if pa.active}
        if pledged != set(asset_ids):
            raise Invalid("assets_not_pledged_to_loan",
                          "the assets must be exactly those pledged to this loan")
        return
    for a in assets:
        if a.owner_org_id != seller_org_id:
            raise DomainError("asset_not_owned",
                              f"asset {a.registry_no} does not belong to your organisation",
                              not_owned_status)
    pledged = session.scalars(select(PledgeAsset.asset_id).where(
        PledgeAsset.asset_id.in_(asset_ids), PledgeAsset.active.is_(True))).first()
    # An owner may license its pledged IP with the pledgee's consent (民法典 444; the
    # licensing mode checks the consent).
    if pledged is not None and not allow_pledged:
        a = next(a for a in assets if a.id == pledged)
        raise Invalid("asset_pledged",
                      f"asset {a.registry_no} is under a registered pledge; only the pledgee "
                      "can dispose of it")


def _check_backstop_org(session: Session, listing: Listing) -> None:
    org_id = listing.backstop_org_id
    if org_id is not None and (not valid_id(org_id) or session.get(Org, org_id) is None):
        raise NotFound("backstop organisation")
    if org_id is not None and org_id in seller_side_orgs(session, listing):
        raise Invalid("backstop_not_allowed",
                      "托底收购方不得为卖方或出质人（拍卖法第三十条）/ The backstop buyer may "
                      "not be the seller or the pledgor (拍卖法 art. 30)")


def _set_assets(listing: Listing, assets: list[Asset]) -> None:
    wanted = [a.id for a in assets]
    current = [la.asset_id for la in listing.assets]
    if current == wanted:
        return
    listing.assets.clear()
    for pos, a in enumerate(assets):
        listing.assets.append(ListingAsset(asset_id=a.id, position=pos))


def _snapshot(listing: Listing) -> dict:
    return {"title": listing.title, "mode": listing.mode, "loan_id": listing.loan_id,
            "asset_ids": [la.asset_id for la in listing.assets],
            "ask_price": listing.ask_price,
            **{f: getattr(listing, f) for f in AUCTION_FIELDS},
            "backstop_org_id": listing.backstop_org_id, "backstop_price": listing.backstop_price}


def create_listing(session: Session, user: User, data: dict[str, Any]) -> Listing:
    if user.role not in SELLER_ROLES:
        raise Forbidden("forbidden", "only banks and owners create listings")
    if data.get("mode") not in MODES:
        raise Invalid("invalid_mode", f"mode must be one of {', '.join(MODES)}")
    now = utcnow()
    listing = Listing(seller_org_id=user.org_id, created_by=user.id, status="draft",
                      loan_id=data.get("loan_id"), created_at=now, updated_at=now,
                      currency=data.get("currency") or "CNY", search_text="")
    _apply_terms(listing, data, session)
    rules.check_auction_terms(session, listing)
    assets, _loan = _resolve_assets(session, user, list(data.get("asset_ids") or []),
                                    data.get("loan_id"),
                                    allow_pledged=listing.mode == "licensing")
    _check_backstop_org(session, listing)
    rules.check_assets(session, listing, assets)
    transfer.check_terms(session, listing, assets)
    _set_assets(listing, assets)
    search.refresh(session, listing, assets)
    session.add(listing)
    session.flush()
    equity_terms.save(session, listing, data, assets)
    licensing.apply_terms(session, listing, data, assets)
    audit.record(session, "listing.create", "listing", listing.id, actor_id=user.id,
                 after={**_snapshot(listing), **equity_terms.listing_fields(session, listing)})
    return listing


def update_listing(session: Session, user: User, listing: Listing, data: dict[str, Any]) -> Listing:
    """Edit while draft / changes requested / rejected; submit again afterwards."""
    _require_seller(user, listing)
    if listing.status not in EDITABLE:
        raise Conflict("listing_not_editable", f"a {listing.status} listing cannot be edited")
    before = _snapshot(listing)
    data = {**{"title": listing.title, "description": listing.description,
               "mode": listing.mode, "ask_price": listing.ask_price,
               "asset_ids": [la.asset_id for la in listing.assets],
               "loan_id": listing.loan_id}, **data}
    if data.get("mode") not in MODES:
        raise Invalid("invalid_mode", f"mode must be one of {', '.join(MODES)}")
    if data["mode"] == "auction" and not data.get("auction") and listing.start_price is not None:
        data["auction"] = {f: getattr(listing, f) for f in AUCTION_FIELDS}
        if listing.backstop_org_id:
            data["auction"]["backstop"] = {"org_id": listing.backstop_org_id,
                                           "price": listing.backstop_price}
    listing.loan_id = data.get("loan_id")
    _apply_terms(listing, data, session)
    rules.check_auction_terms(session, listing)
    assets, _loan = _resolve_assets(session, user, list(data["asset_ids"]), listing.loan_id,
                                    allow_pledged=listing.mode == "licensing")
    _check_backstop_org(session, listing)
    rules.check_assets(session, listing, assets)
    transfer.check_terms(session, listing, assets)
    _set_assets(listing, assets)
    licensing.apply_terms(session, listing, data, assets)
    search.refresh(session, listing, assets)
    listing.updated_at = utcnow()
    session.flush()
    equity_terms.save(session, listing, data, assets)
    audit.record(session, "listing.update", "listing", listing.id, actor_id=user.id,
                 before=before, after=_snapshot(listing))
    return listing


# ---------------------------------------------------------------- transitions

def _require_seller(user: User, listing: Listing) -> None:
    if user.role not in SELLER_ROLES:
        raise Forbidden("forbidden", "only the listing's seller may do this")
    if not is_seller(user, listing):
        # Others' drafts are invisible; published ones are visible but not theirs.
        if can_see(user, listing):
            raise Forbidden("not_listing_seller", "this listing belongs to another organisation")
        raise NotFound("listing")


def _require_operator(user: User) -> None:
    if user.role != "operator":
        raise Forbidden("forbidden", "only exchange operators moderate listings")


def _check_not_listed_elsewhere(session: Session, listing: Listing) -> None:
    if listing.mode == "licensing":
        return  # only licence_conflict decides between licences
    ids = [la.asset_id for la in listing.assets]
    other = session.scalar(
        select(Listing.id).join(ListingAsset, ListingAsset.listing_id == Listing.id)
        .where(ListingAsset.asset_id.in_(ids), Listing.id != listing.id,
               Listing.mode != "licensing",
               Listing.status.in_(ACTIVE_STATUSES)).limit(1))
    if other is not None:
        raise Conflict("asset_already_listed",
                       f"an asset of this listing is already in listing {other}")


def _recheck(session: Session, listing: Listing) -> None:
    """Rules again: values, legal status and settings may have changed since creation."""
    assets = listing_assets(session, listing)
    rules.check_auction_terms(session, listing)
    loan = None
    if listing.loan_id is not None:
        loan = session.get(Loan, listing.loan_id)
        if loan is None or loan.status != "defaulted":
            raise Invalid("loan_not_defaulted", "the loan is no longer in default")
    _check_may_list(session, listing.seller_org_id, assets, loan, not_owned_status=422,
                    allow_pledged=listing.mode == "licensing")
    rules.check_assets(session, listing, assets)
    equity_terms.recheck(session, listing, assets)
    licensing.recheck(session, listing, assets)
    transfer.check_terms(session, listing, assets)
    _check_not_listed_elsewhere(session, listing)


def submit(session: Session, user: User, listing: Listing) -> Listing:
    _require_seller(user, listing)
    if listing.status not in EDITABLE and listing.status != "unpublished":
        transition(session, listing, "pending_review", actor_id=user.id)  # raises 409
    _recheck(session, listing)
    transition(session, listing, "pending_review", actor_id=user.id)
    return listing


def approve(session: Session, user: User, listing: Listing, now: dt.datetime | None = None) -> Listing:
    _require_operator(user)
    if listing.status != "pending_review":
        transition(session, listing, "published", actor_id=user.id)  # raises 409
    now = now or utcnow()
    moved = notice.apply_notice(session, listing, now)
    _recheck(session, listing)  # against the moved times
    if listing.backstop_org_id is not None and listing.backstop_accepted_at is None:
        raise Conflict("backstop_not_accepted",
                       "托底收购方尚未确认承诺，不能批准 / The backstop fund has not accepted "
                       "its commitment yet")
    listing.reject_reason = None
    transition(session, listing, "published", actor_id=user.id)
    if moved:
        notice.tell_seller(session, listing)
    hooks.fire("listing.published", session, listing, now)
    session.flush()
    return listing


def _reason(text: str | None, code: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid(code, "give a reason the seller can act on")
    return text


def reject(session: Session, user: User, listing: Listing, reason: str) -> Listing:
    _require_operator(user)
    reason = _reason(reason, "reason_required")
    transition(session, listing, "rejected", actor_id=user.id, reason=reason)
    return listing


def request_changes(session: Session, user: User, listing: Listing, comment: str) -> Listing:
    _require_operator(user)
    comment = _reason(comment, "comment_required")
    transition(session, listing, "changes_requested", actor_id=user.id, reason=comment)
    return listing


def withdraw(session: Session, user: User, listing: Listing, reason: str | None = None) -> Listing:
    _require_seller(user, listing)
    if not (listing.status in ("draft", "pending_review", "changes_requested", "rejected",
                               "published", "failed", "unsold")):
        transition(session, listing, "withdrawn", actor_id=user.id)  # raises 409
    hooks.fire("listing.before_withdraw", session, listing)
    was_public = listing.status in PUBLIC_STATUSES
    transition(session, listing, "withdrawn", actor_id=user.id, reason=reason)
    if was_public:
        hooks.fire("listing.closed", session, listing, "withdrawn")
    return listing


def unpublish(session: Session, user: User, listing: Listing, reason: str) -> Listing:
    _require_operator(user)
    reason = _reason(reason, "reason_required")
    transition(session, listing, "unpublished", actor_id=user.id, reason=reason)
    hooks.fire("listing.closed", session, listing, "unpublished")
    return listing


# ---------------------------------------------------------------- costs

def add_cost(session: Session, user: User, listing: Listing, amount: Decimal,
             description: str) -> ListingCost:
    """Disposal costs (appraisal, notices, fees): deducted from the price before the loan."""
    if user.role not in ("bank", "operator"):
        raise Forbidden("forbidden", "only the listing's bank or an operator records costs")
    if user.role == "bank" and user.org_id != listing.seller_org_id:
        if can_see(user, listing):
            raise Forbidden("not_listing_seller", "this listing belongs to another bank")
        raise NotFound("listing")
    if amount is None or amount <= 0:
        raise Invalid("amount_not_positive", "a cost must be greater than zero")
    description = (description or "").strip()
    if not description:
        raise Invalid("description_required", "describe the cost")
    if listing.status == "settled":
        raise Conflict("listing_settled", "the sale is settled; costs can no longer change")
    cost = ListingCost(listing_id=listing.id, amount=amount, description=description,
                       created_by=user.id, created_at=utcnow())
    session.add(cost)
    session.flush()
    audit.record(session, "listing.cost", "listing", listing.id, actor_id=user.id,
                 after={"cost_id": cost.id, "amount": amount, "description": description})
    return cost


def disposal_costs_total(session: Session, listing_id: int) -> Decimal:
    """Sum of the disposal costs recorded on a listing (settlement deducts it)."""
    amounts = session.scalars(select(ListingCost.amount)
                              .where(ListingCost.listing_id == listing_id))
    return sum(amounts, Decimal("0.00")).quantize(Decimal("0.01"))


def costs_of(session: Session, listing_id: int) -> list[ListingCost]:
    return list(session.scalars(select(ListingCost).where(ListingCost.listing_id == listing_id)
                                .order_by(ListingCost.id)))


def transfer_sold_assets(session: Session, settlement) -> None:
    """Hook settlement.settled: the price is paid, so the listing's assets now belong to
    the buyer's organisation (recorded per asset in the audit log)."""
    if settlement.listing_id is None:  # a sale no listing made
        return
    if settlement.sale_ref.startswith("equity:"):  # the IP goes to the company (modes/equity)
        return
    listing = session.get(Listing, settlement.listing_id)
    if listing is None or settlement.buyer_org_id is None:
        return
    for item in listing.assets:
        transfer_owner(session, item.asset_id, settlement.buyer_org_id,
                       reason=f"sale {settlement.sale_ref}, settlement {settlement.id}")


def register_priority_holder(session: Session, user: User, listing: Listing, *, org_id: int,
                             rank: int, basis: str) -> "PriorityHolder":
    """An operator registers a holder of a priority right (优先购买权: a co-owner, an
    exclusive licensee…) with its rank (1 is the best). At an equal price the holder wins,
    the better rank first. Auctions learn of it through the hook, so a holder who already
    qualified gets the rank at once."""
    _require_operator(user)
    if listing.mode != "auction":
        raise Conflict("not_an_auction", "priority rights apply to auctions")
    if listing.status in ("sold", "settled", "withdrawn", "rejected"):
        raise Conflict("listing_closed", f"the listing is {listing.status}")
    if session.get(Org, org_id) is None:
        raise NotFound("organisation")
    if org_id == listing.seller_org_id:
        raise Invalid("holder_is_seller", "the seller cannot hold a priority right on its sale")
    exists = session.scalar(select(PriorityHolder.id).where(
        PriorityHolder.listing_id == listing.id,
        (PriorityHolder.org_id == org_id) | (PriorityHolder.rank == rank)))
    if exists:
        raise Conflict("priority_holder_exists",
                       "this organisation or this rank is already registered on the listing")
    holder = PriorityHolder(listing_id=listing.id, org_id=org_id, rank=rank, basis=basis,
                            registered_by=user.id, registered_at=utcnow())
    session.add(holder)
    session.flush()
    audit.record(session, "listing.priority_holder", "listing", listing.id, actor_id=user.id,
                 after={"org_id": org_id, "rank": rank, "basis": basis})
    hooks.fire("listing.priority_holder_registered", session, listing, holder)
    return holder


def accept_backstop(session: Session, user: User, listing_id: int) -> Listing:
    """托底式收购 binds once a user of the named fund, whatever its role, accepts it
    (API.md "Backstop purchase"); to anyone else the listing's backstop does not exist."""
    listing = session.scalar(select(Listing).where(Listing.id == listing_id).with_for_update()) \
        if valid_id(listing_id) else None
    if listing is None or listing.backstop_org_id is None \
            or listing.backstop_org_id != user.org_id:
        raise NotFound("listing")
    if listing.backstop_accepted_at is not None:
        raise Conflict("backstop_already_accepted",
                       "托底承诺已确认 / The backstop has already been accepted")
    if listing.status in ("sold", "settled", "withdrawn", "failed"):
        raise Conflict("invalid_transition", f"the listing is {listing.status}")
    listing.backstop_accepted_at, listing.backstop_accepted_by = utcnow(), user.id
    audit.record(session, "listing.backstop_accepted", "listing", listing.id, actor_id=user.id,
                 after={"org_id": user.org_id, "price": listing.backstop_price})
    session.flush()
    return listing
