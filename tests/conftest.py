"""Shared fixtures: a real database (PostgreSQL when TEST_DATABASE_URL is set, else a
SQLite file), the app, clients, and helpers to make users, tokens and logins.

The schema is built once per run by the Alembic migrations (as `flask db upgrade`
does); every test starts from empty tables.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from market import timeutil
from market.app import all_models, create_app
from market.db import Base, database
from market.extensions import limiter

pytest_plugins = ["tests.stripe_fixtures"]

PASSWORD = "correct-horse-battery"
# argon2 at its production cost was 40–49% of the suite's time; the tests check what is
# hashed and verified, not how slowly (market/config.py holds the production default).
CHEAP_HASHING = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8,
                 "PASSWORD_HASH_PARALLELISM": 1}


def _pg_admin_url(url: str) -> str:
    base, _, _name = url.rpartition("/")
    return base + "/postgres"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        yield f"sqlite:///{path}"
        return
    # A fresh database per run (per xdist worker), dropped at the end.
    name = f"ipx_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(_pg_admin_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rpartition("/")[0] + "/" + name
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    all_models()
    if os.environ.get("IPX_TEST_CREATE_ALL"):
        Base.metadata.create_all(database(app).engine)
    else:
        from market.cli import upgrade
        upgrade(app)
    database(app).engine.dispose()
    return database_url


def _truncate(app) -> None:
    engine = database(app).engine
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                              + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def app_config(_schema, tmp_path):
    return {
        "DATABASE_URL": _schema,
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "MARKET_MIN_AUCTION_SECONDS": 86400,
        **CHEAP_HASHING,
        # Most tests open an auction soon after approval and the next round a day after a
        # failure; tests of the notice periods set the real defaults (API.md) back.
        "MARKET_MIN_NOTICE_SECONDS": 0,
        "MARKET_REAUCTION_NOTICE_SECONDS": 86400,
    }


# Set per test on a shared app (each test has its own upload folder).
_PER_TEST = ("UPLOAD_FOLDER",)
# What a test may change on the app it is given; put back after it.
_HOOK_TABLES = ("before_request_funcs", "after_request_funcs", "teardown_request_funcs",
                "template_context_processors", "url_value_preprocessors",
                "url_default_functions")


@pytest.fixture(scope="session")
def _apps():
    """One app per distinct config for the whole run (building one costs more than most
    tests); a test with special config gets the app built for that config."""
    apps: dict = {}
    yield apps
    for app, _ in apps.values():
        database(app).engine.dispose()


def _app_key(config: dict):
    return tuple(sorted((k, repr(v)) for k, v in config.items() if k not in _PER_TEST))


@pytest.fixture
def app(app_config, _apps):
    if app_config.get("RATELIMIT_ENABLED"):
        # flask-limiter keeps its counters and switch in one object for the process,
        # set by the last app built: such an app is built for its test alone.
        app = create_app(app_config)
        _truncate(app)
        yield app
        database(app).engine.dispose()
        return
    key = _app_key(app_config)
    if key in _apps:
        app, pristine = _apps[key]
        limiter.init_app(app)  # switches the shared limiter back off (nothing else)
    else:
        app = create_app(app_config)
        pristine = (dict(app.config), {name: {k: list(v) for k, v in getattr(app, name).items()}
                                       for name in _HOOK_TABLES}, app.wsgi_app)
        _apps[key] = (app, pristine)
    for k in _PER_TEST:
        app.config[k] = app_config[k]
    _truncate(app)
    yield app
    config, hooks, app.wsgi_app = pristine
    app.config.clear()
    app.config.update(config)
    for name, table in hooks.items():
        live = getattr(app, name)
        live.clear()
        live.update({k: list(v) for k, v in table.items()})


@pytest.fixture(autouse=True)
def _wall_clock():
    """Tests may move the exchange's clock on (timeutil.advance); each starts at real time."""
    yield
    timeutil.reset_clock()


@pytest.fixture
def db(app):
    """A session for arranging and asserting directly against the database.

    On SQLite its transactions begin deferred, so reading here never holds the write
    lock; still, commit (or roll back) after arranging data, before the next request.
    """
    engine = database(app).engine.execution_options(sqlite_deferred=True)
    with app.app_context():
        s = database(app).sessions(bind=engine)
        yield s
        s.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Actors:
    """Makes organisations, users and API tokens; logs users in."""

    def __init__(self, app):
        self.app = app

    def user(self, role: str, org: str | None = None, org_kind: str | None = None,
             email: str | None = None, password: str = PASSWORD):
        from market.accounts import services

        kind = org_kind or {"bank": "bank", "operator": "exchange", "investor": "investor",
                            "owner": "enterprise", "regulator": "regulator"}[role]
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        with self.app.app_context(), database(self.app).transaction() as s:
            o = services.get_or_create_org(s, org or f"{role} org {uuid.uuid4().hex[:6]}", kind)
            u = services.create_user(s, email, password, role, o)
            return {"id": u.id, "email": email, "password": password, "org_id": o.id,
                    "role": role}

    def token(self, user: dict) -> str:
        from market.accounts import services

        with self.app.app_context(), database(self.app).transaction() as s:
            u = services.find_user_by_email(s, user["email"])
            return services.issue_token(s, u, "test")[1]

    def api(self, role: str, **kw) -> "ApiClient":
        user = self.user(role, **kw)
        return ApiClient(self.app.test_client(), self.token(user), user)

    def login(self, client, user: dict):
        resp = client.post("/login", data={"email": user["email"], "password": user["password"]})
        assert resp.status_code == 302, resp.data[:500]
        return client


class ApiClient:
    """A test client that sends a bearer token and JSON."""

    def __init__(self, client, token: str, user: dict):
        self.client, self.token, self.user = client, token, user
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json if json is not None else {}, headers=self.headers, **kw)

    def put(self, url, json=None, **kw):
        return self.client.put(url, json=json, headers=self.headers, **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self.headers, **kw)


@pytest.fixture
def actors(app):
    return Actors(app)


@pytest.fixture(autouse=True)
def _ledger_verifies_after_every_scenario(request):
    """`flask ledger verify` holds after every test that touched the database: every
    journal entry balances and every settlement's figures match its entries. A test that
    breaks the ledger on purpose (to see verify catch it) is marked `ledger_broken`."""
    yield
    app = request.node.funcargs.get("app") if hasattr(request.node, "funcargs") else None
    if app is None or request.node.get_closest_marker("ledger_broken"):
        return
    from market.settlement.cli import verify

    with app.app_context(), database(app).transaction() as s:
        problems = verify(s)
    assert problems == [], "ledger verify failed after this test:\n" + "\n".join(problems)
