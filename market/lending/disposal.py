"""Hook settlement.settled: a bank's sale of IP it took at an agreed value (agreed.py).
Once it has sold every one of those assets the agreed valuation is `disposed` and the
loan's `disposal_deadline` flag is cleared in the same transaction."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..settlement.models import Settlement
from . import agreed, monitoring
from .services import get_loan


def on_settlement_settled(session: Session, st: Settlement) -> None:
    if st.listing_id is None:  # not a sale through a listing (e.g. the agreement itself)
        return
    for av in agreed.mark_disposed(session, st.seller_org_id, st.as_of):
        monitoring.refresh_flags(session, get_loan(session, av.loan_id), st.as_of)
