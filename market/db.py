"""DeclarativeBase, column types, and the engine/session of each app.

Views, CLI commands and scheduler jobs own the transaction: they get a session
from `get_session()` (one per request or job) and call `commit()` themselves.
Services take that session and plain values and never commit.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import os
import re
from decimal import Decimal
from typing import Iterator

from flask import Flask, current_app, g
from psycopg import RawCursor
from sqlalchemy import BigInteger, DateTime, MetaData, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from .money import from_minor, to_minor

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Money(TypeDecorator):
    """Decimal yuan stored as integer fen: exact on SQLite and PostgreSQL alike."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else to_minor(Decimal(value))

    def process_result_value(self, value, dialect):
        return None if value is None else from_minor(value)


class Rate(TypeDecorator):
    """An exact decimal rate or share ("0.0435"), kept as its decimal string."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out; SQLite keeps them naive, we put the zone back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


# SQLite only: whether the next transaction will write. Writers start with
# BEGIN IMMEDIATE so they hold the database's write lock from the first
# statement; that is what makes read-decide-write safe there (FOR UPDATE
# compiles to nothing on SQLite).
sqlite_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sqlite_write_intent", default=True
)


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            deferred = conn.get_execution_options().get("sqlite_deferred")
            immediate = sqlite_write_intent.get() and not deferred
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # A ping costs a round trip on every checkout, i.e. on every request; recycling old
    # connections covers the usual causes of dead ones. DATABASE_POOL_PRE_PING=1 turns it on
    # where connections die often (e.g. behind a proxy that drops idle ones).
    kw.setdefault("pool_pre_ping", os.environ.get("DATABASE_POOL_PRE_PING") == "1")
    kw.setdefault("pool_recycle", 1800)
    kw.setdefault("pool_size", 5)
    kw.setdefault("max_overflow", 10)
    return create_engine(url, **kw)


class Database:
    """The engine and session factory of one app."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def fetch_one_autocommit(self, sql: str, params: dict) -> tuple | None:
        """PostgreSQL: run one self-contained statement in autocommit (it is its own
        transaction: no BEGIN and COMMIT round trips) on a pooled connection's psycopg
        cursor, prepared on first use; its first row as a tuple (no result metadata).
        `sql` takes %(name)s placeholders."""
        numbered, names = _numbered(sql)
        fairy = self.engine.raw_connection()
        ok = False
        try:
            conn = fairy.driver_connection
            conn.autocommit = True
            row = RawCursor(conn).execute(numbered, [params[n] for n in names],
                                          prepare=True).fetchone()
            conn.autocommit = False
            ok = True
            return row
        finally:
            if ok:
                fairy.close()
            else:  # never hand the pool a connection left in autocommit or broken
                fairy.invalidate()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work for jobs and commands: commit on success, roll back on error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


@functools.lru_cache(maxsize=32)
def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """%(name)s → $n, once per statement: psycopg parses a statement longer than 4 kB
    again on every execute, and that showed in the bid path's profile."""
    names: list[str] = []

    def number(m: re.Match) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql), tuple(names)


def init_app(app: Flask) -> None:
    app.extensions["market.db"] = Database(app.config["DATABASE_URL"])

    def _close_session(exc):
        # Flask-Login caches the user in g: drop it with the session, so two requests
        # sharing an outer app context (tests, CLI) never share a login either.
        g.pop("_login_user", None)
        session = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()

    # A request ends its session even when an outer app context (a test, a CLI
    # command) lives on, so no transaction outlives its request.
    app.teardown_request(_close_session)
    app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["market.db"]


def get_session() -> Session:
    """The session of the current request or app context (created on first use)."""
    if "db_session" not in g:
        g.db_session = database().sessions()
        g.db_session.info["request_id"] = g.get("request_id")
    return g.db_session


def autogenerated(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic include_object: what autogenerate manages. Dialect-specific DDL (an Index
    with .ddl_if(dialect=...), e.g. the PostgreSQL GIN search indexes) has hand-written
    migrations instead, since a migration generated on one backend cannot express it."""
    if type_ == "index" and obj is not None:
        if getattr(obj, "_ddl_if", None) is not None:
            return False
        # Expression indexes (e.g. on coalesce(...)) cannot be reflected on SQLite, so
        # autogenerate could not compare them either: they are hand-written too.
        if any(not hasattr(e, "table") for e in getattr(obj, "expressions", ())):
            return False
    return True


def all_models() -> None:
    """Import every model module so Base.metadata knows the whole schema."""
    import market.accounts.models  # noqa: F401
    import market.audit  # noqa: F401
    import market.lifecycle  # noqa: F401
    import market.settings_store  # noqa: F401
    import market.assets.models  # noqa: F401
    import market.lending.models  # noqa: F401
    import market.payments.models  # noqa: F401
    import market.settlement.models  # noqa: F401
    import market.notifications  # noqa: F401
    import listings.models  # noqa: F401
    import auctions.models  # noqa: F401
