"""Append-only audit records, written in the same transaction as the change."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, UTCDateTime
from .timeutil import utcnow


class AuditRecord(Base):
    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))


def encode(value: Any) -> str | None:
    """The one encoder of audit before/after texts (every writer of audit rows uses it)."""
    if value is None:
        return None

    def default(o):
        if isinstance(o, Decimal):
            return str(o)
        if isinstance(o, (dt.date, dt.datetime)):
            return o.isoformat()
        return str(o)

    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=default)


def record(
    session: Session,
    action: str,
    object_type: str,
    object_id: int | None,
    *,
    actor_id: int | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditRecord:
    """Add an audit row to the caller's transaction (flushed with it, never alone).

    The request id comes from `session.info["request_id"]`, which the web layer
    (or a job) sets, so services need not know about requests.
    """
    row = AuditRecord(
        at=utcnow(),
        actor_id=actor_id if actor_id is not None else session.info.get("actor_id"),
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=encode(before),
        after=encode(after),
        request_id=session.info.get("request_id"),
    )
    session.add(row)
    return row


def records_for(session: Session, object_type: str, object_id: int) -> list[AuditRecord]:
    stmt = (
        select(AuditRecord)
        .where(AuditRecord.object_type == object_type, AuditRecord.object_id == object_id)
        .order_by(AuditRecord.id)
    )
    return list(session.scalars(stmt))
