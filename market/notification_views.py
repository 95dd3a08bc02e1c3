"""The notifications page: one's own in-app notifications, marked read one by one or all
at once. Routed on the web shell's blueprint, so endpoints stay `web.*`."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select, update

from .db import get_session, transactional
from .notifications import Notification
from .timeutil import utcnow
from .web import bp, existing_id, safe_next


@bp.route("/notifications")
@login_required
def notifications():
    s = get_session()
    rows = list(s.scalars(select(Notification).where(Notification.user_id == current_user.id)
                          .order_by(Notification.id.desc()).limit(100)))
    return render_template("market/notifications.html", rows=rows)


def _own_notification(s, notification_id: int) -> Notification:
    n = s.get(Notification, existing_id(notification_id))
    if n is None or n.user_id != current_user.id:
        abort(404)
    return n


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
@transactional
def read_notification(notification_id: int):
    """Mark one as read; with open=1, go on to what it is about."""
    n = _own_notification(get_session(), notification_id)
    if n.read_at is None:
        n.read_at = utcnow()
    if request.form.get("open") and n.link:
        return redirect(safe_next(n.link, url_for("web.notifications")))
    return redirect(url_for("web.notifications"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
@transactional
def read_all_notifications():
    get_session().execute(
        update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()))
    flash(_("All notifications marked as read."), "info")
    return redirect(url_for("web.notifications"))
