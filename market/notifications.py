"""In-app notifications (and e-mail through SMTP when configured)."""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import ForeignKey, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .accounts.models import User
from .db import Base, UTCDateTime
from .timeutil import utcnow

log = logging.getLogger("market.notifications")


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


def _smtp(url: str):
    """An SMTP connection from SMTP_URL: smtp://[user:password@]host[:port] (smtps:// for
    TLS from the start)."""
    parts = urlsplit(url)
    cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    conn = cls(parts.hostname or "localhost", parts.port or (465 if parts.scheme == "smtps" else 25),
               timeout=10)
    if parts.username:
        conn.login(unquote(parts.username), unquote(parts.password or ""))
    return conn


def send_email(db, app=None) -> int:
    """Scheduler job: e-mail the notifications not yet e-mailed, where SMTP is configured.
    Each is claimed (emailed_at set and committed) before it is sent, so two schedulers
    never send one twice; a send that fails is logged, not retried (the app shows it)."""
    config = (app or current_app).config
    if not config.get("SMTP_URL"):
        return 0
    with db.transaction() as s:
        rows = s.execute(select(Notification.id, Notification.subject, Notification.body,
                                Notification.link, User.email)
                         .join(User, User.id == Notification.user_id)
                         .where(Notification.emailed_at.is_(None))
                         .order_by(Notification.id).limit(50)).all()
        mine = [r for r in rows if s.execute(
            update(Notification).where(Notification.id == r.id, Notification.emailed_at.is_(None))
            .values(emailed_at=utcnow())).rowcount == 1]
    if not mine:
        return 0
    try:
        conn = _smtp(config["SMTP_URL"])
    except (OSError, smtplib.SMTPException):
        log.exception("SMTP unavailable; %d notifications not e-mailed", len(mine))
        return len(mine)
    with conn:
        for r in mine:
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = config.get("MAIL_FROM"), r.email, r.subject
            msg.set_content(r.body + (f"\n\n{r.link}" if r.link else ""))
            try:
                conn.send_message(msg)
            except smtplib.SMTPException:
                log.exception("e-mail of notification %s failed", r.id)
    return len(mine)
