"""Issue 14 item 7: a data-room download is named by the type its bytes were checked to
be, not by the uploaded name's extension ("polyglot.html" that is a PDF must not download
as an .html file a browser would open as a page)."""
from __future__ import annotations

import io
from urllib.parse import unquote

import pytest
from flask import g
from sqlalchemy import select

from listings.models import ListingDocument
from tests.listing_helpers import Setup

PDF = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def setup(actors, db):
    return Setup(actors, db)


@pytest.fixture(autouse=True)
def _fresh_login_per_request(app):
    """As in test_moderation: Flask-Login's cached user must not leak between clients."""
    def forget():
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


def _upload(client, listing_id, data, name):
    resp = client.post(f"/listings/{listing_id}/documents", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name), "public": "y"})
    assert resp.status_code in (200, 302), resp.status_code


@pytest.mark.parametrize("uploaded, data, expected", [
    ("polyglot.html", PDF, "polyglot.pdf"),
    ("report.svg", PDF, "report.pdf"),
    ("picture.jpg.exe", PNG, "picture.jpg.png"),
    ("noextension", PNG, "noextension.png"),
    ("评估报告.pdf", PDF, "评估报告.pdf"),
])
def test_download_named_by_checked_type(setup, app, actors, db, uploaded, data, expected):
    lst = setup.publish()
    bank = actors.login(app.test_client(), setup.bank.user)
    _upload(bank, lst["id"], data, uploaded)
    db.rollback()
    doc = db.scalar(select(ListingDocument))
    resp = app.test_client().get(f"/listings/{lst['id']}/documents/{doc.id}")
    assert resp.status_code == 200 and resp.data == data
    assert _download_name(resp.headers["Content-Disposition"]) == expected


def _download_name(disposition: str) -> str:
    """The name from Content-Disposition (filename*=UTF-8'' when not ASCII)."""
    if "filename*=" in disposition:
        return unquote(disposition.split("filename*=")[1].split("''", 1)[1])
    return disposition.split("filename=")[1].split(";")[0].strip('"')
