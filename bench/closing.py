"""1,000 auctions with bids ending in the same second, closed by 2 scheduler processes
(`flask scheduler run-once`) on PostgreSQL: seconds until all are closed with their sale
figures fixed, and a check that each auction was closed exactly once.

    python -m bench.closing [--auctions 1000] [--schedulers 2]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from decimal import Decimal

from sqlalchemy import insert, select, text

from bench.bids import DEFAULT_URL, ROOT, build_schema, drop_database, make_database


def seed(app, n: int) -> None:
    from auctions.models import Auction, AuctionBidder, Bid
    from market.payments.models import Deposit
    from listings.models import Listing
    from market.accounts import services as accounts
    from market.db import database
    from market.timeutil import utcnow

    now = utcnow()
    later = now + dt.timedelta(hours=1)
    with app.app_context(), database(app).transaction() as s:
        bank = accounts.get_or_create_org(s, "Bench bank", "bank")
        seller = accounts.create_user(s, "bench-bank@example.com", "bench-password-1", "bank", bank)
        invs = []
        for i in range(2):
            org = accounts.get_or_create_org(s, f"Bench investor {i}", "investor")
            invs.append(accounts.create_user(s, f"bench-inv-{i}@example.com", "bench-password-1",
                                             "investor", org))
        s.flush()
        conn = s.connection()
        lids = conn.execute(insert(Listing).returning(Listing.id), [dict(
            title=f"bench {i}", mode="auction", status="published", currency="CNY",
            seller_org_id=bank.id, created_by=seller.id, search_text="",
            start_price=Decimal("1000.00"), increment=Decimal("10.00"), deposit=Decimal("100.00"),
            starts_at=now - dt.timedelta(days=1), ends_at=later, allow_proxy=False,
            extension_window_s=300, extension_s=300, created_at=now, updated_at=now,
            published_at=now) for i in range(n)]).scalars().all()
        aids = conn.execute(insert(Auction).returning(Auction.id), [dict(
            listing_id=lid, round=1, stage="auction", status="open", currency="CNY",
            start_price=Decimal("1000.00"), increment=Decimal("10.00"),
            deposit_amount=Decimal("100.00"), starts_at=now - dt.timedelta(days=1), ends_at=later,
            extension_window_s=300, extension_s=300, allow_proxy=False, bid_count=0,
            created_at=now) for lid in lids]).scalars().all()
        conn.execute(text("UPDATE listings SET auction_id = a.id FROM auctions a"
                          " WHERE a.listing_id = listings.id"))
        lid_of = dict(conn.execute(select(Auction.id, Auction.listing_id)
                                   .where(Auction.id.in_(aids))).all())
        deps = conn.execute(insert(Deposit).returning(Deposit.id, Deposit.auction_id,
                                                      Deposit.user_id), [dict(
            listing_id=lid_of[aid], auction_id=aid, user_id=u.id, org_id=u.org_id,
            amount=Decimal("100.00"),
            currency="CNY", method="offline", status="held", reference=f"B{aid}-{k}",
            idempotency_key=f"bench-{aid}-{k}", created_at=now, held_at=now)
            for aid in aids for k, u in enumerate(invs)]).all()
        bidders = conn.execute(insert(AuctionBidder).returning(
            AuctionBidder.id, AuctionBidder.auction_id, AuctionBidder.user_id), [dict(
                auction_id=aid, user_id=uid, org_id=invs[0 if uid == invs[0].id else 1].org_id,
                code=f"C{dep_id}", deposit_id=dep_id, qualified_at=now)
                for dep_id, aid, uid in deps]).all()
        by_auction: dict[int, list] = {}
        for bid_id, aid, uid in bidders:
            by_auction.setdefault(aid, []).append(bid_id)
        conn.execute(insert(Bid), [dict(auction_id=aid, bidder_id=b, bidder_code=f"C{b}",
                                        amount=Decimal("1000.00") + 10 * k, kind="bid",
                                        placed_at=now)
                                   for aid, bs in by_auction.items() for k, b in enumerate(bs)])
        for aid, bs in by_auction.items():
            conn.execute(text("UPDATE auctions SET current_price = :p, bid_count = 2,"
                              " leader_bidder_id = :b, leader_code = :c WHERE id = :a"),
                         {"p": 101000, "b": bs[-1], "c": f"C{bs[-1]}", "a": aid})


def settle_all(url: str, expected: int) -> bool:
    """Every winner's balance confirmed (offline, as the operator's payments desk does it),
    one sale per transaction; each settles against its loan. Prints the time it took."""
    from sqlalchemy import func, select

    from market.accounts.models import User
    from market.app import create_app
    from market.db import database
    from market.payments import services as payments
    from market.settlement.cli import verify
    from market.settlement.models import Settlement

    app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    db = database(app)
    with app.app_context():
        with db.transaction() as s:
            todo = [(st.listing_id, st.buyer_user_id) for st in s.scalars(
                select(Settlement).where(Settlement.status == "awaiting_payment"))]
        t = time.monotonic()
        for listing_id, buyer_id in todo:
            with db.transaction() as s:
                pay = payments.start_balance_payment(s, listing_id=listing_id,
                                                     user=s.get(User, buyer_id), method="offline")
                s.flush()
                payments.confirm_offline(s, pay.id, actor_id=None)
        took = time.monotonic() - t
        with db.transaction() as s:
            settled = s.scalar(select(func.count()).select_from(Settlement)
                               .where(Settlement.status == "settled"))
            problems = verify(s)
    db.engine.dispose()
    print(f"  then {len(todo)} balances confirmed: all settled after {took:6.2f} s"
          f" ({len(todo) / max(took, 1e-9):.0f} settlements/s, one transaction each)")
    print(f"  settled {settled}; ledger verify: {'OK' if not problems else problems[:3]}")
    return settled == expected and not problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--auctions", type=int, default=1000)
    ap.add_argument("--schedulers", type=int, default=2)
    args = ap.parse_args()
    url = make_database(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL), "ipx_bench_close")
    try:
        from sqlalchemy import create_engine

        from market.app import create_app
        from market.db import database

        app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
        build_schema(app)
        t = time.monotonic()
        seed(app, args.auctions)
        print(f"seeded {args.auctions} auctions with 2 bids each in {time.monotonic() - t:.1f} s")
        database(app).engine.dispose()
        eng = create_engine(url)
        with eng.begin() as c:  # all end in the same second, just passed
            c.execute(text("UPDATE auctions SET ends_at = date_trunc('second', now())"))
        time.sleep(1.0)
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": ROOT}
        t0 = time.monotonic()
        procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler",
                                   "run-once"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(args.schedulers)]
        first = None
        while True:
            with eng.connect() as c:
                left = c.execute(text("SELECT count(*) FROM auctions WHERE status = 'open'")).scalar()
            if first is None and left < args.auctions:
                first = time.monotonic() - t0
            if left == 0 or all(p.poll() is not None for p in procs):
                break
            time.sleep(0.1)
        all_closed = time.monotonic() - t0
        outs = [p.communicate(timeout=600) for p in procs]
        with eng.connect() as c:
            q = lambda sql: c.execute(text(sql)).scalar()  # noqa: E731
            closed = q("SELECT count(*) FROM auctions WHERE status = 'closed'")
            settlements = q("SELECT count(*) FROM settlements")
            dup_closes = q("SELECT count(*) FROM (SELECT object_id FROM audit_records WHERE"
                           " action = 'auction.closed' GROUP BY object_id HAVING count(*) > 1) x")
            closes = q("SELECT count(*) FROM audit_records WHERE action = 'auction.closed'")
            wrong_price = q("SELECT count(*) FROM settlements s JOIN auctions a ON"
                            " s.sale_ref = 'auction:' || a.id WHERE s.price <> a.current_price")
            released = q("SELECT count(*) FROM deposits WHERE status = 'released'")
            span = q("SELECT extract(epoch FROM max(closed_at) - min(closed_at)) FROM auctions")
        eng.dispose()
        print(f"\n{args.auctions} auctions ending in the same second, {args.schedulers} scheduler "
              f"processes (flask scheduler run-once), PostgreSQL")
        print(f"  all closed after      {all_closed:6.2f} s from launching the schedulers"
              f" (first close at {first or 0:.2f} s: process start-up)")
        print(f"  closing span          {float(span or 0):6.2f} s (first to last closed_at)"
              f"  → {args.auctions / max(float(span or 0), 1e-9):.0f} closes/s")
        print(f"  closed {closed}, settlements {settlements}, close records {closes},"
              f" auctions closed twice {dup_closes}, wrong prices {wrong_price},"
              f" losers' deposits released {released}")
        ok = (closed == settlements == closes == args.auctions and dup_closes == 0
              and wrong_price == 0 and released == args.auctions)
        print(f"  each closed once with its figures fixed: {ok}")
        settled_ok = settle_all(url, args.auctions)
        ok = ok and settled_ok
        print("  load average (1/5/15 min) at the end: %.2f %.2f %.2f" % os.getloadavg())
        for p, (_out, err) in zip(procs, outs):
            if p.returncode:
                print("scheduler failed:", err.decode()[-1500:])
            elif not ok:
                print("scheduler output:", _out.decode()[-500:], err.decode()[-3000:])
        return 0 if ok else 1
    finally:
        drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
