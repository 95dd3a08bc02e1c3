"""Chinese first: every catalog is fully translated, money and dates follow the locale,
and the language switch only ever redirects inside the site."""
from __future__ import annotations

import datetime as dt
import os
import sys
from decimal import Decimal

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import render_template_string

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import i18n as i18n_tool  # noqa: E402  (tools/i18n.py: the catalog list lives there)


@pytest.mark.parametrize("catalog", sorted(i18n_tool.PACKAGES))
def test_catalog_is_fully_translated(catalog):
    """Default locale is zh (UI.md: 中文 first): no empty or fuzzy msgstr in any catalog."""
    po = os.path.join(ROOT, catalog, "translations", "zh", "LC_MESSAGES", "messages.po")
    with open(po, "rb") as fh:
        cat = read_po(fh)
    missing = [m.id for m in cat if m.id and (not m.string or m.fuzzy)]
    assert not missing, f"{catalog}: {len(missing)} untranslated, e.g. {missing[:5]}"
    with open(po[:-3] + ".mo", "rb") as fh:
        compiled = {m.id: m.string for m in read_mo(fh) if m.id}
    stale = [m.id for m in cat if m.id and compiled.get(m.id) != m.string]
    assert not stale, f"{catalog}: .mo is stale, run python tools/i18n.py: {stale[:5]}"


KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None,
            "ngettext": (1, 2), "lazy_ngettext": (1, 2)}


def _source_files(patterns):
    import glob

    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            if os.path.isdir(path):
                for dirpath, _dirs, files in os.walk(path):
                    for name in sorted(files):
                        if name.endswith((".py", ".html")):
                            yield os.path.join(dirpath, name)
            elif path.endswith((".py", ".html")):
                yield path


@pytest.mark.parametrize("catalog", sorted(i18n_tool.PACKAGES))
def test_every_string_in_the_sources_is_in_the_catalog(catalog):
    """A string added since the last `python tools/i18n.py` would show in English."""
    from babel.messages.extract import extract_from_file

    po = os.path.join(ROOT, catalog, "translations", "zh", "LC_MESSAGES", "messages.po")
    with open(po, "rb") as fh:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    found = set()
    for path in _source_files(i18n_tool.PACKAGES[catalog]):
        method = "python" if path.endswith(".py") else "jinja2"
        for _lineno, msg, _comments, _ctx in extract_from_file(method, path, keywords=KEYWORDS):
            found.add(msg if isinstance(msg, str) else msg[0])
    assert not (found - known), f"{catalog}: run python tools/i18n.py: {sorted(found - known)[:5]}"


def _render(app, lang: str, source: str, **ctx) -> str:
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        return render_template_string(source, **ctx)


def test_money_follows_the_locale(app):
    """Money is Decimal to the fen; ¥ with grouping in both locales."""
    amount = Decimal("1234567.5")
    assert _render(app, "zh-CN", "{{ a|money }}", a=amount) == "¥1,234,567.50"
    assert _render(app, "en", "{{ a|money }}", a=amount) == "CN¥1,234,567.50"
    assert _render(app, "en", "{{ a|money('USD') }}", a=Decimal("3")) == "$3.00"
    assert _render(app, "zh", "{{ none|money }}") == "—"
    assert _render(app, "zh", "{{ r|percent }}", r=Decimal("0.0435")) == "4.35%"
    assert _render(app, "zh-CN", "{{ n|number }}", n=Decimal("1234567.5")) == "1,234,567.5"
    assert _render(app, "en", "{{ n|number }}", n=3) == "3"


def test_dates_follow_the_locale_and_market_timezone(app):
    """Instants are stored in UTC and shown in MARKET_TIMEZONE (Asia/Shanghai)."""
    at = dt.datetime(2026, 3, 31, 20, 30, tzinfo=dt.timezone.utc)  # 04:30 on 1 April in Beijing
    zh = _render(app, "zh-CN", "{{ at|datetime }}", at=at)
    en = _render(app, "en", "{{ at|datetime }}", at=at)
    assert "2026年4月1日" in zh and "04:30" in zh
    assert "Apr 1, 2026" in en and "4:30" in en
    assert _render(app, "zh", "{{ d|date }}", d=dt.date(2026, 12, 5)) == "2026年12月5日"
    assert _render(app, "en", "{{ d|date }}", d=dt.date(2026, 12, 5)) == "Dec 5, 2026"


def test_datetime_filter_takes_an_api_iso_timestamp(app):
    """Views built for the API carry ISO strings (auction_dict); pages still show market time."""
    zh = _render(app, "zh-CN", "{{ at|datetime }}", at="2026-03-31T20:30:00+00:00")
    assert "2026年4月1日" in zh and "04:30" in zh


def test_pages_render_in_chinese_by_default_and_english_on_request(client, actors):
    user = actors.user("bank")
    actors.login(client, user)
    zh = client.get("/dashboard").get_data(as_text=True)
    assert "工作台" in zh and 'lang="zh-CN"' in zh
    en = client.get("/dashboard", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert ">Dashboard<" in en and 'lang="en"' in en
    # the business date (Asia/Shanghai) in each locale's own form
    from zoneinfo import ZoneInfo
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert f"营业日 {today.year}年{today.month}月{today.day}日" in zh
    assert f"Business date {today:%b} {today.day}, {today.year}" in en


def test_language_switch_sticks_and_next_is_validated(client):
    resp = client.get("/lang/en?next=/login")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert "Log in" in client.get("/login").get_data(as_text=True)
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        resp = client.get("/lang/zh", query_string={"next": evil})
        assert resp.headers["Location"] == "/", evil
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.get("/lang/xx?next=/login")  # unknown language: ignored
    assert "登录" in client.get("/login").get_data(as_text=True)
