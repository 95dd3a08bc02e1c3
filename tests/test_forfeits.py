"""Forfeited deposits (悔拍, 法释〔2016〕18号 art. 24): kept, and applied in turn to the
re-sale's costs, to the fall in price against the defaulted sale, then to the debt; the
re-sale's own figures still obey API.md's identities, against the claim that remains."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from market.lending.claims import compute_claim
from market.settlement import ledger, services
from market.settlement.forfeits import ForfeitedDeposit
from market.settlement.models import ForfeitApplication, JournalEntry
from market.timeutil import utcnow
from tests.settlement_helpers import Scenario
from tests.test_settlement import CLAIM_0601, check_identities

D = Decimal
AS_OF = dt.date(2025, 6, 1)


def _forfeited(db, sc, deposit_id: int, amount: str, defaulted_price: str) -> ForfeitedDeposit:
    """A defaulter's deposit as the auctions package leaves it: forfeited on the ledger."""
    ledger.record_deposit_forfeited(db, deposit_id, D(amount), sc.buyer_org.id)
    return ForfeitedDeposit(deposit_id, sc.buyer_org.id, D(amount), D(defaulted_price))


def _resale(sc, price, forfeits, **kw):
    return services.open_sale(
        sc.s, listing_id=sc.listing_id, sale_ref=kw.pop("sale_ref", "auction:2"),
        loan_id=sc.loan.id if sc.loan else None, seller_org_id=sc.seller.id,
        pledgor_org_id=sc.pledgor.id, buyer_user_id=sc.buyer.id, price=D(price),
        deposit_applied=D("0"), disposal_costs=D(kw.pop("disposal_costs", "0")), as_of=AS_OF,
        balance_due_by=utcnow() + dt.timedelta(days=10), forfeits=forfeits, **kw)


def test_forfeit_covers_resale_costs_then_price_fall_then_debt(db):
    """法释〔2016〕18号 art. 24: costs of the re-sale (commission 19,000 + disposal costs
    30,000), then the fall in price (2,000,000 → 1,900,000), then the debt; all of it is
    the bank's recovery, applied to the claim in 561 order before the re-sale's figures."""
    sc = Scenario(db)
    f = _forfeited(db, sc, 901, "200000.00", "2000000.00")
    st = _resale(sc, "1900000.00", [f], disposal_costs="30000.00")
    fa = db.scalar(select(ForfeitApplication).where(ForfeitApplication.deposit_id == 901))
    assert (fa.to_resale_costs, fa.to_price_shortfall, fa.to_debt) == (
        D("49000.00"), D("100000.00"), D("51000.00"))
    assert (fa.applied_to_claim, fa.to_owner) == (D("200000.00"), D("0.00"))
    assert fa.settlement_id == st.id
    # The forfeit met penalty interest first (561), so the sale meets what remains.
    assert st.claim_total == CLAIM_0601 - D("200000.00")
    assert compute_claim(db, sc.loan.id, AS_OF).total == st.claim_total
    check_identities(st)
    assert st.net_proceeds == D("1851000.00")
    assert st.shortfall == CLAIM_0601 - D("200000.00") - D("1851000.00")
    body = services.as_dict(st)["forfeited_deposits"]
    assert body["amount"] == D("200000.00") and body["to_debt"] == D("51000.00")
    assert ledger.balance(db, "forfeited_deposits", sc.buyer_org.id) == 0

    assert services.settle(db, st.id, paid_at=utcnow())
    # The loan's claim fell by exactly the forfeit plus what the sale applied.
    assert compute_claim(db, sc.loan.id, AS_OF).total == st.shortfall
    assert ledger.balance(db, "bank_recovery", sc.bank.id) == -(
        D("200000.00") + services.applied_total(st))


def test_a_small_forfeit_stops_at_the_costs(db):
    """In turn: a forfeit smaller than the re-sale's costs makes good only part of them."""
    sc = Scenario(db)
    f = _forfeited(db, sc, 902, "10000.00", "2000000.00")
    _resale(sc, "1900000.00", [f], disposal_costs="30000.00")
    fa = db.scalar(select(ForfeitApplication))
    assert (fa.to_resale_costs, fa.to_price_shortfall, fa.to_debt) == (
        D("10000.00"), D("0.00"), D("0.00"))
    assert fa.applied_to_claim == D("10000.00")


def test_forfeit_beyond_the_claim_goes_to_the_pledgor(db):
    """民法典 438: once the debt is met, what is left of the forfeit is the pledgor's; the
    re-sale then meets no claim, and all its net proceeds are surplus."""
    sc = Scenario(db, principal="30000.00")
    claim = compute_claim(db, sc.loan.id, AS_OF).total
    f = _forfeited(db, sc, 903, "50000.00", "60000.00")
    st = _resale(sc, "60000.00", [f])
    fa = db.scalar(select(ForfeitApplication))
    assert fa.applied_to_claim == claim and fa.to_owner == D("50000.00") - claim
    assert st.claim_total == 0 and st.shortfall == 0
    assert st.surplus_to_pledgor == st.net_proceeds
    check_identities(st)
    assert ledger.balance(db, "pledgor_surplus", sc.pledgor.id) == -(D("50000.00") - claim)


def test_own_ip_forfeit_goes_to_the_owner(db):
    """An owner selling its own IP has no debt here: the forfeit is the owner's."""
    sc = Scenario(db, own_ip=True)
    f = _forfeited(db, sc, 904, "5000.00", "100000.00")
    st = _resale(sc, "90000.00", [f])
    fa = db.scalar(select(ForfeitApplication))
    assert fa.applied_to_claim == 0 and fa.to_owner == D("5000.00")
    assert (fa.to_resale_costs, fa.to_price_shortfall) == (D("900.00"), D("4100.00"))
    assert ledger.balance(db, "seller_proceeds", sc.seller.id) == D("-5000.00")
    check_identities(st)


def test_each_forfeit_is_applied_once(db):
    """Exactly once: a later sale of the same listing (the re-sale defaulted too) does not
    apply the same deposit again; a new forfeit is applied with it."""
    sc = Scenario(db)
    f1 = _forfeited(db, sc, 905, "100000.00", "2000000.00")
    first = _resale(sc, "1900000.00", [f1], sale_ref="auction:2")
    assert len(first.forfeits) == 1
    assert services.mark_defaulted(db, first.id)
    f2 = _forfeited(db, sc, 906, "95000.00", "1900000.00")
    second = _resale(sc, "1800000.00", [f1, f2], sale_ref="auction:3")
    assert [fa.deposit_id for fa in second.forfeits] == [906]
    assert db.scalar(select(JournalEntry.id).where(
        JournalEntry.idempotency_key == "forfeit:905:applied")) is not None
    assert len(db.scalars(select(ForfeitApplication)).all()) == 2
    # The fall in price is against the price its own defaulter walked away from.
    assert second.forfeits[0].to_price_shortfall == D("95000.00") - D("18000.00")
    check_identities(second)


# --- through the auctions: a winner defaults, the listing is sold again ---------------

def _pledged_auction(app, db, actors):
    from market.accounts.models import Org
    from tests.auction_helpers import bid, make_auction, move_times, qualify
    from tests.settlement_helpers import loan, org

    op, seller = actors.api("operator"), actors.api("bank")
    a1, a2 = actors.api("investor"), actors.api("investor")
    ln = loan(db, db.get(Org, seller.user["org_id"]), org(db), principal="300000.00")
    db.commit()
    lid, aid = make_auction(db, seller.user, loan_id=ln.id)
    qualify(a1, op, aid)
    d2 = qualify(a2, op, aid)
    assert bid(a1, aid, "100000.00").status_code == 201
    assert bid(a2, aid, "105000.00").status_code == 201
    move_times(app, aid, ends_in=-1)
    return dict(op=op, seller=seller, a1=a1, a2=a2, lid=lid, aid=aid, d2=d2, loan_id=ln.id)


def _default_the_winner(app, aid):
    from market.db import database
    from market.settlement.models import Settlement

    with app.app_context(), database(app).transaction() as s:
        st = s.scalar(select(Settlement).where(Settlement.sale_ref == f"auction:{aid}"))
        assert services.mark_defaulted(s, st.id)


def _next_round(db, lid):
    from listings.models import Listing

    db.rollback()
    return db.get(Listing, lid).auction_id


def test_resale_after_default_applies_the_forfeit_and_the_bank_sees_it(app, db, actors):
    """悔拍 end to end: the winner (105,000) defaults; its 10,000 deposit is forfeited;
    the re-sale goes for 100,000, and the forfeit makes good its costs (commission 1,000),
    the fall in price (5,000) and 4,000 of debt — all applied to the loan when the re-sale
    closes; the bank's settlement shows it, and the claim GET agrees with the figures."""
    from tests.auction_helpers import bid, move_times, qualify, run_scheduler

    w = _pledged_auction(app, db, actors)
    run_scheduler(app)
    _default_the_winner(app, w["aid"])
    nxt = _next_round(db, w["lid"])
    move_times(app, nxt, starts_in=-10, ends_in=3600)
    qualify(w["a1"], w["op"], nxt)
    assert bid(w["a1"], nxt, "100000.00").status_code == 201
    move_times(app, nxt, ends_in=-1)
    run_scheduler(app)

    body = w["seller"].get(f"/api/v1/listings/{w['lid']}/settlement").get_json()
    assert body["status"] == "awaiting_payment" and body["price"] == "100000.00"
    assert body["forfeited_deposits"] == {
        "amount": "10000.00", "to_resale_costs": "1000.00", "to_price_shortfall": "5000.00",
        "to_debt": "4000.00", "applied_to_claim": "10000.00", "to_owner": "0.00"}
    claim = w["seller"].get(f"/api/v1/loans/{w['loan_id']}/claim",
                            query_string={"as_of": body["as_of"]}).get_json()
    assert claim["total"] == body["claim_total"]
    applied = sum(D(v) for v in body["applied"].values())
    assert D(body["shortfall"]) == D(body["claim_total"]) - applied
    assert D(body["net_proceeds"]) == D("100000.00") - D(body["seller_commission"])
    db.rollback()
    assert ledger.balance(db, "forfeited_deposits", w["a2"].user["org_id"]) == 0
    page = actors.login(app.test_client(), w["seller"].user).get(
        f"/settlements/listing/{w['lid']}").get_data(as_text=True)
    for key, amount in (("forfeited_deposits", "10,000.00"),
                        ("forfeit_to_price_shortfall", "5,000.00"),
                        ("forfeit_applied_to_claim", "10,000.00")):
        assert f'data-line="{key}"' in page and amount in page
    assert "已扣除没收的保证金" in page  # the claim line says it is net of the forfeits


def test_forfeit_goes_to_the_debt_when_no_resale_comes(app, db, actors):
    """法释〔2016〕18号: re-sale, re-auction and the fixed-price stage all find no buyer;
    as the listing fails the forfeited deposit is applied to the debt all the same."""
    from listings.models import Listing
    from tests.auction_helpers import move_times, run_scheduler

    w = _pledged_auction(app, db, actors)
    run_scheduler(app)
    _default_the_winner(app, w["aid"])
    for _ in range(3):  # re-sale, re-auction at a cut price, fixed-price stage
        nxt = _next_round(db, w["lid"])
        move_times(app, nxt, starts_in=-10, ends_in=-1)
        run_scheduler(app)
    db.rollback()
    assert db.get(Listing, w["lid"]).status == "failed"
    fa = db.scalar(select(ForfeitApplication))
    assert fa.deposit_id == w["d2"] and fa.settlement_id is None
    assert (fa.to_resale_costs, fa.to_price_shortfall, fa.to_debt) == (0, 0, D("10000.00"))
    assert fa.applied_to_claim == D("10000.00")
    assert ledger.balance(db, "bank_recovery", w["seller"].user["org_id"]) == D("-10000.00")


def test_withdrawing_after_a_default_applies_the_forfeit_to_the_debt(app, db, actors):
    """The bank withdraws the listing after the winner defaulted (the re-sale round has no
    bids yet): no re-sale will come, so the forfeit goes to the debt at once."""
    from tests.auction_helpers import run_scheduler

    w = _pledged_auction(app, db, actors)
    run_scheduler(app)
    _default_the_winner(app, w["aid"])
    r = w["seller"].post(f"/api/v1/listings/{w['lid']}/withdraw", json={})
    assert r.status_code == 200, r.get_json()
    db.rollback()
    fa = db.scalar(select(ForfeitApplication))
    assert fa.deposit_id == w["d2"] and fa.to_debt == D("10000.00")
    assert fa.applied_to_claim == D("10000.00") and fa.settlement_id is None
    assert ledger.balance(db, "forfeited_deposits", w["a2"].user["org_id"]) == 0
