"""Who may see an asset and who may change it (API.md "Assets"): the one place the API and
the pages ask, so the two cannot drift apart.

Changing an asset (its legal status, expiry, fee date) and adding a valuation:
- while no active pledge holds it: its owner organisation, the organisation that
  registered it (the bank that booked it), or an operator;
- under an active pledge: the pledgee bank of that pledge or an operator; the owner
  organisation may still propose a valuation, which counts only once applied.
A proposal is applied by whoever may change the asset now (under the pledge: the pledgee
or an operator). A co-owner's consent is recorded by that co-owner organisation or an
operator. Anyone else is answered as if the asset did not exist (404).

Seeing an asset: operators and banks see every asset (the collateral book, as the asset
pages show it); an owner organisation its own and those it co-owns (these are the asset
lists); everyone, one at a time, an asset that a public page shows (the hook `asset.public_ids`, registered by listings, returns a
query of those ids: market's core does not import listings).
"""
from __future__ import annotations

import enum

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from .. import hooks
from ..accounts.models import User
from ..lending.models import Loan, Pledge, PledgeAsset
from .models import Asset, AssetCoOwner

SEE_ALL_ROLES = ("operator", "bank")
WRITE_ROLES = ("operator", "bank", "owner")


class Right(enum.Enum):
    NONE = "none"
    PROPOSE = "propose"  # the owner of a pledged asset: its valuations wait to be applied
    CHANGE = "change"


def pledgee_org_id(session: Session, asset_id: int) -> int | None:
    """The bank organisation of the asset's active pledge, if any."""
    return session.scalar(
        select(Loan.bank_org_id).select_from(PledgeAsset)
        .join(Pledge, Pledge.id == PledgeAsset.pledge_id).join(Loan, Loan.id == Pledge.loan_id)
        .where(PledgeAsset.asset_id == asset_id, PledgeAsset.active.is_(True)).limit(1))


def registrar_org_id(session: Session, asset: Asset) -> int | None:
    """The organisation whose user registered the asset."""
    if asset.created_by is None:
        return None
    return session.scalar(select(User.org_id).where(User.id == asset.created_by))


def change_right(session: Session, user: User | None, asset: Asset) -> Right:
    """What the user may do to the asset's legal status and valuations."""
    if user is None or user.role not in WRITE_ROLES:
        return Right.NONE
    if user.role == "operator":
        return Right.CHANGE
    pledgee = pledgee_org_id(session, asset.id)
    if pledgee is not None:
        if user.role == "bank" and user.org_id == pledgee:
            return Right.CHANGE
        if user.org_id == asset.owner_org_id:
            return Right.PROPOSE
        return Right.NONE
    if user.org_id in (asset.owner_org_id, registrar_org_id(session, asset)):
        return Right.CHANGE
    return Right.NONE


def may_record_consent(user: User | None, co_owner_org_id: int) -> bool:
    """Only the co-owner itself (or an operator) says it consents to a pledge."""
    if user is None or user.role not in WRITE_ROLES:
        return False
    return user.role == "operator" or user.org_id == co_owner_org_id


def is_party(user: User | None, asset: Asset) -> bool:
    """Operators, banks, the owner and the co-owners see the whole record (proposals too)."""
    if user is None:
        return False
    if user.role in SEE_ALL_ROLES:
        return True
    if user.role != "owner":
        return False
    return user.org_id == asset.owner_org_id or any(
        c.org_id == user.org_id for c in asset.co_owners)


def _public_ids(session: Session) -> list[Select]:
    return [q for q in hooks.fire("asset.public_ids", session) if q is not None]


def party_clause(user: User | None):
    """A WHERE clause over Asset for the assets the user is a party to (None: all): what
    the asset lists show. A published listing's assets are found through the listing."""
    if user is not None and user.role in SEE_ALL_ROLES:
        return None
    if user is None or user.role != "owner":
        return Asset.id.is_(None)
    return or_(Asset.owner_org_id == user.org_id,
               Asset.id.in_(select(AssetCoOwner.asset_id)
                            .where(AssetCoOwner.org_id == user.org_id)))


def may_see(session: Session, user: User | None, asset: Asset) -> bool:
    """One asset: its parties, and anyone when a public page shows it."""
    if is_party(user, asset):
        return True
    return any(session.scalar(select(Asset.id).where(Asset.id == asset.id, Asset.id.in_(q)))
               is not None for q in _public_ids(session))
