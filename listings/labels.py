"""Human labels (translated) for listing statuses, modes and IP kinds."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from market.assets.labels import KIND_LABELS, METHOD_LABELS  # noqa: F401 (re-exported)

from market.timeutil import utcnow

STATUS_LABELS = {
    "draft": _l("Draft"),
    "pending_review": _l("Pending review"),
    "changes_requested": _l("Changes requested"),
    "rejected": _l("Rejected"),
    "published": _l("Published"),
    "unpublished": _l("Unpublished"),
    "withdrawn": _l("Withdrawn"),
    "sold": _l("Sold"),
    "failed": _l("No sale"),
    "settled": _l("Settled"),
}
STATUS_BADGE = {"published": "ok", "sold": "ok", "settled": "ok", "pending_review": "warn",
                "changes_requested": "warn", "rejected": "bad", "failed": "bad",
                "unpublished": "bad", "withdrawn": "", "draft": ""}
MODE_LABELS = {
    "auction": _l("Auction"),
    "transfer": _l("Listed transfer"),
    "licensing": _l("Licensing"),
    "equity": _l("Equity contribution"),
}
LEGAL_LABELS = {"valid": _l("In force"), "lapsed": _l("Lapsed"), "invalid": _l("Invalidated"),
                "expired": _l("Expired")}
PLEDGE_LABELS = {"registered": _l("Registered"), "released": _l("Released"),
                 "enforced": _l("Enforced")}
LOAN_LABELS = {"performing": _l("Performing"), "defaulted": _l("Defaulted"),
               "settled": _l("Settled")}
SORT_LABELS = {"newest": _l("Newest"), "price_asc": _l("Price: low to high"),
               "price_desc": _l("Price: high to low"), "closing": _l("Closing soonest")}


def time_left(ends_at: dt.datetime | None) -> str:
    if ends_at is None:
        return "—"
    secs = int((ends_at - utcnow()).total_seconds())
    if secs <= 0:
        return _("Ended")
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(d)sd %(h)sh", d=days, h=hours)
    if hours:
        return _("%(h)sh %(m)sm", h=hours, m=minutes)
    return _("%(m)sm", m=max(minutes, 1))
