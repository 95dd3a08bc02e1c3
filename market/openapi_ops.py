"""What the OpenAPI document says about each operation beyond its schemas: a stable
operationId, one tag per area, and the error codes of API.md it can answer with.

Generated clients are named after `operationId` (`create_asset`, `place_bid`), so ids are
chosen here once, by hand, and never derived from URLs or function names: renaming a view
must not rename a bank's client method. `tests/test_openapi_operations.py` fails for an
operation missing from `OPERATIONS`, so a new endpoint cannot ship unnamed.

`OperationDocPlugin` is an apispec plugin: flask-smorest hands it every operation as the
blueprints are registered, and it fills in the id, the tag and the error responses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from apispec import BasePlugin

# Errors every authenticated call can give, added to each operation that needs a token.
AUTH_ERRORS = {401: ("unauthorized",), 403: ("forbidden",), 422: ("validation_error",)}
HTTP_TEXT = {400: "Bad request", 401: "No valid bearer token", 403: "Refused for this caller",
             404: "Not found, or not visible to the caller", 409: "Conflicts with the state",
             422: "Invalid input", 429: "Too many requests"}

TAGS = [
    ("Organisations", "组织 · Organisations: look up counterparties by name."),
    ("Assets", "知识产权 · IP assets, valuations and legal status."),
    ("Loans", "贷款与质押 · Loans, pledges, costs, repayments, default and the claim."),
    ("Register", "公示 · Public registers (no token needed)."),
    ("Listings", "挂牌 · Listings of every disposal mode and their moderation."),
    ("Auctions", "拍卖 · Live auctions, bids and deposits."),
    ("Payments", "付款 · Paying the price; operators confirm offline payments."),
    ("Settlement", "清算 · The sale's settlement against the loan."),
    ("Oversight", "监管 · Loan grades, the NPL tolerance and quarterly IP-pledge reports."),
    ("Market data", "市场行情 · Realised prices, the price-to-value index, start-price guide."),
    ("Equity", "作价入股 · Equity contribution: companies' offers and their acceptance."),
    ("Licensing", "许可 · Licence applications, decisions and fees (open licences included)."),
    ("Calendar", "工作日 · The working-day calendar (holidays, 调休, operators' records)."),
]


@dataclass(frozen=True)
class Op:
    operation_id: str
    tag: str
    public: bool = False  # no token needed (API.md Conventions)
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)


OBJECT = {404: ("not_found",)}

OPERATIONS: dict[tuple[str, str], Op] = {
    ("GET", "/api/v1/orgs"): Op("listOrganisations", "Organisations"),
    ("POST", "/api/v1/assets"): Op("createAsset", "Assets", errors={409: ("duplicate_asset",)}),
    ("GET", "/api/v1/assets"): Op("listAssets", "Assets"),
    ("GET", "/api/v1/assets/{asset_id}"): Op("getAsset", "Assets", errors=OBJECT),
    ("POST", "/api/v1/assets/{asset_id}/valuations"): Op(
        "addValuation", "Assets",
        errors={**OBJECT, 422: ("validity_too_long", "valued_on_in_future")}),
    ("POST", "/api/v1/assets/{asset_id}/co-owners/{org_id}/consent"): Op(
        "recordCoOwnerConsent", "Assets", errors=OBJECT),
    ("POST", "/api/v1/assets/{asset_id}/legal-status"): Op(
        "setLegalStatus", "Assets", errors=OBJECT),
    ("POST", "/api/v1/loans"): Op("createLoan", "Loans", errors={
        404: ("not_found",),
        422: ("asset_already_pledged", "asset_not_in_force", "pledgor_not_owner",
              "term_exceeds_asset", "risk_shares_exceed_one")}),
    ("GET", "/api/v1/loans"): Op("listLoans", "Loans"),
    ("GET", "/api/v1/loans/{loan_id}"): Op("getLoan", "Loans", errors=OBJECT),
    ("GET", "/api/v1/loans/{loan_id}/claim"): Op("getClaim", "Loans", errors=OBJECT),
    ("POST", "/api/v1/loans/{loan_id}/costs"): Op("addLoanCost", "Loans", errors=OBJECT),
    ("POST", "/api/v1/loans/{loan_id}/repayments"): Op(
        "recordRepayment", "Loans", errors={**OBJECT, 422: ("payment_exceeds_claim",)}),
    ("POST", "/api/v1/loans/{loan_id}/default"): Op(
        "declareDefault", "Loans", errors={**OBJECT, 409: ("invalid_transition",)}),
    ("GET", "/api/v1/registry/pledges"): Op("searchPledgeRegister", "Register", public=True),
    ("POST", "/api/v1/listings"): Op("createListing", "Listings", errors={
        404: ("not_found",),
        422: ("no_valid_valuation", "start_price_below_floor", "deposit_out_of_range",
              "auction_too_short", "asset_not_in_force", "reauction_cut_too_large",
              "backstop_not_allowed")}),
    ("GET", "/api/v1/listings"): Op("searchListings", "Listings", public=True),
    ("GET", "/api/v1/listings/{listing_id}"): Op("getListing", "Listings", public=True,
                                                  errors=OBJECT),
    ("PATCH", "/api/v1/listings/{listing_id}"): Op(
        "updateListing", "Listings", errors={**OBJECT, 409: ("invalid_transition",)}),
    ("POST", "/api/v1/listings/{listing_id}/submit"): Op(
        "submitListing", "Listings", errors={
            **OBJECT, 409: ("invalid_transition",),
            422: ("no_valid_valuation", "start_price_below_floor", "asset_not_in_force")}),
    ("POST", "/api/v1/listings/{listing_id}/approve"): Op(
        "approveListing", "Listings", errors={
            **OBJECT, 409: ("invalid_transition", "backstop_not_accepted"),
            422: ("no_valid_valuation", "start_price_below_floor", "auction_too_short")}),
    ("POST", "/api/v1/listings/{listing_id}/reject"): Op(
        "rejectListing", "Listings", errors={**OBJECT, 409: ("invalid_transition",)}),
    ("POST", "/api/v1/listings/{listing_id}/request-changes"): Op(
        "requestListingChanges", "Listings", errors={**OBJECT, 409: ("invalid_transition",)}),
    ("POST", "/api/v1/listings/{listing_id}/withdraw"): Op(
        "withdrawListing", "Listings", errors={**OBJECT, 409: ("invalid_transition",)}),
    ("POST", "/api/v1/listings/{listing_id}/unpublish"): Op(
        "unpublishListing", "Listings", errors={**OBJECT, 409: ("invalid_transition",)}),
    ("POST", "/api/v1/listings/{listing_id}/costs"): Op(
        "addDisposalCost", "Listings", errors=OBJECT),
    ("GET", "/api/v1/listings/{listing_id}/costs"): Op(
        "listDisposalCosts", "Listings", errors=OBJECT),
    ("GET", "/api/v1/listings/{listing_id}/transitions"): Op(
        "listListingTransitions", "Listings", errors=OBJECT),
    ("POST", "/api/v1/listings/{listing_id}/priority-holders"): Op(
        "registerPriorityHolder", "Listings", errors=OBJECT),
    ("GET", "/api/v1/auctions/{auction_id}"): Op("getAuction", "Auctions", public=True,
                                                  errors=OBJECT),
    ("GET", "/api/v1/auctions/{auction_id}/bids"): Op("listBids", "Auctions", public=True,
                                                       errors=OBJECT),
    ("POST", "/api/v1/auctions/{auction_id}/bids"): Op("placeBid", "Auctions", errors={
        **OBJECT, 422: ("not_increment_multiple",), 403: ("deposit_required",),
        409: ("auction_not_open", "already_leading", "bid_too_low")}),
    ("POST", "/api/v1/auctions/{auction_id}/proxy"): Op(
        "setProxyMaximum", "Auctions", errors={
            **OBJECT, 403: ("deposit_required",), 409: ("auction_not_open",)}),
    ("POST", "/api/v1/auctions/{auction_id}/deposits"): Op("payAuctionDeposit", "Auctions", errors={
        **OBJECT, 403: ("seller_cannot_bid", "bidder_barred"),
        409: ("auction_not_open",),
        422: ("method_unavailable", "card_limit_exceeded")}),
    ("POST", "/api/v1/deposits/{deposit_id}/confirm"): Op(
        "confirmDeposit", "Payments", errors={**OBJECT, 409: ("invalid_transition",)}),
    ("POST", "/api/v1/listings/{listing_id}/payments"): Op("payBalance", "Payments", errors={
        **OBJECT, 403: ("not_winner",),
        422: ("method_unavailable", "card_limit_exceeded")}),
    ("GET", "/api/v1/payments/{payment_id}"): Op("getPayment", "Payments", errors=OBJECT),
    ("POST", "/api/v1/payments/{payment_id}/confirm"): Op(
        "confirmPayment", "Payments", errors={**OBJECT, 409: ("payment_not_pending",)}),
    ("GET", "/api/v1/listings/{listing_id}/settlement"): Op(
        "getSettlement", "Settlement", errors=OBJECT),
    ("POST", "/api/v1/loans/{loan_id}/grades"): Op(
        "recordGrade", "Oversight", errors={**OBJECT, 422: ("as_of_out_of_range",)}),
    ("GET", "/api/v1/loans/{loan_id}/grades"): Op("listGrades", "Oversight", errors=OBJECT),
    ("GET", "/api/v1/loans/{loan_id}/grade"): Op("getGrade", "Oversight", errors=OBJECT),
    ("PUT", "/api/v1/banks/{org_id}/overall-npl"): Op(
        "setOverallNplRatio", "Oversight", errors={**OBJECT, 422: ("invalid_period",)}),
    ("GET", "/api/v1/oversight/npl"): Op("getNplPosition", "Oversight",
                                         errors={422: ("invalid_period",)}),
    ("GET", "/api/v1/reports/ip-pledge"): Op("getIpPledgeReport", "Oversight",
                                             errors={422: ("invalid_period",)}),
    ("POST", "/api/v1/valuations/{valuation_id}/apply"): Op(
        "applyValuation", "Assets", errors={**OBJECT, 409: ("invalid_transition",)}),
    ("POST", "/api/v1/listings/{listing_id}/backstop/accept"): Op(
        "acceptBackstop", "Listings", errors={**OBJECT, 409: ("backstop_already_accepted",)}),
    ("GET", "/api/v1/refunds"): Op("listRefunds", "Payments"),
    ("POST", "/api/v1/refunds/{refund_id}/sent"): Op(
        "markRefundSent", "Payments", errors={**OBJECT, 409: ("refund_not_requested",)}),
    ("PUT", "/api/v1/orgs/{org_id}/bank-account"): Op(
        "setBankAccount", "Organisations", errors=OBJECT),
    ("GET", "/api/v1/risk-shares"): Op("listRiskShares", "Oversight"),
    ("POST", "/api/v1/risk-shares/{share_id}/paid"): Op(
        "recordRiskSharePayment", "Oversight",
        errors={**OBJECT, 409: ("share_not_due", "invalid_transition")}),
    ("GET", "/api/v1/loans/{loan_id}/dossier"): Op("getLoanDossier", "Oversight", errors=OBJECT),
    ("GET", "/api/v1/market/sales"): Op("listMarketSales", "Market data", public=True),
    ("GET", "/api/v1/market/index"): Op("getPriceIndex", "Market data", public=True),
    ("GET", "/api/v1/assets/{asset_id}/price-guide"): Op(
        "getPriceGuide", "Market data", errors=OBJECT),
    ("POST", "/api/v1/loans/{loan_id}/agreed-valuation"): Op(
        "recordAgreedValuation", "Loans", errors={
            **OBJECT, 409: ("loan_not_defaulted", "assets_listed", "already_agreed",
                            "pledge_not_registered"),
            422: ("invalid_amount", "invalid_dates", "agreed_before_default",
                  "value_below_floor", "no_valid_valuation")}),
    ("GET", "/api/v1/loans/{loan_id}/agreed-valuation"): Op(
        "getAgreedValuation", "Loans", errors=OBJECT),
    ("POST", "/api/v1/listings/{listing_id}/equity-offers"): Op(
        "makeEquityOffer", "Equity", errors={
            **OBJECT, 403: ("not_enterprise", "seller_cannot_offer"),
            422: ("offer_below_minimum",), 409: ("not_equity_listing", "listing_not_open")}),
    ("GET", "/api/v1/listings/{listing_id}/equity-offers"): Op(
        "listEquityOffers", "Equity", errors=OBJECT),
    ("GET", "/api/v1/equity-offers/{offer_id}"): Op("getEquityOffer", "Equity", errors=OBJECT),
    ("POST", "/api/v1/equity-offers/{offer_id}/accept"): Op(
        "acceptEquityOffer", "Equity", errors={
            **OBJECT, 403: ("not_listing_seller",),
            422: ("nominee_required", "registration_required", "bank_cannot_hold_equity",
                  "nominee_not_investor", "listing_not_pledged"),
            409: ("offer_not_pending", "duplicate_registration_no", "invalid_transition")}),
    ("POST", "/api/v1/listings/{listing_id}/licences"): Op(
        "applyForLicence", "Licensing", errors={
            **OBJECT, 403: ("seller_cannot_license",),
            409: ("licence_conflict", "licence_exists", "listing_not_published",
                  "not_a_licensing_listing")}),
    ("GET", "/api/v1/licences/{licence_id}"): Op("getLicence", "Licensing", errors=OBJECT),
    ("POST", "/api/v1/licences/{licence_id}/accept"): Op(
        "acceptLicence", "Licensing", errors={
            **OBJECT, 403: ("not_listing_seller",),
            409: ("licence_conflict", "invalid_transition", "listing_not_published")}),
    ("POST", "/api/v1/licences/{licence_id}/reject"): Op(
        "rejectLicence", "Licensing", errors={
            **OBJECT, 403: ("not_listing_seller",), 409: ("invalid_transition",)}),
    ("POST", "/api/v1/licences/{licence_id}/payments"): Op(
        "payLicenceFee", "Licensing", errors={
            **OBJECT, 403: ("not_licensee",), 409: ("licence_not_payable", "payment_pending"),
            422: ("method_unavailable", "card_limit_exceeded")}),
    ("GET", "/api/v1/registry/licences"): Op("searchLicenceRegister", "Register", public=True),
    ("POST", "/api/v1/licences/{licence_id}/royalty-reports"): Op(
        "reportRoyalties", "Licensing", errors={
            **OBJECT, 403: ("not_licensee",), 409: ("licence_not_active",),
            422: ("period_invalid", "method_unavailable", "card_limit_exceeded")}),
    ("PUT", "/api/v1/calendar/days/{day}"): Op(
        "setCalendarDay", "Calendar", errors={422: ("invalid_date",)}),
    ("DELETE", "/api/v1/calendar/days/{day}"): Op(
        "clearCalendarDay", "Calendar", errors={**OBJECT, 422: ("invalid_date",)}),
    ("GET", "/api/v1/calendar/working-day"): Op("getWorkingDay", "Calendar", public=True),
    ("POST", "/api/v1/listings/{listing_id}/deposits"): Op(
        "registerForTransfer", "Listings",
        errors={**OBJECT, 403: ("seller_cannot_bid", "bidder_barred"),
                409: ("org_already_registered", "disclosure_closed", "registration_closed",
                      "deposit_exists")}),
    ("POST", "/api/v1/listings/{listing_id}/relist"): Op(
        "relistTransfer", "Listings", errors={**OBJECT, 409: ("invalid_transition",)}),
}

# Request bodies shown as examples on the reference page and in generated clients.
REQUEST_EXAMPLES: dict[str, dict] = {
    "createAsset": {"kind": "invention_patent", "registry_no": "ZL202010123456.7",
                    "title": "一种齿轮传动装置", "owner_org_id": 3, "expires_on": "2040-05-01",
                    "classification": "F16H1/28"},
    "addValuation": {"amount": "8000000.00", "valued_on": "2026-11-20", "method": "income",
                     "agency": "中联资产评估集团"},
    "createLoan": {"borrower_org_id": 3, "principal": "3000000.00", "annual_rate": "0.0435",
                   "penalty_rate": "0.06525", "disbursed_on": "2025-03-01",
                   "maturity_on": "2026-03-01",
                   "pledge": {"asset_ids": [1], "registration_no": "Y2025990001",
                              "registered_on": "2025-02-27"}},
    "createListing": {"title": "齿轮传动专利拍卖", "asset_ids": [1], "mode": "auction",
                      "loan_id": 1,
                      "auction": {"start_price": "5600000.00", "increment": "50000.00",
                                  "deposit": "560000.00",
                                  "starts_at": "2027-01-10T02:00:00+00:00",
                                  "ends_at": "2027-01-11T02:00:00+00:00"}},
    "placeBid": {"amount": "5650000.00"},
    "payBalance": {"method": "offline"},
    "payAuctionDeposit": {"method": "offline"},
    "declareDefault": {"declared_on": "2026-06-30"},
    "recordRepayment": {"amount": "100000.00", "paid_on": "2026-05-20"},
}

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _error_response(status: int, codes: tuple[str, ...], existing: dict | None) -> dict:
    response = dict(existing or {})
    response["description"] = HTTP_TEXT.get(status, "Error") + ": " + ", ".join(
        f"`{c}`" for c in codes)
    content = dict(response.get("content") or {})
    media = dict(content.get("application/json") or {})
    media.setdefault("schema", ERROR_REF)
    media["examples"] = {c: {"value": {"error": {"code": c, "message": "…"}}} for c in codes}
    content["application/json"] = media
    response["content"] = content
    return response


def document(method: str, path: str, operation: dict) -> None:
    """Fill in one operation from the table (unknown operations are left for the test)."""
    op = OPERATIONS.get((method.upper(), path))
    if op is None:
        return
    operation["operationId"] = op.operation_id
    operation["tags"] = [op.tag]
    errors: dict[int, tuple[str, ...]] = {} if op.public else dict(AUTH_ERRORS)
    for status, codes in op.errors.items():
        errors[status] = tuple(dict.fromkeys(errors.get(status, ()) + codes))
    if op.public and ("{" in path):
        errors.setdefault(404, ("not_found",))
    responses = operation.setdefault("responses", {})
    for status, codes in sorted(errors.items()):
        responses[str(status)] = _error_response(status, codes, responses.get(str(status)))
    example = REQUEST_EXAMPLES.get(op.operation_id)
    body = operation.get("requestBody")
    if example is not None and body:
        body.setdefault("content", {}).setdefault("application/json", {})["example"] = example
    if op.public:
        operation["security"] = []


class OperationDocPlugin(BasePlugin):
    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            document(method, path, operation)


INTRO = """\
**中文** · 本接口供银行核心系统、投资机构与验收工具对接交易所。

- 认证：`Authorization: Bearer <token>`，令牌在“账户”页面创建，或用
  `flask --app wsgi users token EMAIL`。公开接口（登记簿、已发布挂牌、拍卖行情、市场数据）无需令牌。
- 金额为两位小数的字符串（`"1234.50"`），利率为小数字符串（`"0.0435"`）；日期 `YYYY-MM-DD`，
  时刻为带时区的 ISO 8601，以 UTC 返回。
- 列表返回 `{"items": [...], "total": N}`，参数 `page`、`per_page`（默认 20，最多 100）。
- 检查顺序：401 → 403（角色）→ 422（请求体）→ 404 → 403（对象相关的拒绝）→ 409（状态冲突）。
  错误体为 `{"error": {"code", "message"}}`；被拒绝的调用不写入任何数据，可安全重试。

**English** · The exchange's integration contract for banks' core systems, investors' tools
and acceptance checks.

- Authentication: `Authorization: Bearer <token>`; create a token on the account page or with
  `flask --app wsgi users token EMAIL`. Public calls (registers, published listings, live
  auctions, market data) need none.
- Money is a string with two decimals (`"1234.50"`), rates are decimal strings (`"0.0435"`);
  dates `YYYY-MM-DD`, instants ISO 8601 with offset, returned in UTC.
- Lists are `{"items": [...], "total": N}` with `page` and `per_page` (default 20, at most 100).
- Checks run in this order: 401 → 403 (role) → 422 (body) → 404 → 403 (refusals that depend on
  the object) → 409 (state). Errors are `{"error": {"code", "message"}}`; each operation lists
  the codes it can return. A refused call writes nothing, so a retry after a timeout is safe:
  read the object back before repeating a call that may have succeeded.
"""


def spec_kwargs() -> dict:
    """Keyword arguments for flask-smorest's Api: our plugin, tags and the intro text."""
    return {"extra_plugins": [OperationDocPlugin()],
            "info": {"description": INTRO},
            "tags": [{"name": name, "description": text} for name, text in TAGS]}
