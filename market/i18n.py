"""Chinese first, English one click away: locale choice and per-locale formatting."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from flask import Flask, current_app, request, session
from flask_babel import Babel, format_date, format_datetime, get_locale
from flask_login import current_user


def select_locale() -> str:
    langs = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in langs:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in langs:
        return current_user.locale
    if request.accept_languages:
        best = request.accept_languages.best_match(langs)
        if best:
            return best
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def money(value: Decimal | None, currency: str = "CNY") -> str:
    if value is None:
        return "—"
    # The request's Locale object as it is: a locale name would be parsed again on every
    # call (7× the cost of the formatting; a listing page formats dozens of amounts).
    return format_currency(Decimal(value), currency or "CNY", locale=get_locale())


def number(value) -> str:
    return "—" if value is None else format_decimal(value, locale=get_locale())


def percent(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "—"
    return f"{(Decimal(value) * 100):.{places}f}%"


def date(value: dt.date | None, fmt: str = "medium") -> str:
    return "—" if value is None else format_date(value, fmt)


def datetime(value: dt.datetime | str | None, fmt: str = "medium") -> str:
    if isinstance(value, str):  # an API view's ISO timestamp (auction_dict), UTC
        value = dt.datetime.fromisoformat(value)
    return "—" if value is None else format_datetime(value, fmt)


def init_app(app: Flask) -> None:
    root = app.root_path
    # One catalog per owner (see tools/i18n.py); Flask-Babel merges them.
    dirs = [f"{root}/translations", f"{root}/lending/translations",
            f"{root}/settlement/translations", f"{root}/oversight/translations",
            f"{root}/../listings/translations",
            f"{root}/../auctions/translations"]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(dirs)
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters.update(money=money, number=number, percent=percent,
                                 date=date, datetime=datetime)
    app.jinja_env.add_extension("jinja2.ext.i18n")

    @app.context_processor
    def _locale():
        return {"current_locale": str(get_locale())}
