"""Lifecycle: the transition table, who may move a listing, hooks, rule re-checks."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from listings import lifecycle
from listings.models import Listing, ListingTransition
from market import hooks, settings_store
from market.assets.models import Asset
from market.audit import AuditRecord
from market.errors import Conflict
from tests.listing_helpers import Setup, transfer_terms


@pytest.fixture
def setup(actors, db):
    return Setup(actors, db)


def code(resp):
    return resp.status_code, resp.get_json()["error"]["code"]


def post(who, lst, action, body=None):
    return who.post(f"/api/v1/listings/{lst['id']}/{action}", json=body or {})


def test_full_path_reject_fix_resubmit_approve(setup, db):
    lst = setup.create()
    r = post(setup.bank, lst, "submit")
    assert r.status_code == 200 and r.get_json()["status"] == "pending_review"
    r = post(setup.operator, lst, "reject", {"reason": "评估报告缺少签章"})
    assert r.get_json()["status"] == "rejected" and r.get_json()["reject_reason"] == "评估报告缺少签章"
    assert setup.bank.get(f"/api/v1/listings/{lst['id']}").get_json()["reject_reason"] == \
        "评估报告缺少签章"
    r = setup.bank.client.patch(f"/api/v1/listings/{lst['id']}", headers=setup.bank.headers,
                                json={"title": "质押专利处置（已补充评估报告）"})
    assert r.status_code == 200, r.get_json()
    assert post(setup.bank, lst, "submit").get_json()["status"] == "pending_review"
    r = post(setup.operator, lst, "approve")
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "published"
    assert body["reject_reason"] is None and body["published_at"]
    rows = list(db.scalars(select(ListingTransition).order_by(ListingTransition.id)))
    assert [(t.from_status, t.to_status) for t in rows] == [
        ("draft", "pending_review"), ("pending_review", "rejected"),
        ("rejected", "pending_review"), ("pending_review", "published")]
    assert rows[1].reason == "评估报告缺少签章" and rows[1].actor_id == setup.operator.user["id"]
    actions = [a.action for a in db.scalars(select(AuditRecord).where(
        AuditRecord.object_type == "listing").order_by(AuditRecord.id))]
    assert actions == ["listing.create", "listing.pending_review", "listing.rejected",
                       "listing.update", "listing.pending_review", "listing.published"]


def test_request_changes_keeps_comment(setup):
    lst = setup.create()
    post(setup.bank, lst, "submit")
    r = post(setup.operator, lst, "request-changes", {"comment": "请补充优先购买权人"})
    assert r.get_json()["status"] == "changes_requested"
    assert r.get_json()["review_comment"] == "请补充优先购买权人"
    assert post(setup.bank, lst, "submit").get_json()["status"] == "pending_review"


@pytest.mark.parametrize("action,body", [("approve", None), ("reject", {"reason": "x"}),
                                         ("request-changes", {"comment": "x"}),
                                         ("unpublish", {"reason": "x"})])
def test_operator_actions_on_a_draft_are_409(setup, action, body):
    lst = setup.create()
    assert code(post(setup.operator, lst, action, body)) == (409, "invalid_transition")


def test_transition_refusals(setup):
    lst = setup.create()
    post(setup.bank, lst, "submit")
    assert code(post(setup.bank, lst, "submit")) == (409, "invalid_transition")
    post(setup.operator, lst, "approve")
    assert code(post(setup.operator, lst, "approve")) == (409, "invalid_transition")
    assert code(post(setup.operator, lst, "reject", {"reason": "late"})) == \
        (409, "invalid_transition")
    assert code(post(setup.bank, lst, "submit")) == (409, "invalid_transition")
    r = setup.bank.client.patch(f"/api/v1/listings/{lst['id']}", headers=setup.bank.headers,
                                json={"title": "改"})
    assert code(r) == (409, "listing_not_editable")
    assert post(setup.bank, lst, "withdraw").get_json()["status"] == "withdrawn"
    assert code(post(setup.bank, lst, "withdraw")) == (409, "invalid_transition")
    assert code(post(setup.bank, lst, "submit")) == (409, "invalid_transition")


def test_permission_refusals(setup, actors, client):
    lst = setup.create()
    assert code(post(setup.investor, lst, "submit")) == (403, "forbidden")
    assert code(post(setup.operator, lst, "submit")) == (403, "forbidden")
    assert code(actors.api("bank", org="他行").post(
        f"/api/v1/listings/{lst['id']}/submit")) == (404, "not_found")
    assert client.post(f"/api/v1/listings/{lst['id']}/submit", json={}).status_code == 401
    post(setup.bank, lst, "submit")
    for action, body in (("approve", None), ("reject", {"reason": "x"}),
                         ("request-changes", {"comment": "x"}), ("unpublish", {"reason": "x"})):
        assert code(post(setup.bank, lst, action, body)) == (403, "forbidden")
        assert code(post(setup.investor, lst, action, body)) == (403, "forbidden")
    assert code(post(setup.operator, lst, "withdraw")) == (403, "forbidden")
    assert post(setup.operator, {"id": 99999999}, "approve").status_code == 404
    post(setup.operator, lst, "approve")
    # Published: visible to others, but not theirs to withdraw.
    assert code(actors.api("bank", org="他行2").post(
        f"/api/v1/listings/{lst['id']}/withdraw")) == (403, "not_listing_seller")


def test_reason_and_comment_are_required(setup):
    lst = setup.create()
    post(setup.bank, lst, "submit")
    assert post(setup.operator, lst, "reject", {}).status_code == 422
    assert code(post(setup.operator, lst, "reject", {"reason": "   "})) == (422, "reason_required")
    assert post(setup.operator, lst, "request-changes", {}).status_code == 422
    assert post(setup.operator, lst, "request-changes", {"comment": ""}).status_code == 422


def test_rules_rechecked_on_submit(setup, db):
    """法释〔2016〕18号: the appraisal must still be valid when the listing is submitted."""
    lst = setup.create()
    for v in db.get(Asset, setup.pledged).valuations:
        v.valid_until = dt.date.today() - dt.timedelta(days=1)
    db.commit()
    assert code(post(setup.bank, lst, "submit")) == (422, "no_valid_valuation")
    assert setup.bank.get(f"/api/v1/listings/{lst['id']}").get_json()["status"] == "draft"


def test_rules_rechecked_on_approve(setup, app, db):
    """法释〔2016〕18号: an operator who raised the floor to 90% cannot approve an 80% start."""
    lst = setup.create()
    post(setup.bank, lst, "submit")
    with app.app_context():
        settings_store.put(db, "start_price_floor_ratio", "0.90", actor_id=None)
        db.commit()
    assert code(post(setup.operator, lst, "approve")) == (422, "start_price_below_floor")
    assert setup.bank.get(f"/api/v1/listings/{lst['id']}").get_json()["status"] == "pending_review"


def test_asset_lapse_caught_on_approve(setup, db):
    """专利法 / DOMAIN.md: a patent that lapsed while in review cannot be published."""
    lst = setup.create()
    post(setup.bank, lst, "submit")
    db.get(Asset, setup.pledged).legal_status = "lapsed"
    db.commit()
    assert code(post(setup.operator, lst, "approve")) == (422, "asset_not_in_force")


def test_asset_cannot_be_in_two_live_listings(setup):
    first = setup.create()
    post(setup.bank, first, "submit")
    second = setup.create()
    assert code(post(setup.bank, second, "submit")) == (409, "asset_already_listed")
    post(setup.bank, first, "withdraw")
    assert post(setup.bank, second, "submit").status_code == 200


def test_approve_after_start_fires_published_hook(setup, app):
    seen = []

    def spy(session, listing, now):
        seen.append((listing.id, listing.status, now))

    with hooks.registered("listing.published", spy):
        lst = setup.create(setup.collateral_body(starts_in=dt.timedelta(seconds=2)))
        post(setup.bank, lst, "submit")
        import time
        time.sleep(2.1)  # starts_at is now in the past: approval still works
        r = post(setup.operator, lst, "approve")
        assert r.status_code == 200
        assert seen and seen[-1][0] == lst["id"] and seen[-1][1] == "published"
        assert seen[-1][2] >= dt.datetime.fromisoformat(lst["auction"]["starts_at"])


def test_withdraw_and_unpublish_fire_hooks(setup):
    events = []

    def before(session, listing):
        events.append(("before_withdraw", listing.id))

    def closed(session, listing, reason):
        events.append(("closed", listing.id, reason, listing.status))

    with hooks.registered("listing.before_withdraw", before), \
            hooks.registered("listing.closed", closed):
        a = setup.publish()
        assert post(setup.bank, a, "withdraw").get_json()["status"] == "withdrawn"
        b = setup.publish({"title": "转让", "mode": "transfer", "asset_ids": [setup.own],
                           "transfer": transfer_terms("1.00")}, setup.owner)
        assert code(post(setup.operator, b, "unpublish", {})) == (422, "validation_error")
        r = post(setup.operator, b, "unpublish", {"reason": "权属争议"})
        assert r.get_json()["status"] == "unpublished"
    assert ("before_withdraw", a["id"]) in events
    assert ("closed", a["id"], "withdrawn", "withdrawn") in events
    assert ("closed", b["id"], "unpublished", "unpublished") in events


def test_a_refusing_hook_rolls_the_withdrawal_back(setup, db):
    def refuse(session, listing):
        raise Conflict("listing_has_bids", "bids exist")

    with hooks.registered("listing.before_withdraw", refuse):
        lst = setup.publish()
        assert code(post(setup.bank, lst, "withdraw")) == (409, "listing_has_bids")
    assert setup.bank.get(f"/api/v1/listings/{lst['id']}").get_json()["status"] == "published"
    assert db.scalar(select(ListingTransition).where(
        ListingTransition.to_status == "withdrawn")) is None


def test_transition_table_for_other_packages(setup, app, db):
    lst = setup.publish()
    with app.app_context():
        listing = db.get(Listing, lst["id"])
        with pytest.raises(Conflict) as exc:
            lifecycle.transition(db, listing, "settled", actor_id=None)
        assert exc.value.code == "invalid_transition"
        lifecycle.transition(db, listing, "failed", actor_id=None, reason="no bids")
        lifecycle.transition(db, listing, "published", actor_id=None, reason="round 2")
        lifecycle.transition(db, listing, "sold", actor_id=None)
        lifecycle.transition(db, listing, "settled", actor_id=None)
        with pytest.raises(Conflict):
            lifecycle.transition(db, listing, "published", actor_id=None)
        db.commit()
    assert setup.investor.get(f"/api/v1/listings/{lst['id']}").get_json()["status"] == "settled"


def test_every_status_has_a_row_in_the_table():
    from listings.models import STATUSES
    assert set(lifecycle.TRANSITIONS) == set(STATUSES)
    for targets in lifecycle.TRANSITIONS.values():
        assert targets <= set(STATUSES)
