"""Issue 14 item 4: logging out ends the session on the server (a copied cookie stops
working); SESSION_COOKIE_SECURE is configurable and on by default outside development and
testing; a Content-Security-Policy on every page; HSTS when the site is HTTPS-only."""
from __future__ import annotations

import pathlib
import re

import pytest

from market.app import create_app
from market.db import database

TEMPLATES = pathlib.Path(__file__).resolve().parent.parent / "templates"


def test_a_copied_cookie_stops_working_after_logout(app, actors):
    user = actors.user("investor")
    browser = actors.login(app.test_client(), user)
    stolen = browser.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/dashboard").status_code == 200  # the copy works while signed in

    assert browser.post("/logout").status_code == 302
    assert browser.get("/dashboard").status_code == 302
    resp = thief.get("/dashboard")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    # Signing in again works (a new session).
    assert actors.login(app.test_client(), user).get("/dashboard").status_code == 200


@pytest.fixture
def make_app(app_config):
    made = []

    def make(**config):
        a = create_app({**app_config, **config})
        made.append(a)
        return a

    yield make
    for a in made:
        database(a).engine.dispose()


def test_secure_cookie_defaults_and_setting(make_app, monkeypatch):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    assert make_app(TESTING=False).config["SESSION_COOKIE_SECURE"] is True
    assert make_app(TESTING=True).config["SESSION_COOKIE_SECURE"] is False
    assert make_app(TESTING=False, DEBUG=True).config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    assert make_app(TESTING=False).config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    assert make_app(TESTING=True).config["SESSION_COOKIE_SECURE"] is True


def test_hsts_only_when_secure(make_app):
    secure = make_app(SESSION_COOKIE_SECURE=True).test_client().get("/")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = make_app(SESSION_COOKIE_SECURE=False).test_client().get("/")
    assert "Strict-Transport-Security" not in plain.headers


def test_content_security_policy_with_a_nonce_for_inline_scripts(app, actors):
    owner = actors.login(app.test_client(), actors.user("owner"))
    resp = owner.get("/listings/new")
    assert resp.status_code == 200
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    html = resp.get_data(as_text=True)
    scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert scripts and all(f'nonce="{nonce}"' in attrs for attrs in scripts)
    # A fresh nonce per response.
    again = owner.get("/listings/new").headers["Content-Security-Policy"]
    assert again != csp
    assert "Content-Security-Policy" in app.test_client().get("/").headers


def test_no_template_uses_inline_event_handlers_or_unnonced_scripts():
    """The policy refuses inline handlers: app.js handles data-confirm / data-autosubmit."""
    bad = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        bad += [f"{path.name}: {m}" for m in re.findall(r"\son[a-z]+=", text)]
        bad += [f"{path.name}: <script{m}>" for m in re.findall(r"<script([^>]*)>", text)
                if "src=" not in m and "csp_nonce()" not in m]
    assert not bad, bad
