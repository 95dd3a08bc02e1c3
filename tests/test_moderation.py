"""Web: moderation queue and decisions, seller pages (create from a loan, edit, resubmit),
data room behind the NDA, watchlist."""
from __future__ import annotations

import datetime as dt
import io
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from listings.models import Listing, ListingDocument, NdaAcceptance
from market.audit import AuditRecord
from tests.listing_helpers import Setup, transfer_terms

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def setup(actors, db):
    return Setup(actors, db)


@pytest.fixture(autouse=True)
def _fresh_login_per_request(app):
    """The `db` fixture keeps an app context open, and Flask reuses it for requests, so
    Flask-Login's cached g._login_user would leak from one test client to the next."""
    from flask import g

    def forget():
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


def web(app, actors, api_client):
    client = app.test_client()
    actors.login(client, api_client.user)
    return client


def pending(setup, body=None, who=None):
    lst = setup.create(body, who)
    assert (who or setup.bank).post(f"/api/v1/listings/{lst['id']}/submit").status_code == 200
    return lst


def test_queue_is_operator_only_and_oldest_first(setup, app, actors, client):
    first = pending(setup)
    second = pending(setup, {"title": "第二个：齿轮箱转让", "mode": "transfer",
                             "asset_ids": [setup.own], "transfer": transfer_terms("1000.00")}, setup.owner)
    op = web(app, actors, setup.operator)
    html = op.get("/operator/listings").get_data(as_text=True)
    assert html.index(f'queue-row-{first["id"]}') < html.index(f'queue-row-{second["id"]}')
    assert web(app, actors, setup.bank).get("/operator/listings").status_code == 403
    assert web(app, actors, setup.investor).get("/operator/listings").status_code == 403
    assert client.get("/operator/listings").status_code == 302  # to the login page
    nav = op.get("/dashboard").get_data(as_text=True)
    assert "/operator/listings" in nav


def test_review_page_shows_assets_valuations_loan(setup, app, actors):
    lst = pending(setup)
    html = web(app, actors, setup.operator).get(
        f"/operator/listings/{lst['id']}").get_data(as_text=True)
    assert "一种行星齿轮减速器" in html and "中联评估" in html       # asset and valuation
    assert "ZX-" in html and "L-" in html                            # pledge and loan
    assert 'id="approve-form"' in html and 'id="reject-reason"' in html
    assert 'e.key === "a"' in html                                   # keyboard shortcuts


def test_reject_with_reason_then_seller_sees_it_fixes_and_resubmits(setup, app, actors, db):
    lst = pending(setup)
    op = web(app, actors, setup.operator)
    r = op.post(f"/operator/listings/{lst['id']}/reject", data={"reason": "评估报告已过期，请更新"})
    assert r.status_code == 302
    assert db.get(Listing, lst["id"]).status == "rejected"
    bank = web(app, actors, setup.bank)
    page = bank.get(f"/listings/{lst['id']}").get_data(as_text=True)
    assert "评估报告已过期，请更新" in page
    assert "评估报告已过期，请更新" in bank.get("/my/listings").get_data(as_text=True)
    form = bank.get(f"/listings/{lst['id']}/edit").get_data(as_text=True)
    assert "质押专利处置" in form
    l = db.get(Listing, lst["id"])
    tz_local = l.starts_at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")
    tz_end = l.ends_at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")
    r = bank.post(f"/listings/{lst['id']}/edit", data={
        "loan_id": str(setup.loan), "title": "质押专利处置（已更新评估）", "description": "ok",
        "asset_ids": [str(setup.pledged)], "mode": "auction", "start_price": "800,000.00",
        "increment": "10000", "deposit": "80000", "starts_at": tz_local, "ends_at": tz_end,
        "extension_window_s": "300", "extension_s": "300", "and_submit": "1"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    db.rollback()  # end the read snapshot
    l = db.get(Listing, lst["id"])
    assert l.status == "pending_review" and l.title == "质押专利处置（已更新评估）"
    assert op.post(f"/operator/listings/{lst['id']}/approve").status_code == 302
    db.rollback()  # end the read snapshot
    assert db.get(Listing, lst["id"]).status == "published"
    actions = {a.action for a in db.scalars(select(AuditRecord))}
    assert {"listing.rejected", "listing.update", "listing.published"} <= actions


def test_request_changes_needs_comment(setup, app, actors, db):
    lst = pending(setup)
    op = web(app, actors, setup.operator)
    op.post(f"/operator/listings/{lst['id']}/request-changes", data={"comment": ""})
    assert db.get(Listing, lst["id"]).status == "pending_review"
    op.post(f"/operator/listings/{lst['id']}/request-changes", data={"comment": "补充优先购买权人"})
    db.rollback()  # end the read snapshot
    assert db.get(Listing, lst["id"]).status == "changes_requested"
    assert "补充优先购买权人" in web(app, actors, setup.bank).get(
        f"/listings/{lst['id']}").get_data(as_text=True)


def test_web_decision_refusal_flashes_and_writes_nothing(setup, app, actors, db):
    lst = setup.create()  # a draft: approving it is not allowed
    op = web(app, actors, setup.operator)
    r = op.post(f"/operator/listings/{lst['id']}/approve", follow_redirects=True)
    assert "cannot go from draft" in r.get_data(as_text=True)
    assert db.get(Listing, lst["id"]).status == "draft"


def test_create_from_defaulted_loan_preselects_pledged_assets(setup, app, actors, db):
    bank = web(app, actors, setup.bank)
    assert f"list-loan-{setup.loan}" in bank.get("/my/listings").get_data(as_text=True)
    html = bank.get(f"/listings/new?loan_id={setup.loan}").get_data(as_text=True)
    assert f'data-test="asset-{setup.pledged}"' in html and "checked" in html
    starts = (dt.datetime.now(dt.timezone(dt.timedelta(hours=8))) + dt.timedelta(hours=2))
    ends = starts + dt.timedelta(days=2)
    data = {"loan_id": str(setup.loan), "title": "网页创建：齿轮专利处置", "description": "",
            "asset_ids": [str(setup.pledged)], "mode": "auction", "start_price": "750000",
            "increment": "5000", "deposit": "75000",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": ends.strftime("%Y-%m-%dT%H:%M"),
            "extension_window_s": "300", "extension_s": "300"}
    r = bank.post("/listings/new", data={**data, "deposit": "1000"})
    assert r.status_code == 200 and "deposit must be" in r.get_data(as_text=True)
    assert db.scalar(select(Listing)) is None
    r = bank.post("/listings/new", data=data)
    assert r.status_code == 302
    db.rollback()
    lst = db.scalar(select(Listing))
    assert lst.loan_id == setup.loan and lst.status == "draft"
    assert [a.asset_id for a in lst.assets] == [setup.pledged]
    assert (lst.ends_at - lst.starts_at) == dt.timedelta(days=2)
    assert web(app, actors, setup.investor).get("/listings/new").status_code == 403


def test_owner_form_offers_only_unpledged_own_assets(setup, app, actors):
    html = web(app, actors, setup.owner).get("/listings/new").get_data(as_text=True)
    assert f'data-test="asset-{setup.own}"' in html
    assert f'data-test="asset-{setup.pledged}"' not in html


def test_detail_is_404_for_outsiders_until_published(setup, app, actors, client):
    lst = setup.create()
    assert client.get(f"/listings/{lst['id']}").status_code == 404
    assert web(app, actors, setup.investor).get(f"/listings/{lst['id']}").status_code == 404
    assert web(app, actors, setup.bank).get(f"/listings/{lst['id']}").status_code == 200


def test_detail_shows_disclosures(setup, client):
    lst = setup.publish()
    html = client.get(f"/listings/{lst['id']}").get_data(as_text=True)
    for text in ("ZX-", "中联评估", "80,000.00", "拍卖法第五十六条", "法释〔2016〕18号", "保证金"):
        assert text in html, text


# ---------------------------------------------------------------- data room

def upload(client, listing_id, data, name, public=False):
    form = {"file": (io.BytesIO(data), name)}
    if public:
        form["public"] = "y"
    return client.post(f"/listings/{listing_id}/documents", data=form,
                       content_type="multipart/form-data", follow_redirects=True)


def test_data_room_nda_gate(setup, app, actors, client, db):
    lst = setup.publish()
    bank = web(app, actors, setup.bank)
    upload(bank, lst["id"], PNG, "summary.png", public=True)
    upload(bank, lst["id"], PDF, "评估报告.pdf")
    docs = {d.filename: d for d in db.scalars(select(ListingDocument))}
    assert set(docs) == {"summary.png", "评估报告.pdf"}
    assert docs["评估报告.pdf"].content_type == "application/pdf"
    import os
    path = os.path.join(app.config["UPLOAD_FOLDER"], docs["评估报告.pdf"].storage_key)
    assert open(path, "rb").read() == PDF and "评估" not in docs["评估报告.pdf"].storage_key
    public_url = f"/listings/{lst['id']}/documents/{docs['summary.png'].id}"
    secret_url = f"/listings/{lst['id']}/documents/{docs['评估报告.pdf'].id}"
    assert client.get(public_url).data == PNG
    assert client.get(secret_url).status_code == 403
    inv = web(app, actors, setup.investor)
    assert inv.get(secret_url).status_code == 403
    assert "accept-nda" in inv.get(f"/listings/{lst['id']}").get_data(as_text=True)
    assert inv.post(f"/listings/{lst['id']}/nda").status_code == 302
    r = inv.get(secret_url)
    assert r.status_code == 200 and r.data == PDF
    db.rollback()
    nda = db.scalar(select(NdaAcceptance))
    assert nda.user_id == setup.investor.user["id"] and nda.accepted_at is not None
    actions = [a.action for a in db.scalars(select(AuditRecord))]
    assert "listing.nda_accept" in actions and "listing.document_view" in actions
    assert bank.get(secret_url).status_code == 200  # the seller needs no NDA


def test_upload_refusals(setup, app, actors, db):
    lst = setup.publish()
    bank = web(app, actors, setup.bank)
    r = upload(bank, lst["id"], b"MZ\x90\x00 not a pdf", "evil.pdf")
    assert "only PDF, PNG and JPEG" in r.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 2000
    r = upload(bank, lst["id"], PDF + b"0" * 2500, "big.pdf")
    assert r.status_code in (200, 413)
    app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024
    inv = web(app, actors, setup.investor)
    assert upload(inv, lst["id"], PDF, "x.pdf").status_code == 403
    assert db.scalar(select(ListingDocument)) is None


def test_watchlist(setup, app, actors):
    lst = setup.publish()
    inv = web(app, actors, setup.investor)
    assert inv.post(f"/listings/{lst['id']}/watch").status_code == 302
    page = inv.get("/my/watchlist").get_data(as_text=True)
    assert "质押专利处置" in page
    inv.post(f"/listings/{lst['id']}/watch")
    assert "质押专利处置" not in inv.get("/my/watchlist").get_data(as_text=True)


POLYGLOT = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"


@pytest.mark.parametrize("uploaded, data, expected", [
    ("polyglot.html", POLYGLOT, "polyglot.pdf"),
    ("report.svg", PDF, "report.pdf"),
    ("picture.jpg.exe", PNG, "picture.jpg.png"),
    ("noextension", PNG, "noextension.png"),
    ("评估报告.pdf", PDF, "评估报告.pdf"),
])
def test_download_named_by_checked_type(setup, app, actors, db, uploaded, data, expected):
    """Issue 14: a download is named by the type its bytes were checked to be, not the
    uploaded extension ("polyglot.html" that is a PDF must not download as a page)."""
    lst = setup.publish()
    upload(web(app, actors, setup.bank), lst["id"], data, uploaded, public=True)
    db.rollback()
    doc = db.scalar(select(ListingDocument))
    resp = app.test_client().get(f"/listings/{lst['id']}/documents/{doc.id}")
    assert resp.status_code == 200 and resp.data == data
    disposition = resp.headers["Content-Disposition"]
    if "filename*=" in disposition:  # not ASCII: RFC 5987 form
        name = unquote(disposition.split("filename*=")[1].split("''", 1)[1])
    else:
        name = disposition.split("filename=")[1].split(";")[0].strip('"')
    assert name == expected
