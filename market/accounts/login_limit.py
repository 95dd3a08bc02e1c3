"""How many times one may try to log in: per address and per account, counted in the
limiter's shared store (Flask-Limiter's storage, RATELIMIT_STORAGE_URI) so every worker
sees the same counts — a memory:// store counts per process, and N workers would let
N times the setting through. Set RATELIMIT_STORAGE_URI to a shared store (redis://...) when
running more than one worker.

LOGIN_RATE_LIMIT bounds attempts from one address; LOGIN_ACCOUNT_RATE_LIMIT bounds failed
attempts on one account from anywhere (a guesser spread over many addresses), and a
successful login clears the account's count.
"""
from __future__ import annotations

import hashlib
import time

from flask import current_app
from limits import parse

from ..extensions import limiter

NAMESPACE = "login"


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED")) and limiter.enabled


def _account_key(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]


def _checks(ip: str, email: str):
    cfg = current_app.config
    return ((parse(cfg["LOGIN_RATE_LIMIT"]), "ip", ip or "-"),
            (parse(cfg["LOGIN_ACCOUNT_RATE_LIMIT"]), "account", _account_key(email)))


def locked_for(ip: str, email: str) -> int | None:
    """Seconds until another attempt is allowed, or None when one is allowed now."""
    if not _enabled():
        return None
    for item, scope, key in _checks(ip, email):
        if not limiter.limiter.test(item, NAMESPACE, scope, key):
            reset_at, _left = limiter.limiter.get_window_stats(item, NAMESPACE, scope, key)
            return max(1, int(reset_at - time.time()) + 1)
    return None


def count_attempt(ip: str, email: str, *, failed: bool) -> None:
    """Every attempt counts against the address; a failed one against the account too,
    and a successful one clears the account's count."""
    if not _enabled():
        return
    (ip_item, _s, ip_key), (acct_item, _a, acct_key) = _checks(ip, email)
    limiter.limiter.hit(ip_item, NAMESPACE, "ip", ip_key)
    if failed:
        limiter.limiter.hit(acct_item, NAMESPACE, "account", acct_key)
    else:
        limiter.limiter.clear(acct_item, NAMESPACE, "account", acct_key)
