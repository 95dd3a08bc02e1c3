"""Questions a lower package asks of the packages above it.

The core never imports listings or auctions, and no package reads another's tables by
name (a table taken out of the shared metadata is a hidden upward import). Instead the
lower package declares a `Provider` here or in its own module, and the upper package
answers it in its init_app, as it registers its blueprints. Hooks (market/hooks.py) announce events to
any number of handlers; a provider is one answer to one question.

Providing again replaces the answer (create_app may run many times: tests).

Declared in the core:
- sale_sources()                  listings: a selectable of (id, mode), one row per
                                  thing a sale can come from (settlement's recovery
                                  figures group by mode)
- describe_sale_source(session, source_id) → SaleSource | None
                                  listings: what a sale's source is (payments refuse
                                  a balance payment for one that does not exist)
- asset_in_live_listing(session, asset_ids) → listing id | None
                                  listings: a listing that holds one of these assets now
                                  (an agreed valuation is refused while one does)
- assets_sold_by(session, seller_org_id, asset_ids, since) → set of asset ids
                                  listings: those sold (sale settled) in listings of that
                                  seller created at or after `since` (an agreed valuation
                                  is disposed when every asset is)
Declared elsewhere:
- listings.browse.auction_rounds  auctions: the current round's figures for cards
- listings.browse.live_rounds     auctions: the rounds' selectable (filters and sorts)
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Generic, Protocol, Sequence, TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause

F = TypeVar("F", bound=Callable)


class Provider(Generic[F]):
    """A named slot for one function, filled by the package that knows the answer."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._answer: F | None = None

    def provide(self, func: F) -> F:
        self._answer = func
        return func

    @property
    def provided(self) -> bool:
        return self._answer is not None

    def get(self) -> F | None:
        """The answer, or None when no installed package gives one."""
        return self._answer

    def __repr__(self) -> str:
        return f"<Provider {self.name} {'provided' if self.provided else 'empty'}>"


@dataclass(frozen=True)
class SaleSource:
    """What a sale came from: its disposal mode, id and title."""

    mode: str
    id: int
    title: str


class SaleSources(Protocol):
    def __call__(self) -> FromClause: ...


class DescribeSaleSource(Protocol):
    def __call__(self, session: Session, source_id: int) -> SaleSource | None: ...


sale_sources: Provider[SaleSources] = Provider("sale_sources")
describe_sale_source: Provider[DescribeSaleSource] = Provider("describe_sale_source")


class AssetInLiveListing(Protocol):
    def __call__(self, session: Session, asset_ids: Sequence[int]) -> int | None: ...


class AssetsSoldBy(Protocol):
    def __call__(self, session: Session, seller_org_id: int, asset_ids: Sequence[int],
                 since: dt.datetime) -> set[int]: ...


asset_in_live_listing: Provider[AssetInLiveListing] = Provider("asset_in_live_listing")
assets_sold_by: Provider[AssetsSoldBy] = Provider("assets_sold_by")
