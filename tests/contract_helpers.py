"""Black-box helpers for the contract suite (tests/test_contract_*.py).

Everything here drives the exchange the way an outside system does: HTTP with bearer
tokens under /api/v1 (and the CLI). The only inside step is making users and tokens
(the `actors` fixture), which the CLI test covers on its own.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import uuid
from decimal import Decimal

from werkzeug.exceptions import HTTPException

from market import timeutil

API = "/api/v1"
D = Decimal
UTC = dt.timezone.utc
HUGE = "99999999999999999999"
MONEY = re.compile(r"^-?\d+\.\d{2}$")
_seq = itertools.count(1)


# ---------------------------------------------------------------- shapes and checks

def body(resp) -> dict:
    data = resp.get_json(silent=True)
    return data if data is not None else {"_raw": resp.data[:300]}


def expect(resp, status: int, code: str | None = None) -> dict:
    """Assert a status (and for errors the contract error shape and code)."""
    data = body(resp)
    assert resp.status_code == status, (
        f"expected {status}{' ' + code if code else ''}, got {resp.status_code}: {data}")
    if status >= 400:
        assert_error_shape(data)
        if code is not None:
            assert data["error"]["code"] == code, data
    return data


def assert_error_shape(data: dict) -> None:
    assert isinstance(data, dict) and set(data) == {"error"}, data
    err = data["error"]
    assert isinstance(err, dict) and {"code", "message"} <= set(err), data
    assert re.fullmatch(r"[a-z][a-z0-9_]*", err["code"]), data
    assert isinstance(err["message"], str) and err["message"], data


def is_money(value) -> bool:
    return isinstance(value, str) and bool(MONEY.match(value))


def money(value) -> Decimal:
    assert is_money(value), f"money must be a string with two decimals, got {value!r}"
    return D(value)


def instant(value: str) -> dt.datetime:
    """An ISO 8601 instant with an offset, returned in UTC."""
    assert isinstance(value, str), value
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"instant without offset: {value}"
    assert parsed.utcoffset() == dt.timedelta(0), f"instant not in UTC: {value}"
    return parsed


def assert_list(data: dict, per_page: int = 20, page: int = 1) -> list:
    assert isinstance(data, dict), data
    assert {"items", "total", "page", "per_page"} <= set(data), data
    assert isinstance(data["items"], list) and isinstance(data["total"], int), data
    assert data["per_page"] == per_page and data["page"] == page, data
    assert len(data["items"]) <= per_page
    return data["items"]


def half_up(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding="ROUND_HALF_UP")


def utcnow() -> dt.datetime:
    """The exchange's clock (the suite runs it in this process), not the wall clock."""
    return timeutil.utcnow()


def iso(t: dt.datetime) -> str:
    return t.astimezone(UTC).isoformat()


def sleep_until(t: dt.datetime, margin: float = 0.05) -> None:
    """Let the exchange's time pass until `t` (+ margin): its clock moves on at once,
    instead of the test waiting on the wall clock (conftest puts it back after the test)."""
    left = t - utcnow() + dt.timedelta(seconds=margin)
    if left > dt.timedelta(0):
        timeutil.advance(left)


def market_today() -> dt.date:
    """The business date now (MARKET_TIMEZONE default Asia/Shanghai)."""
    from zoneinfo import ZoneInfo
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def unique_no(prefix="ZL") -> str:
    return f"{prefix}{uuid.uuid4().int % 10**12:012d}.{next(_seq) % 10}"


# ---------------------------------------------------------------- the cast

class World:
    """Banks, a borrower (owner), another owner, an operator, investors, risk sharers,
    each with its own bearer token; `anon` is a client without a token."""

    ROLES = {"bank": ("bank", "华夏科创银行", None), "bank2": ("bank", "浦江商业银行", None),
             "owner": ("owner", "苏州精密传动", None), "owner2": ("owner", "杭州软件", None),
             "operator": ("operator", "交易中心", None),
             "investor": ("investor", "前海投资", None),
             "investor2": ("investor", "深创投", None), "investor3": ("investor", "红杉", None),
             "fund": ("investor", "风险补偿基金", "fund"),
             "insurer": ("investor", "人保财险", "insurer")}

    def __init__(self, app, actors):
        self.app, self.actors = app, actors
        self.anon = app.test_client()

    def __getattr__(self, name):
        # Users are made on first use (password hashing is slow); fund and insurer are
        # plain user dicts (risk sharers), the others API clients.
        if name not in World.ROLES:
            raise AttributeError(name)
        role, org, kind = World.ROLES[name]
        org = f"{org} {uuid.uuid4().hex[:4]}"
        if kind:
            value = self.actors.user(role, org=org, org_kind=kind)
        else:
            value = self.actors.api(role, org=org)
        setattr(self, name, value)
        return value

    @property
    def borrower_id(self) -> int:
        return self.owner.user["org_id"]

    # ---- assets
    def asset(self, who=None, *, owner_org_id=None, kind="invention_patent", title=None,
              expires_on="2040-12-31", legal_status=None, registry_no=None,
              abstract="Planetary gear reducer for industrial robots.",
              classification="F16H 1/28") -> dict:
        who = who or self.owner
        data = {"kind": kind, "registry_no": registry_no or unique_no(),
                "title": title or "一种行星齿轮减速器",
                "owner_org_id": owner_org_id or self.borrower_id, "expires_on": expires_on,
                "abstract": abstract, "classification": classification}
        if legal_status:
            data["legal_status"] = legal_status
        return expect(who.post(f"{API}/assets", json=data), 201)

    def value(self, asset_id: int, amount="1000000.00", valued_on=None, who=None, **kw) -> dict:
        data = {"amount": amount,
                "valued_on": (valued_on or market_today() - dt.timedelta(days=30)).isoformat(),
                "method": "income", "agency": "中联资产评估", **kw}
        return expect((who or self.owner).post(f"{API}/assets/{asset_id}/valuations",
                                               json=data), 201)

    # ---- loans
    def loan_body(self, asset_ids, *, principal="3000000.00", annual_rate="0.0435",
                  penalty_rate="0.06525", disbursed_on="2024-03-01",
                  maturity_on="2025-03-01", risk_shares=None, borrower=None) -> dict:
        data = {"borrower_org_id": borrower or self.borrower_id, "principal": principal,
                "annual_rate": annual_rate, "penalty_rate": penalty_rate,
                "disbursed_on": disbursed_on, "maturity_on": maturity_on,
                "pledge": {"asset_ids": list(asset_ids), "registration_no": unique_no("ZX"),
                           "registered_on": disbursed_on}}
        if risk_shares is not None:
            data["risk_shares"] = risk_shares
        return data

    def loan(self, asset_ids, bank=None, **kw) -> dict:
        return expect((bank or self.bank).post(f"{API}/loans",
                                               json=self.loan_body(asset_ids, **kw)), 201)

    def default(self, loan_id: int, declared_on="2025-03-10", bank=None) -> dict:
        return expect((bank or self.bank).post(f"{API}/loans/{loan_id}/default",
                                               json={"declared_on": declared_on}), 200)

    def claim(self, loan_id: int, as_of, who=None) -> dict:
        as_of = as_of.isoformat() if isinstance(as_of, dt.date) else as_of
        return expect((who or self.bank).get(f"{API}/loans/{loan_id}/claim?as_of={as_of}"),
                      200)

    def collateral(self, value="1000000.00", principal="3000000.00", **loan_kw):
        """A valued asset pledged for a defaulted loan → (asset, loan)."""
        a = self.asset()
        if value is not None:
            self.value(a["id"], value)
        ln = self.loan([a["id"]], principal=principal, **loan_kw)
        self.default(ln["id"])
        return a, ln

    # ---- listings
    @staticmethod
    def terms(start="700000.00", increment="10000.00", deposit="70000.00", *,
              starts_in=3600.0, lasts=2 * 86400.0, **extra) -> dict:
        starts = utcnow().replace(microsecond=0) + dt.timedelta(seconds=starts_in)
        if starts_in > 0 and starts_in < 1:
            starts += dt.timedelta(seconds=1)
        t = {"start_price": start, "increment": increment, "deposit": deposit,
             "starts_at": iso(starts), "ends_at": iso(starts + dt.timedelta(seconds=lasts))}
        t.update(extra)
        return t

    def listing_body(self, asset_ids, loan_id=None, *, mode="auction", title=None,
                     description="Collateral disposal of a planetary gear reducer patent",
                     **terms) -> dict:
        data = {"title": title or "质押专利处置：行星齿轮减速器", "description": description,
                "asset_ids": list(asset_ids), "mode": mode}
        if loan_id is not None:
            data["loan_id"] = loan_id
        if mode == "auction":
            data["auction"] = self.terms(**terms)
        if mode == "licensing":  # API.md "Licensing": the terms replace an asking price
            data["licensing"] = {"kind": "non_exclusive", "term_months": 12,
                                 "upfront_fee": "100000.00", **terms}
        if mode == "transfer":
            data["transfer"] = {"list_price": "800000.00", "deposit": "80000.00",
                                "increment": "10000.00", **terms}
        return data

    def listing(self, who, data) -> dict:
        return expect(who.post(f"{API}/listings", json=data), 201)

    def publish(self, who, data) -> dict:
        lst = self.listing(who, data)
        expect(who.post(f"{API}/listings/{lst['id']}/submit"), 200)
        return expect(self.operator.post(f"{API}/listings/{lst['id']}/approve"), 200)

    def auction(self, auction_id: int) -> dict:
        return expect(self.anon.get(f"{API}/auctions/{auction_id}"), 200)

    def qualify(self, investor, auction_id: int) -> dict:
        dep = expect(investor.post(f"{API}/auctions/{auction_id}/deposits",
                                   json={"method": "offline"}), 201)
        assert dep["status"] == "pending", dep
        held = expect(self.operator.post(f"{API}/deposits/{dep['id']}/confirm"), 200)
        assert held["status"] == "held", held
        return held

    def bid(self, investor, auction_id: int, amount: str, **kw):
        return investor.post(f"{API}/auctions/{auction_id}/bids", json={"amount": amount, **kw})

    def run_once(self):
        result = self.app.test_cli_runner().invoke(args=["scheduler", "run-once"])
        assert result.exit_code == 0, (result.output, result.exception)
        return result


def call(api, method: str, path: str, json=None):
    """One request; a server exception (TESTING propagates it) becomes ('500', text)."""
    try:
        fn = getattr(api, method.lower())
        resp = fn(API + path, json=json) if method.upper() == "POST" else fn(API + path)
        return resp.status_code, body(resp)
    except Exception as exc:  # noqa: BLE001 - reported as a contract failure (never a 500)
        return 500, {"exception": f"{type(exc).__name__}: {exc}"[:200]}


def check_cases(cases) -> None:
    """cases: (api, method, path, json, status[, code]) — every mismatch listed at once."""
    bad = []
    for case in cases:
        api, method, path, json, status = case[:5]
        code = case[5] if len(case) > 5 else None
        got, data = call(api, method, path, json)
        ok = got == status
        if ok and status >= 400:
            try:
                assert_error_shape(data)
                ok = code is None or data["error"]["code"] == code
            except AssertionError:
                ok = False
        if not ok:
            bad.append(f"{method} {API}{path} {json!r}: expected {status} {code or ''}, "
                       f"got {got} {data}")
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------- OpenAPI conformance

class ResponseRecorder:
    """Records every /api/v1 JSON response of an app to check each against its documented
    OpenAPI schema. It listens at the WSGI entry (app.wsgi_app, outside everything), so it
    also sees the bids answered before Flask (auctions.api.BidShortcut)."""

    def __init__(self, app):
        self.seen: list[tuple[str, str, int, object]] = []
        self.app, self._inner = app, app.wsgi_app
        urls = app.url_map.bind("localhost")

        def recording(environ, start_response):
            got: dict = {}

            def start(status, headers, exc_info=None):
                got["status"], got["headers"] = int(status.split()[0]), dict(headers)
                return start_response(status, headers, exc_info)

            body = b"".join(self._inner(environ, start))
            method = environ["REQUEST_METHOD"].lower()
            try:
                rule, _args = urls.match(environ["PATH_INFO"], method=method.upper(),
                                         return_rule=True)
            except HTTPException:
                rule = None
            if rule is not None and rule.rule.startswith(API) and got["headers"].get(
                    "Content-Type", "").split(";")[0] == "application/json":
                path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
                self.seen.append((method, path, got["status"], json.loads(body or b"null")))
            return [body]

        app.wsgi_app = recording

    def close(self) -> None:
        self.app.wsgi_app = self._inner

    def problems(self, doc: dict) -> list[str]:
        from openapi_schema_validator import OAS30Validator

        out, checked = [], set()
        for method, path, status, data in self.seen:
            op = doc["paths"].get(path, {}).get(method)
            if op is None:
                out.append(f"{method.upper()} {path}: not in the OpenAPI document")
                continue
            resp = op.get("responses", {}).get(str(status)) or op.get("responses", {}).get(
                "default")
            if resp is None:
                out.append(f"{method.upper()} {path} → {status}: status not documented")
                continue
            if "$ref" in resp:
                resp = doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[-1]]
            schema = resp.get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                continue
            key = (method, path, status, repr(data)[:2000])
            if key in checked:
                continue
            checked.add(key)
            validator = OAS30Validator({**schema, "components": doc["components"]})
            errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
            for e in errors[:3]:
                out.append(f"{method.upper()} {path} → {status}: {'/'.join(map(str, e.path))}: "
                           f"{e.message[:200]}")
        return sorted(set(out))
