"""Browser tests: a real HTTP server on the test database and headless Debian Chromium.

Fixtures
- `live_server`: base URL ("http://127.0.0.1:PORT") of the app served by werkzeug in a
  background thread, CSRF on, same database as the `app`/`db`/`actors` fixtures (tables
  are emptied by `app` before each test). `live_app` is the Flask app it serves (for
  `live_app.app_context()` or registering something before the server starts).
- `browser`: one Chromium per session (/usr/bin/chromium, headless).
- `page`: a fresh context (locale zh-CN) and page per test, 10 s default timeout (also for
  `playwright.sync_api.expect`); a screenshot goes to test-artifacts/ when the test fails.
- `new_page()`: a factory for more independent pages (two bidders at once); each call is a
  new context, so cookies are not shared.
- `browser_login(page, live_server, email, password)`: logs in through the login form
  and waits for the dashboard.

Everything under tests/e2e is marked `e2e` automatically.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from market.app import create_app
from market.db import database

CHROMIUM = os.environ.get("IPX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DEFAULT_TIMEOUT_MS = 10_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # The `page` fixture reads this to decide whether to keep a screenshot.
    setattr(item, "rep_" + report.when, report)
    return report


@pytest.fixture
def live_app(app, app_config):
    """The app behind the live server: same database as `app`, but CSRF on (as in production)."""
    live = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield live
    database(live).engine.dispose()  # PostgreSQL: no pool left behind per test


@pytest.fixture
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)  # same patience for expect() as for actions
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (make test installs it)")
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser, request):
    """new_page(locale="zh-CN") → a Page in its own context (own cookies)."""
    contexts = []

    def make(locale: str = "zh-CN"):
        ctx = browser.new_context(locale=locale, timezone_id="Asia/Shanghai",
                                  viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for i, ctx in enumerate(contexts):
        if failed:
            _screenshots(ctx, request.node.nodeid, i)
        ctx.close()


def _screenshots(ctx, nodeid: str, n: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)
    for j, pg in enumerate(ctx.pages):
        try:
            pg.screenshot(path=str(ARTIFACTS / f"{base}-{n}-{j}.png"), full_page=True)
        except Exception:  # a crashed page must not hide the real failure
            pass


@pytest.fixture
def page(new_page):
    return new_page()


def browser_login(page, live_server: str, email: str, password: str) -> None:
    """Log in through the form, as a person would; returns on the dashboard."""
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("[data-test=submit]")
    page.wait_for_url(re.compile(r".*/dashboard.*"))


@pytest.fixture(name="browser_login")
def _browser_login_fixture():
    """The same helper as a fixture, for tests that prefer injection."""
    return browser_login
