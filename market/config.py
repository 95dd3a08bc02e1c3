"""Settings from the environment (API.md lists them), one class per mode."""
from __future__ import annotations

import os
import secrets
from decimal import Decimal

from argon2 import DEFAULT_MEMORY_COST, DEFAULT_PARALLELISM, DEFAULT_TIME_COST
from .websecurity import secure_cookie_setting


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value in (None, "") else value


class Config:
    def __init__(self, instance_path: str) -> None:
        self.SECRET_KEY = _env("SECRET_KEY", "") or self._instance_secret(instance_path)
        self.DATABASE_URL = _env(
            "DATABASE_URL", "sqlite:///" + os.path.join(instance_path, "exchange.sqlite3")
        )
        self.MARKET_TIMEZONE = _env("MARKET_TIMEZONE", "Asia/Shanghai")
        self.MARKET_MIN_AUCTION_SECONDS = int(_env("MARKET_MIN_AUCTION_SECONDS", "86400"))
        # Tests and demos only: a transfer's disclosure period lasts this many seconds
        # from publication instead of working days (unset: working days).
        disclosure = _env("MARKET_DISCLOSURE_SECONDS", "")
        self.MARKET_DISCLOSURE_SECONDS = int(disclosure) if disclosure else None
        self.MARKET_SELLER_COMMISSION_RATE = Decimal(_env("MARKET_SELLER_COMMISSION_RATE", "0.01"))
        self.MARKET_BUYER_PREMIUM_RATE = Decimal(_env("MARKET_BUYER_PREMIUM_RATE", "0"))
        # Notice before an auction / a re-auction (法释〔2016〕18号 arts. 12, 26; 拍卖法 45).
        self.MARKET_MIN_NOTICE_SECONDS = int(_env("MARKET_MIN_NOTICE_SECONDS", "2592000"))
        self.MARKET_REAUCTION_NOTICE_SECONDS = int(_env("MARKET_REAUCTION_NOTICE_SECONDS",
                                                        "1296000"))
        self.STRIPE_SECRET_KEY = _env("STRIPE_SECRET_KEY", "")
        self.STRIPE_WEBHOOK_SECRET = _env("STRIPE_WEBHOOK_SECRET", "")
        self.STRIPE_API_BASE = _env("STRIPE_API_BASE", "")
        # Stripe takes at most 8 digits in minor units per charge (¥999,999.99); IP prices
        # are often larger, and those are paid by bank transfer.
        self.STRIPE_MAX_AMOUNT = Decimal(_env("STRIPE_MAX_AMOUNT", "999999.99"))
        self.SMTP_URL = _env("SMTP_URL", "")
        self.MAIL_FROM = _env("MAIL_FROM", "noreply@ipx.example")
        self.UPLOAD_FOLDER = _env("UPLOAD_FOLDER", os.path.join(instance_path, "uploads"))
        self.MAX_CONTENT_LENGTH = int(_env("MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_ENABLED = _env("RATELIMIT_ENABLED", "1") == "1"
        self.LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")  # per address
        # Failed logins on one account, from any address (market/accounts/login_limit.py).
        self.LOGIN_ACCOUNT_RATE_LIMIT = _env("LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes")
        self.TOKEN_RATE_LIMIT = _env("TOKEN_RATE_LIMIT", "20 per minute")
        # argon2id cost of new password hashes (argon2-cffi's defaults unless set). A hash
        # carries its own cost, so logins keep working when these change.
        self.PASSWORD_HASH_TIME_COST = int(_env("PASSWORD_HASH_TIME_COST",
                                                str(DEFAULT_TIME_COST)))
        self.PASSWORD_HASH_MEMORY_KIB = int(_env("PASSWORD_HASH_MEMORY_KIB",
                                                 str(DEFAULT_MEMORY_COST)))
        self.PASSWORD_HASH_PARALLELISM = int(_env("PASSWORD_HASH_PARALLELISM",
                                                  str(DEFAULT_PARALLELISM)))
        self.BABEL_DEFAULT_LOCALE = "zh"
        self.BABEL_DEFAULT_TIMEZONE = self.MARKET_TIMEZONE
        self.LANGUAGES = ["zh", "en"]
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        # None: on unless debugging or testing (market.websecurity.init_app decides).
        self.SESSION_COOKIE_SECURE = secure_cookie_setting(_env("SESSION_COOKIE_SECURE", ""))
        self.WTF_CSRF_TIME_LIMIT = None
        # flask-smorest: the OpenAPI document is served at /api/openapi.json
        self.API_TITLE = "IP Exchange API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"

    @staticmethod
    def _instance_secret(instance_path: str) -> str:
        """A stable per-install secret so sessions survive restarts of the embedded default."""
        path = os.path.join(instance_path, "secret_key")
        os.makedirs(instance_path, exist_ok=True)
        if not os.path.exists(path):
            with open(path, "w") as fh:
                fh.write(secrets.token_hex(32))
        with open(path) as fh:
            return fh.read().strip()
