"""Who may change what: a role × endpoint × ownership matrix over every write endpoint of
the API and the web (issue 13; API.md "Assets").

The table below is generated against the app's route map: every rule that takes POST,
PUT, PATCH or DELETE must have a row, so an endpoint added without saying who may call it
fails `test_every_write_endpoint_has_a_row`. Every row is probed anonymously (API: 401;
web: the login page, 401 or 403; public ones: their own answer; never a 500). The asset
rows (legal status, valuations, apply, co-owner consent) are probed by every role for an
unpledged and for a pledged asset, through the API and the web forms, asserting the
status and that a refused call wrote nothing.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from market.assets.models import Asset, AssetCoOwner, Valuation
from tests.contract_helpers import API, expect, market_today, unique_no

ANON_API = "api: 401"
ANON_WEB = "web: login"
ASSETS = "asset matrix"  # and anonymous: API 401 / web login

# (method, rule) → who may call it anonymously. Keyed by URL rule, which a module split
# does not change. Add a row for a new write endpoint, and a matrix for it if it changes
# collateral.
WRITE_ENDPOINTS: dict[tuple[str, str], object] = {
    # --- API: bearer token required
    ("POST", "/api/v1/assets"): ANON_API,
    ("POST", "/api/v1/assets/<int:asset_id>/co-owners/<int:org_id>/consent"): ASSETS,
    ("POST", "/api/v1/assets/<int:asset_id>/legal-status"): ASSETS,
    ("POST", "/api/v1/assets/<int:asset_id>/valuations"): ASSETS,
    ("POST", "/api/v1/valuations/<int:valuation_id>/apply"): ASSETS,
    ("POST", "/api/v1/auctions/<int:auction_id>/bids"): ANON_API,
    ("POST", "/api/v1/auctions/<int:auction_id>/deposits"): ANON_API,
    ("POST", "/api/v1/auctions/<int:auction_id>/proxy"): ANON_API,
    ("POST", "/api/v1/deposits/<int:deposit_id>/confirm"): ANON_API,
    ("POST", "/api/v1/listings"): ANON_API,
    ("PATCH", "/api/v1/listings/<int:listing_id>"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/approve"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/costs"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/payments"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/priority-holders"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/reject"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/request-changes"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/submit"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/unpublish"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/withdraw"): ANON_API,
    ("POST", "/api/v1/loans"): ANON_API,
    ("POST", "/api/v1/loans/<int:loan_id>/costs"): ANON_API,
    ("POST", "/api/v1/loans/<int:loan_id>/default"): ANON_API,
    ("POST", "/api/v1/loans/<int:loan_id>/repayments"): ANON_API,
    ("POST", "/api/v1/payments/<int:payment_id>/confirm"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/backstop/accept"): ANON_API,
    ("POST", "/api/v1/loans/<int:loan_id>/grades"): ANON_API,
    ("PUT", "/api/v1/banks/<int:org_id>/overall-npl"): ANON_API,
    ("POST", "/api/v1/refunds/<int:refund_id>/sent"): ANON_API,
    ("PUT", "/api/v1/orgs/<int:org_id>/bank-account"): ANON_API,
    ("POST", "/api/v1/risk-shares/<int:share_id>/paid"): ANON_API,
    ("POST", "/api/v1/loans/<int:loan_id>/agreed-valuation"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/equity-offers"): ANON_API,
    ("POST", "/api/v1/equity-offers/<int:offer_id>/accept"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/licences"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/deposits"): ANON_API,
    ("POST", "/api/v1/listings/<int:listing_id>/relist"): ANON_API,
    ("PUT", "/api/v1/calendar/days/<string:day>"): ANON_API,
    ("DELETE", "/api/v1/calendar/days/<string:day>"): ANON_API,
    ("POST", "/api/v1/licences/<int:licence_id>/accept"): ANON_API,
    ("POST", "/api/v1/licences/<int:licence_id>/reject"): ANON_API,
    ("POST", "/api/v1/licences/<int:licence_id>/payments"): ANON_API,
    ("POST", "/api/v1/licences/<int:licence_id>/royalty-reports"): ANON_API,
    # Stripe signs its webhooks: an unsigned call is refused, whoever sends it.
    ("POST", "/api/v1/stripe/webhook"): {400},
    # --- web: a session required (login redirect)
    ("POST", "/account/language"): ANON_WEB,
    ("POST", "/account/password"): ANON_WEB,
    ("POST", "/account/tokens"): ANON_WEB,
    ("POST", "/account/tokens/<int:token_id>/revoke"): ANON_WEB,
    ("POST", "/admin/payments/<int:payment_id>/cancel"): ANON_WEB,
    ("POST", "/admin/payments/<int:payment_id>/confirm"): ANON_WEB,
    ("POST", "/admin/settings"): ANON_WEB,
    ("POST", "/admin/refunds/<int:refund_id>/sent"): ANON_WEB,
    ("POST", "/oversight/loans/<int:loan_id>/grades"): ANON_WEB,
    ("POST", "/oversight/overall-npl"): ANON_WEB,
    ("POST", "/risk-shares/<int:share_id>/paid"): ANON_WEB,
    ("POST", "/loans/<int:loan_id>/agreed-valuation"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/equity-offers"): ANON_WEB,
    ("POST", "/equity-offers/<int:offer_id>/accept"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/licences"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/transfer/pay"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/transfer/register"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/transfer/relist"): ANON_WEB,
    ("POST", "/admin/calendar"): ANON_WEB,
    ("POST", "/admin/calendar/<day>/delete"): ANON_WEB,
    ("POST", "/licences/<int:licence_id>/<any(accept, reject):decision>"): ANON_WEB,
    ("POST", "/licences/<int:licence_id>/pay"): ANON_WEB,
    ("POST", "/licences/<int:licence_id>/royalty-reports"): ANON_WEB,
    ("POST", "/admin/users/<int:user_id>/role"): ANON_WEB,
    ("POST", "/assets/<int:asset_id>/co-owners/<int:org_id>/consent"): ASSETS,
    ("POST", "/assets/<int:asset_id>/status"): ASSETS,
    ("POST", "/assets/<int:asset_id>/valuations"): ASSETS,
    ("POST", "/assets/<int:asset_id>/valuations/<int:valuation_id>/apply"): ASSETS,
    ("POST", "/assets/new"): ANON_WEB,
    ("POST", "/auctions/<int:auction_id>/web-bid"): ANON_WEB,
    ("POST", "/auctions/<int:auction_id>/web-deposit"): ANON_WEB,
    ("POST", "/desk/deposits/<int:deposit_id>/confirm"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/costs"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/documents"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/edit"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/nda"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/pay-balance"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/submit"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/watch"): ANON_WEB,
    ("POST", "/listings/<int:listing_id>/withdraw"): ANON_WEB,
    ("POST", "/listings/new"): ANON_WEB,
    ("POST", "/loans/<int:loan_id>/costs"): ANON_WEB,
    ("POST", "/loans/<int:loan_id>/default"): ANON_WEB,
    ("POST", "/loans/<int:loan_id>/repayments"): ANON_WEB,
    ("POST", "/loans/new"): ANON_WEB,
    ("POST", "/notifications/<int:notification_id>/read"): ANON_WEB,
    ("POST", "/notifications/read-all"): ANON_WEB,
    ("POST", "/operator/listings/<int:listing_id>/approve"): ANON_WEB,
    ("POST", "/operator/listings/<int:listing_id>/reject"): ANON_WEB,
    ("POST", "/operator/listings/<int:listing_id>/request-changes"): ANON_WEB,
    ("POST", "/operator/listings/<int:listing_id>/unpublish"): ANON_WEB,
    # Public by nature: logging in (the form comes back) and out (back to the home page).
    ("POST", "/login"): {200},
    ("POST", "/logout"): {302},
}

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def app_config(app_config):
    # A configured webhook secret: the anonymous probe meets the signature check.
    return {**app_config, "STRIPE_WEBHOOK_SECRET": "whsec_authz_matrix"}


def write_routes(app) -> set[tuple[str, str]]:
    return {(m, r.rule) for r in app.url_map.iter_rules()
            for m in sorted(set(r.methods) & WRITE_METHODS)}


def test_every_write_endpoint_has_a_row(app):
    routes = write_routes(app)
    missing = sorted(routes - set(WRITE_ENDPOINTS))
    stale = sorted(set(WRITE_ENDPOINTS) - routes)
    assert not missing, f"write endpoints without a row in WRITE_ENDPOINTS: {missing}"
    assert not stale, f"rows for endpoints that no longer exist: {stale}"


def _url(rule: str) -> str:
    rule = re.sub(r"<any\(([a-z_]+)[^)]*\):[a-z_]+>", r"\1", rule)  # the first choice
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule)


def test_anonymous_is_refused_everywhere_and_nothing_fails(app):
    client = app.test_client()
    bad = []
    for (method, rule), expected in sorted(WRITE_ENDPOINTS.items()):
        url = _url(rule)
        try:
            if rule.startswith(API):
                resp = client.open(url, method=method, json={})
            else:
                resp = client.open(url, method=method, data={})
        except Exception as exc:  # noqa: BLE001 - TESTING propagates a server error: a 500
            bad.append(f"{method} {rule}: raised {type(exc).__name__}: {exc}")
            continue
        status = resp.status_code
        api = rule.startswith(API)
        if expected in (ANON_API, ASSETS) and api:
            ok = status == 401 and resp.get_json()["error"]["code"] == "unauthorized"
        elif expected in (ANON_WEB, ASSETS):
            ok = status in (401, 403) or (
                status == 302 and "/login" in resp.headers.get("Location", ""))
        else:
            ok = status in expected
        if not ok:
            bad.append(f"{method} {rule}: anonymous got {status} "
                       f"{resp.headers.get('Location', '')} {resp.data[:120]!r}")
    assert not bad, "\n".join(bad)


# ------------------------------------------------------------------ the asset matrix

ROLES = ("operator", "pledgee", "registrar", "other_bank", "owner", "co_owner", "investor",
         "anonymous")
_dates = itertools.count(1)
_amounts = itertools.count(1)


class Cast:
    """One organisation per role, each user with an API client and a web session.
    registrar: the bank that registered the asset; pledgee: the bank its pledge is to
    (a different bank, so the two rights can be told apart)."""

    def __init__(self, app, actors):
        from tests.conftest import ApiClient

        self.app, self.anon = app, app.test_client()
        spec = {"operator": "operator", "pledgee": "bank", "registrar": "bank",
                "other_bank": "bank", "owner": "owner", "co_owner": "owner",
                "investor": "investor"}
        self.users, self.api, self.web = {}, {}, {}
        for name, role in spec.items():
            user = actors.user(role, org=f"{name} org {unique_no()}")
            self.users[name] = user
            self.api[name] = ApiClient(app.test_client(), actors.token(user), user)
            self.web[name] = actors.login(app.test_client(), user)
        self.api["anonymous"] = _Anonymous(app.test_client())
        self.web["anonymous"] = app.test_client()

    def org(self, name: str) -> int:
        return self.users[name]["org_id"]

    def asset(self, *, pledged: bool) -> dict:
        """Registered by the registrar for the owner, co-owned; pledged to the pledgee."""
        a = expect(self.api["registrar"].post(f"{API}/assets", json={
            "kind": "invention_patent", "registry_no": unique_no(), "title": "一种减速器",
            "owner_org_id": self.org("owner"), "expires_on": "2040-12-31",
            "co_owner_org_ids": [self.org("co_owner")]}), 201)
        expect(self.api["registrar"].post(f"{API}/assets/{a['id']}/valuations", json={
            "amount": "1000000.00", "valued_on": (market_today() - dt.timedelta(days=30))
            .isoformat(), "method": "income", "agency": "中联资产评估"}), 201)
        if pledged:
            expect(self.api["co_owner"].post(
                f"{API}/assets/{a['id']}/co-owners/{self.org('co_owner')}/consent",
                json={"consent_ref": "同意书"}), 200)
            expect(self.api["pledgee"].post(f"{API}/loans", json={
                "borrower_org_id": self.org("owner"), "principal": "500000.00",
                "annual_rate": "0.0435", "penalty_rate": "0.06525",
                "disbursed_on": "2024-03-01", "maturity_on": "2030-03-01",
                "pledge": {"asset_ids": [a["id"]], "registration_no": unique_no("ZX"),
                           "registered_on": "2024-03-01"}}), 201)
        return a

    def proposal(self, asset_id: int) -> int:
        """An owner's valuation of a pledged asset: proposed."""
        v = expect(self.api["owner"].post(f"{API}/assets/{asset_id}/valuations",
                                          json=valuation_body()), 201)
        assert v["status"] == "proposed", v
        return v["id"]


class _Anonymous:
    def __init__(self, client):
        self.client = client

    def post(self, url, json=None):
        return self.client.post(url, json=json if json is not None else {})


def valuation_body() -> dict:
    return {"amount": f"{700000 + next(_amounts)}.00",
            "valued_on": (market_today() - dt.timedelta(days=10)).isoformat(),
            "method": "market", "agency": "北京天健兴业"}


def fee_date() -> str:
    return (dt.date(2031, 1, 1) + dt.timedelta(days=next(_dates))).isoformat()


# Expected outcome per (action, case) and role. A write that succeeds must show its
# effect; every other answer must have written nothing.
CHANGE_FREE = {"operator": "ok", "registrar": "ok", "owner": "ok", "pledgee": 404,
               "other_bank": 404, "co_owner": 404, "investor": 403, "anonymous": 401}
CHANGE_PLEDGED = {"operator": "ok", "pledgee": "ok", "registrar": 404, "owner": 404,
                  "other_bank": 404, "co_owner": 404, "investor": 403, "anonymous": 401}
VALUE_PLEDGED = {**CHANGE_PLEDGED, "owner": "proposed"}
CONSENT = {"operator": "ok", "co_owner": "ok", "owner": 404, "registrar": 404, "pledgee": 404,
           "other_bank": 404, "investor": 403, "anonymous": 401}
APPLY_PLEDGED = {"operator": "ok", "pledgee": "ok", "registrar": 404, "owner": 404,
                 "other_bank": 404, "co_owner": 404, "investor": 403, "anonymous": 401}
MATRIX = {
    ("legal-status", "free"): CHANGE_FREE, ("legal-status", "pledged"): CHANGE_PLEDGED,
    ("valuation", "free"): CHANGE_FREE, ("valuation", "pledged"): VALUE_PLEDGED,
    ("consent", "free"): CONSENT, ("consent", "pledged"): CONSENT,
    ("apply", "pledged"): APPLY_PLEDGED,
}
# The web forms answer the same, except that a refused role and a refused visitor meet
# the page conventions (403; the login page) and a done form redirects to the asset page.
WEB_STATUS = {"ok": 302, "proposed": 302, 401: 302, 403: 403, 404: 404}


def _api_ok(expected, resp) -> bool:
    if expected in ("ok", "proposed"):
        return resp.status_code in (200, 201)
    data = resp.get_json(silent=True) or {}
    return resp.status_code == expected and "error" in data


def _web_ok(expected, resp, asset_id: int) -> bool:
    if resp.status_code != WEB_STATUS[expected]:
        return False
    location = resp.headers.get("Location", "")
    if expected in ("ok", "proposed"):
        return location.endswith(f"/assets/{asset_id}")
    if expected == 401:
        return "/login" in location
    return True


def _probe(cast, db, channel: str, action: str, case: str, role: str, expected) -> str | None:
    """One call; None if it answered and wrote exactly as expected, else what went wrong."""
    a = cast.asset(pledged=case == "pledged")
    aid = a["id"]
    web = channel == "web"
    client = cast.web[role] if web else cast.api[role]
    vid = None
    if action == "legal-status":
        due = fee_date()
        body = {"legal_status": "valid", "next_fee_due_on": due}
        if web:
            resp = client.post(f"/assets/{aid}/status",
                               data={**body, "expires_on": "2040-12-31"})
        else:
            resp = client.post(f"{API}/assets/{aid}/legal-status", json=body)
        db.rollback()  # a fresh snapshot: the app wrote through its own connection
        changed = str(db.get(Asset, aid).next_fee_due_on) == due
        effect_ok = changed == (expected == "ok")
    elif action == "valuation":
        body = valuation_body()
        if web:
            resp = client.post(f"/assets/{aid}/valuations", data=body)
        else:
            resp = client.post(f"{API}/assets/{aid}/valuations", json=body)
        db.rollback()  # a fresh snapshot: the app wrote through its own connection
        row = db.scalar(select(Valuation).where(Valuation.asset_id == aid,
                                                Valuation.amount == Decimal(body["amount"])))
        if expected == "ok":
            effect_ok = row is not None and row.status == "applied"
        elif expected == "proposed":
            effect_ok = row is not None and row.status == "proposed"
        else:
            effect_ok = row is None
        if not web and expected in ("ok", "proposed") and resp.status_code == 201:
            effect_ok = effect_ok and resp.get_json()["status"] == (
                "applied" if expected == "ok" else "proposed")
    elif action == "consent":
        ref = f"consent {unique_no()}"
        co = cast.org("co_owner")
        if web:
            resp = client.post(f"/assets/{aid}/co-owners/{co}/consent", data={"consent_ref": ref})
        else:
            resp = client.post(f"{API}/assets/{aid}/co-owners/{co}/consent",
                               json={"consent_ref": ref})
        db.rollback()  # a fresh snapshot: the app wrote through its own connection
        stored = db.scalar(select(AssetCoOwner.consent_ref).where(AssetCoOwner.asset_id == aid))
        effect_ok = (stored == ref) == (expected == "ok")
    else:  # apply
        vid = cast.proposal(aid)
        if web:
            resp = client.post(f"/assets/{aid}/valuations/{vid}/apply", data={})
        else:
            resp = client.post(f"{API}/valuations/{vid}/apply")
        db.rollback()  # a fresh snapshot: the app wrote through its own connection
        effect_ok = (db.get(Valuation, vid).status == "applied") == (expected == "ok")
    status_ok = _web_ok(expected, resp, aid) if web else _api_ok(expected, resp)
    if status_ok and effect_ok and action == "apply" and expected == "ok" and not web:
        again = client.post(f"{API}/valuations/{vid}/apply")
        if again.status_code != 409:
            return f"second apply answered {again.status_code}, not 409"
    if status_ok and effect_ok:
        return None
    return (f"answered {resp.status_code} {resp.headers.get('Location', '')} "
            f"{resp.data[:160]!r}; effect {'as expected' if effect_ok else 'WRONG'}")


@pytest.mark.parametrize("channel", ["api", "web"])
def test_asset_write_matrix(app, actors, db, channel):
    """Each role against each asset write, for an unpledged and a pledged asset; every
    mismatch listed at once."""
    cast = Cast(app, actors)
    bad = []
    for (action, case), expectations in sorted(MATRIX.items()):
        for role in ROLES:
            expected = expectations[role]
            problem = _probe(cast, db, channel, action, case, role, expected)
            if problem:
                bad.append(f"{channel} {action} on a {case} asset by {role} "
                           f"(expected {expected}): {problem}")
    assert not bad, "\n".join(bad)


# ------------------------------------------------------------------ who sees an asset

SEE = {"operator": 200, "pledgee": 200, "registrar": 200, "other_bank": 200, "owner": 200,
       "co_owner": 200, "investor": 404, "anonymous": 401}
SEE_WEB = {**SEE, "investor": 403, "anonymous": 302}


def test_who_sees_an_asset_api_and_pages_alike(app, actors, db):
    """The API shows an asset to whom its page shows it; a stranger owner sees nothing."""
    cast = Cast(app, actors)
    a = cast.asset(pledged=True)
    proposal = cast.proposal(a["id"])
    stranger = actors.api("owner")
    stranger_web = actors.login(app.test_client(), stranger.user)
    bad = []
    for role in ROLES:
        resp = cast.api[role].client.get(f"{API}/assets/{a['id']}", headers=getattr(
            cast.api[role], "headers", {}))
        if resp.status_code != SEE[role]:
            bad.append(f"api {role}: {resp.status_code}")
        elif resp.status_code == 200:
            ids = {v["id"] for v in resp.get_json()["valuations"]}
            if proposal not in ids:  # the parties see the proposal, marked as such
                bad.append(f"api {role}: the proposal is missing")
        page = cast.web[role].get(f"/assets/{a['id']}")
        if page.status_code != SEE_WEB[role]:
            bad.append(f"web {role}: {page.status_code}")
    assert stranger.get(f"{API}/assets/{a['id']}").status_code == 404
    assert stranger_web.get(f"/assets/{a['id']}").status_code == 404
    listed = expect(stranger.get(f"{API}/assets?per_page=100"), 200)["items"]
    assert a["id"] not in {x["id"] for x in listed}
    listed = expect(cast.api["co_owner"].get(f"{API}/assets?per_page=100"), 200)["items"]
    assert a["id"] in {x["id"] for x in listed}
    assert expect(cast.api["investor"].get(f"{API}/assets"), 200)["items"] == []
    assert not bad, "\n".join(bad)


# ------------------------------------------------------------------ who registers an asset

def test_who_registers_an_asset(app, actors, db):
    """Banks register assets for any owner; an owner only for its own organisation;
    operators, investors and visitors not at all (API: 403 / 401; pages: 403 / login)."""
    cast = Cast(app, actors)
    owner_org = cast.org("owner")
    expected = {"operator": 403, "pledgee": 201, "registrar": 201, "other_bank": 201,
                "owner": 201, "co_owner": 403, "investor": 403, "anonymous": 401}
    web_expected = {**{r: (302 if s == 201 else s) for r, s in expected.items()},
                    "co_owner": 200, "anonymous": 302}
    bad = []
    for role in ROLES:
        no = unique_no()
        resp = cast.api[role].post(f"{API}/assets", json={
            "kind": "trademark", "registry_no": no, "title": "商标", "owner_org_id": owner_org,
            "expires_on": "2040-12-31"})
        db.rollback()
        written = db.scalar(select(Asset.id).where(Asset.registry_no == no)) is not None
        if resp.status_code != expected[role] or written != (expected[role] == 201):
            bad.append(f"api {role}: {resp.status_code}, written={written}")
        no = unique_no()
        # The owner's form offers only its own organisation: the co-owner cannot pick another.
        resp = cast.web[role].post("/assets/new", data={
            "kind": "trademark", "registry_no": no, "title": "商标", "owner_org_id": owner_org,
            "jurisdiction": "CN", "legal_status": "valid", "expires_on": "2040-12-31"})
        db.rollback()
        written = db.scalar(select(Asset.id).where(Asset.registry_no == no)) is not None
        if resp.status_code != web_expected[role] or written != (expected[role] == 201):
            bad.append(f"web {role}: {resp.status_code}, written={written}")
    assert not bad, "\n".join(bad)
