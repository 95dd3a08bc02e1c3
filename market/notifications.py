"""In-app notifications (and e-mail through SMTP when configured)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, UTCDateTime
from .timeutil import utcnow


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


def notify(session: Session, user_id: int, kind: str, subject: str, body: str = "",
           link: str | None = None) -> Notification:
    """Queue a notification in the caller's transaction; e-mail goes out later, by a job."""
    n = Notification(user_id=user_id, kind=kind, subject=subject, body=body, link=link,
                     created_at=utcnow())
    session.add(n)
    return n


def unread(session: Session, user_id: int, limit: int = 20) -> list[Notification]:
    stmt = (select(Notification).where(Notification.user_id == user_id,
                                       Notification.read_at.is_(None))
            .order_by(Notification.id.desc()).limit(limit))
    return list(session.scalars(stmt))
