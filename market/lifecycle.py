"""One lifecycle helper for every stateful model.

A stateful model declares `TRANSITIONS` (from → the set of states it may go to) and
`LIFECYCLE` (its name in audit records and transition rows, e.g. "deposit"). `move()`
checks the table, changes the row with `UPDATE … SET status = :to WHERE id = :id AND
status = :from` — its rowcount says which of two racing transactions won — and writes a
transition row and an audit record in the caller's transaction. A model with its own
history table (Listing) passes `history=False` and writes its own row.

`try_move()` is the variant for exactly-once claims (settle a sale, close a round): it
returns False when another transaction moved the row first, instead of refusing.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from . import audit
from .db import Base, UTCDateTime
from .errors import Conflict
from .timeutil import utcnow


class StateTransition(Base):
    """Every move of a stateful object: which, from, to, who, why, when. Append-only."""

    __tablename__ = "state_transitions"
    __table_args__ = (Index("ix_state_transitions_object", "model", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def allowed(model: type, from_status: str, to_status: str) -> bool:
    return to_status in model.TRANSITIONS.get(from_status, frozenset())


def refuse(obj: Any, to_status: str) -> Conflict:
    return Conflict("invalid_transition",
                    f"a {type(obj).LIFECYCLE} cannot go from {obj.status} to {to_status}")


def try_move(session: Session, obj: Any, to_status: str, *, actor_id: int | None = None,
             reason: str | None = None, action: str | None = None,
             before: dict | None = None, after: Any = None, history: bool = True,
             **values: Any) -> bool:
    """Move `obj` from its current state to `to_status`, setting `values` with it.

    Raises 409 invalid_transition when the table forbids the move from the state the
    object is in. Returns False (writing nothing, `obj` re-read) when the row was no
    longer in that state: another transaction moved it first.

    The audit record says `action` (default "<name>.<to>") with `before` (default the
    old status) and `after` (default the new status and the reason; a callable is called
    with the object once the row has moved, for a snapshot of it as it now is)."""
    model = type(obj)
    from_status = obj.status
    if not allowed(model, from_status, to_status):
        raise refuse(obj, to_status)
    won = session.execute(
        update(model).where(model.id == obj.id, model.status == from_status)
        .values(status=to_status, **values)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        session.refresh(obj)
        return False
    # The row is written; make the loaded object say so without marking it dirty.
    set_committed_value(obj, "status", to_status)
    for key, value in values.items():
        set_committed_value(obj, key, value)
    name = model.LIFECYCLE
    if history:
        session.add(StateTransition(model=name, object_id=obj.id, from_status=from_status,
                                    to_status=to_status, actor_id=actor_id, reason=reason,
                                    at=utcnow()))
    if callable(after):
        after = after(obj)
    elif after is None:
        after = {"status": to_status, "reason": reason} if reason else {"status": to_status}
    audit.record(session, action or f"{name}.{to_status}", name, obj.id, actor_id=actor_id,
                 before={"status": from_status} if before is None else before, after=after)
    session.flush()
    return True


def move(session: Session, obj: Any, to_status: str, **kw: Any) -> None:
    """`try_move`, but losing the race is refused too (409 invalid_transition)."""
    if not try_move(session, obj, to_status, **kw):
        raise refuse(obj, to_status)


def history(session: Session, model: type, object_id: int) -> list[StateTransition]:
    return list(session.scalars(select(StateTransition)
                                .where(StateTransition.model == model.LIFECYCLE,
                                       StateTransition.object_id == object_id)
                                .order_by(StateTransition.id)))
