"""/api/v1/auctions and /api/v1/deposits (API.md "Auctions")."""
from __future__ import annotations

import io
import re

from flask import current_app, jsonify, request
from marshmallow import Schema, fields
from sqlalchemy import select
from werkzeug.http import parse_etags

from market.accounts.services import token_digest
from market.api import (API_PREFIX, Blueprint, MoneyField, PageArgs, api_auth, api_user,
                        page_schema, paginate)
from market.db import database, get_session
from market.errors import DomainError, NotFound
from market.http import (json_answer, request_id, response_headers, run_checks,
                         server_error)
from market.inputs import load_json
from market.payments.api import DepositIn, DepositOut
from market.money import parse_amount
from market.payments import deposits as dep_service

from . import engine, flows
from .models import Auction, Bid
from .views_model import MAX_ID, check_id

blp = Blueprint("auctions_api", __name__, url_prefix=API_PREFIX, description="Auctions")


class AuctionSchema(Schema):
    id = fields.Integer(required=True)
    listing_id = fields.Integer(required=True)
    round = fields.Integer(required=True)
    stage = fields.String(required=True, metadata={"enum": ["auction", "fixed_price"]})
    status = fields.String(required=True, metadata={
        "enum": ["scheduled", "open", "closed", "failed", "cancelled"]})
    currency = fields.String(required=True)
    start_price = fields.String(required=True)
    increment = fields.String(required=True)
    deposit = fields.String(required=True)
    current_price = fields.String(allow_none=True, required=True)
    min_next_bid = fields.String(required=True)
    bid_count = fields.Integer(required=True)
    leader_code = fields.String(allow_none=True, required=True)
    starts_at = fields.String(required=True)
    ends_at = fields.String(required=True)
    reserve_met = fields.Boolean(required=True)
    winner_code = fields.String(allow_none=True, required=True)
    extension_window_s = fields.Integer()
    extension_s = fields.Integer()
    allow_proxy = fields.Boolean()
    server_time = fields.String()


class BidSchema(Schema):
    amount = MoneyField(required=True)
    bidder_code = fields.String(required=True)
    placed_at = fields.DateTime(required=True)
    kind = fields.String()


class BidIn(Schema):
    amount = MoneyField(required=True)
    max_amount = MoneyField(load_default=None, allow_none=True)


class BidOut(Schema):
    bid = fields.Nested(BidSchema, required=True)
    auction = fields.Nested(AuctionSchema, required=True)


class ProxyIn(Schema):
    max_amount = MoneyField(required=True)


@blp.get("/auctions/<int:auction_id>")
@api_auth(optional=True)
@blp.response(200, AuctionSchema)
def get_auction(auction_id: int):
    """Pollers send If-None-Match: an unchanged auction is a bodiless 304 after one narrow
    query; no-cache makes every client and proxy ask again, so a bid shows on the next poll."""
    check_id(auction_id, "auction")
    s = get_session()
    if request.if_none_match:
        tag = flows.current_etag(s, auction_id)
        if request.if_none_match.contains_weak(tag):
            resp = current_app.response_class(status=304)
            resp.set_etag(tag, weak=True)
            resp.headers["Cache-Control"] = "no-cache"
            return resp
    out, tag = flows.public_auction_and_etag(s, auction_id)
    return out, 200, {"ETag": f'W/"{tag}"', "Cache-Control": "no-cache"}


@blp.get("/auctions/<int:auction_id>/bids")
@api_auth(optional=True)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(BidSchema, "BidPage"))
def list_bids(args, auction_id: int):
    check_id(auction_id, "auction")
    s = get_session()
    if s.get(Auction, auction_id) is None:
        raise NotFound("auction")
    stmt = select(Bid).where(Bid.auction_id == auction_id).order_by(Bid.id.desc())
    return paginate(s, stmt, args["page"], args["per_page"])


@blp.post("/auctions/<int:auction_id>/bids")
@api_auth("investor")
@blp.arguments(BidIn)
@blp.response(201, BidOut)
@blp.doc(security=[{"bearer": []}])
def place_bid(body, auction_id: int):
    # On PostgreSQL most bids are answered before this view, by BidShortcut (below).
    check_id(auction_id, "auction")
    out = flows.bid(get_session(), auction_id, api_user(), body["amount"],
                    body.get("max_amount"))
    # The hot path: the engine already built the documented BidOut shape (strings for
    # money), so it goes out as it is instead of through a second marshmallow dump.
    resp = jsonify(out)
    resp.status_code = 201
    return resp


@blp.post("/auctions/<int:auction_id>/proxy")
@api_auth("investor")
@blp.arguments(ProxyIn)
@blp.response(200, AuctionSchema)
@blp.doc(security=[{"bearer": []}])
def raise_proxy(body, auction_id: int):
    """The leader raises its proxy maximum (where the listing allows proxy bidding)."""
    check_id(auction_id, "auction")
    s = get_session()
    out = flows.raise_proxy(s, auction_id, api_user(), body["max_amount"])
    s.commit()
    return out


@blp.post("/auctions/<int:auction_id>/deposits")
@api_auth("investor")
@blp.arguments(DepositIn)
@blp.response(201, DepositOut)
@blp.doc(security=[{"bearer": []}])
def create_deposit(body, auction_id: int):
    check_id(auction_id, "auction")
    return flows.deposit(get_session(), current_app.config, auction_id, api_user(),
                           body["method"])


@blp.post("/deposits/<int:deposit_id>/confirm")
@api_auth("operator")
@blp.response(200, DepositOut)
@blp.doc(security=[{"bearer": []}])
def confirm_deposit(deposit_id: int):
    check_id(deposit_id, "deposit")
    s = get_session()
    dep = dep_service.confirm_offline(s, deposit_id, api_user().id)
    out = dep_service.deposit_dict(dep)
    s.commit()
    return out


class BidShortcut:
    """WSGI middleware: on PostgreSQL, POST /api/v1/auctions/<id>/bids is answered by the
    unlocked bid path (engine.place_plain_bid_pg: snapshot, the engine's rules, one guarded
    write) before Flask builds a request at all.

    Under gunicorn, Flask's per-request machinery (request context, URL matching, the
    cookie session, the CSRF, login and header hooks, teardown) cost about 0.4 ms of CPU
    per bid, more than the bid's own Python; on two cores shared with PostgreSQL, skipping
    it raised bids/s by a quarter. Only that path's definite answers are served here:
    accepted (201, the view's body) or refused by API.md's checks (`DomainError.body()`,
    audited as flows.bid audits it). Everything else — a body BidIn would not take as it
    is, a token that is not an active investor's, no bidder row, proxy auctions, a bid the
    guard kept missing, SQLite — reaches Flask untouched and takes the view. What every request needs (request id,
    checks, headers, error and 500 bodies) comes from market/http.py, as Flask's does, so a
    check or header added there applies to these bids too.

    It also answers a poller's GET /api/v1/auctions/<id> with If-None-Match when the auction
    is unchanged (a bodiless 304, see _not_modified): at a second's polling, most requests.
    """

    PATH = re.compile(re.escape(API_PREFIX) + r"/auctions/([0-9]{1,10})/bids")
    LIVE = re.compile(re.escape(API_PREFIX) + r"/auctions/([0-9]{1,10})")
    MAX_BODY = 4096  # a bid is a few dozen bytes; anything bigger is Flask's to judge

    def __init__(self, app, wsgi_app) -> None:
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and "HTTP_IF_NONE_MATCH" in environ:
            m = self.LIVE.fullmatch(environ.get("PATH_INFO", ""))
            if m is not None:
                answer = self._not_modified(environ, int(m.group(1)))
                if answer is not None:
                    status, headers = answer
                    start_response(status, headers)
                    return [b""]
        if environ.get("REQUEST_METHOD") == "POST":
            m = self.PATH.fullmatch(environ.get("PATH_INFO", ""))
            if m is not None:
                answer = self._answer(environ, int(m.group(1)))
                if answer is not None:
                    status, headers, body = answer
                    start_response(status, headers)
                    return [body]
        return self.wsgi_app(environ, start_response)

    def _not_modified(self, environ, auction_id: int):
        """A poller's revalidation of an unchanged auction: the 304 get_auction would give,
        after one narrow query and without Flask's per-request machinery. Anything else
        (a token to check, a changed or unknown auction, a failed check) goes to the view."""
        if "HTTP_AUTHORIZATION" in environ or not 0 < auction_id <= MAX_ID:
            return None
        db = database(self.app)
        try:
            run_checks(self.app, environ)
            if db.is_sqlite:
                with db.engine.connect() as conn:
                    tag = flows.current_etag(conn, auction_id)
            else:  # one prepared statement in autocommit: no BEGIN / ROLLBACK round trips
                row = db.fetch_one_autocommit(flows.STATE_SQL, {"id": auction_id})
                if row is None:
                    return None
                tag = flows.auction_etag(row)
        except DomainError:
            return None
        if not parse_etags(environ["HTTP_IF_NONE_MATCH"]).contains_weak(tag):
            return None
        return ("304 NOT MODIFIED",
                [("ETag", f'W/"{tag}"'), ("Cache-Control", "no-cache"),
                 *response_headers(self.app, environ), ("Vary", "Cookie")])

    def _answer(self, environ, auction_id: int):
        db = database(self.app)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if db.is_sqlite or not 0 < auction_id <= MAX_ID or not auth.startswith("Bearer ") \
                or environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() \
                != "application/json":
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= self.MAX_BODY:
            return None
        data = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(data)  # for Flask, if the answer is not ours
        try:  # exactly what BidIn would accept, and nothing else
            body = load_json(data)
            if type(body) is not dict or not body.keys() <= {"amount", "max_amount"} \
                    or body.get("max_amount") is not None:
                return None
            amount = parse_amount(body["amount"])
        except (ValueError, KeyError):
            return None
        try:
            run_checks(self.app, environ)  # what every request passes, as in Flask
            out = engine.place_plain_bid_pg(db, auction_id, token_digest(auth[7:].strip()),
                                            amount, request_id(environ))
            status = 201
        except DomainError as exc:
            out, status = exc.body(), exc.status
        except Exception:  # as Flask would: propagate when testing, else log and answer 500
            out, status = server_error(self.app, environ), 500
        if out is None:
            return None
        return json_answer(self.app, environ, status, out)
