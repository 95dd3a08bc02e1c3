"""Bounds on everything that comes in from outside, in one place: ids, dates, text, JSON.

API schemas, web forms, query-string filters and the bid shortcut all call these, so an
input the database or the calendar cannot hold is refused as bad input (422 in the API,
a form error or an ignored filter on a page) instead of failing deep inside as a 500.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

# INTEGER keys on PostgreSQL are 32-bit: a larger id cannot exist and must not reach the
# database (which would fail with "integer out of range").
MAX_ID = 2**31 - 1
NO_SUCH_ID = "no such id"
# API.md Conventions: a date before 1990-01-01 or after 2199-12-31 is 422.
DATE_MIN = dt.date(1990, 1, 1)
DATE_MAX = dt.date(2199, 12, 31)
# Free text that nobody types more of (a 5 MB abstract was once stored).
TEXT_MAX = 20_000
# No request body of ours nests deeper than a few levels; Python's parser recurses.
JSON_MAX_DEPTH = 32
# No amount, id or rate has more characters than this; longer numbers cost CPU to convert.
JSON_MAX_NUMBER = 64

_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_JSON_NUMBER = re.compile(rb"[-+0-9.eE]{%d,}" % (JSON_MAX_NUMBER + 1))
_BRACKETS = re.compile(rb"[\[\]{}]")


class BadInput(ValueError):
    """Input outside the bounds above; the message says which."""


# ---------------------------------------------------------------- ids and integers

def parse_id(raw: object) -> int | None:
    """An id typed in a query string: ASCII digits only. One beyond any key becomes 0 (no
    row has it), so a filter on it matches nothing; anything else is None (no filter)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw <= MAX_ID else 0
    text = (raw or "").strip() if isinstance(raw, str) else ""
    if not text.isascii() or not text.isdigit():
        return None
    return int(text) if len(text) <= 10 and int(text) <= MAX_ID else 0


def valid_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def parse_int(raw: object, default: int, lo: int, hi: int) -> int:
    """A small integer from a query string (a page number): ASCII digits, clamped."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not _ASCII_DIGITS.fullmatch(text):
        return default
    return max(lo, min(int(text), hi))


# ---------------------------------------------------------------- dates

def date_in_window(value: dt.date | dt.datetime | None) -> bool:
    if value is None:
        return True
    day = value.date() if isinstance(value, dt.datetime) else value
    return DATE_MIN <= day <= DATE_MAX


def check_date(value):
    """Return the date/datetime, or raise BadInput when outside the window."""
    if not date_in_window(value):
        raise BadInput(f"dates must lie between {DATE_MIN.isoformat()} "
                       f"and {DATE_MAX.isoformat()}")
    return value


def parse_day(raw: object) -> dt.date | None:
    """A YYYY-MM-DD filter from a query string; anything else (or outside the window) is
    None, i.e. no filter."""
    if not isinstance(raw, str) or not raw.strip().isascii():
        return None
    try:
        day = dt.date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return day if date_in_window(day) else None


# ---------------------------------------------------------------- text

def text_problem(value: str) -> str | None:
    """Why a string cannot be stored (PostgreSQL refuses NUL; UTF-8 has no lone
    surrogates), or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if _SURROGATE.search(value):
        return "must not contain lone surrogate characters"
    return None


def bad_strings(data: object, path: str = "") -> str | None:
    """The path of the first string (key or value) in parsed JSON that cannot be stored."""
    if isinstance(data, str):
        return path or "body" if text_problem(data) else None
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if text_problem(key):
                return here
            found = bad_strings(value, here)
            if found:
                return found
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found = bad_strings(value, f"{path}.{i}" if path else str(i))
            if found:
                return found
    return None


# ---------------------------------------------------------------- loaded values

def _value_problem(key: str, value: object) -> str | None:
    if isinstance(value, (dt.date, dt.datetime)) and not date_in_window(value):
        return (f"dates must lie between {DATE_MIN.isoformat()} "
                f"and {DATE_MAX.isoformat()}")
    if isinstance(value, str):
        if len(value) > TEXT_MAX:
            return f"text is at most {TEXT_MAX} characters"
        return text_problem(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_ID \
            and (key == "id" or key.endswith(("_id", "_ids"))):
        return NO_SUCH_ID
    return None


def problems(data: object, key: str = "") -> dict:
    """Every value in loaded input (a schema's output: dicts, lists, dates, strings, ints)
    that lies outside the bounds: {field path: [message]}, empty when all is well."""
    found: dict = {}
    if isinstance(data, dict):
        for k, v in data.items():
            for path, msgs in problems(v, str(k)).items():
                found[f"{k}.{path}" if path else str(k)] = msgs
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            for path, msgs in problems(v, key).items():
                found[f"{i}.{path}" if path else str(i)] = msgs
    else:
        msg = _value_problem(key, data)
        if msg:
            found[""] = [msg]
    return found


# ---------------------------------------------------------------- JSON

def check_json_shape(data: bytes) -> None:
    """Refuse a body nested deeper than JSON_MAX_DEPTH or with an overlong number, before
    the recursive parser sees it (2,000 levels exhaust Python's stack)."""
    skeleton = _JSON_STRING.sub(b'""', data)
    if _JSON_NUMBER.search(skeleton):
        raise BadInput(f"numbers are at most {JSON_MAX_NUMBER} characters")
    depth = 0
    for m in _BRACKETS.finditer(skeleton):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > JSON_MAX_DEPTH:
                raise BadInput(f"JSON nests at most {JSON_MAX_DEPTH} levels")
        else:
            depth -= 1


def load_json(data: bytes) -> object:
    """Parse a request body as the API does (numbers with a fraction as Decimal), within
    the bounds above; BadInput (a ValueError) for anything else. Flask's request parsing
    and the bid shortcut both call this."""
    check_json_shape(data)
    try:
        text = data.decode("utf-8")
        parsed = json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise BadInput("request body is not valid JSON") from exc
    where = bad_strings(parsed)
    if where:
        raise BadInput(f"{where}: text must not contain NUL or lone surrogate characters")
    return parsed
