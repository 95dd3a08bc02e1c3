"""Bids on one hot auction through a real gunicorn server (2 sync workers) on PostgreSQL,
next to the raw psycopg rate of the classic transaction measured in the same run:
BEGIN; SELECT … FOR UPDATE; INSERT bid; UPDATE auction; COMMIT.

    python -m bench.bids [--seconds 5] [--levels 1,4,16]

BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres) names
a server; the benchmark makes its own database there and drops it. Prints figures only.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal

from sqlalchemy import create_engine, text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def make_database(base: str, prefix: str) -> str:
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base.rpartition("/")[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rpartition("/")[0] + "/" + name


def drop_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def build_schema(app) -> None:
    from market.app import all_models
    from market.db import Base, database

    all_models()
    if os.environ.get("BENCH_MIGRATIONS"):
        from market.cli import upgrade

        upgrade(app)  # the real schema, append-only triggers included
    else:  # the models are the truth until the migration is regenerated from them
        Base.metadata.create_all(database(app).engine)


def seed_hot_auction(app, n_bidders: int) -> tuple[int, list[str]]:
    """One open auction (start 1000, increment 1) and n qualified investors with tokens."""
    import datetime as dt

    from auctions import deposits
    from auctions.models import Auction
    from market.payments.models import Deposit
    from listings.models import Listing
    from market.accounts import services as accounts
    from market.db import database
    from market.timeutil import utcnow

    with app.app_context(), database(app).transaction() as s:
        now = utcnow()
        bank = accounts.get_or_create_org(s, "Bench bank", "bank")
        seller = accounts.create_user(s, "bench-bank@example.com", "bench-password-1", "bank", bank)
        listing = Listing(title="bench", mode="auction", status="published", currency="CNY",
                          seller_org_id=bank.id, created_by=seller.id, search_text="",
                          start_price=Decimal("1000.00"), increment=Decimal("1.00"),
                          deposit=Decimal("100.00"), starts_at=now - dt.timedelta(minutes=1),
                          ends_at=now + dt.timedelta(days=3), created_at=now, updated_at=now,
                          published_at=now)
        s.add(listing)
        s.flush()
        a = Auction(listing_id=listing.id, round=1, stage="auction", status="open",
                    start_price=Decimal("1000.00"), increment=Decimal("1.00"),
                    deposit_amount=Decimal("100.00"), starts_at=listing.starts_at,
                    ends_at=listing.ends_at, extension_window_s=300, extension_s=300,
                    created_at=now)
        s.add(a)
        s.flush()
        tokens = []
        for i in range(n_bidders):
            org = accounts.get_or_create_org(s, f"Bench investor {i}", "investor")
            u = accounts.create_user(s, f"bench-inv-{i}@example.com", "bench-password-1",
                                     "investor", org)
            dep = Deposit(listing_id=listing.id, auction_id=a.id, user_id=u.id, org_id=org.id,
                          amount=Decimal("100.00"),
                          method="offline", status="pending", reference=f"B{i:08d}",
                          idempotency_key=f"bench-{i}", created_at=now)
            s.add(dep)
            s.flush()
            deposits.mark_held(s, dep, actor_id=None, now=now)
            tokens.append(accounts.issue_token(s, u, "bench")[1])
        return a.id, tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, app: str = "wsgi:app",
                   root: str = ROOT) -> tuple[subprocess.Popen, int]:
    """`app` (which must answer GET /healthz) from `root` on a free loopback port."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "RATELIMIT_ENABLED": "0",
           "SECRET_KEY": "bench-secret", "PYTHONPATH": root}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync",
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning", app],
                            cwd=root, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Shared:
    """Amounts handed out in rising order (as bidders watching the price would bid), so
    concurrent bidders rarely collide on the same amount; a refusal only happens when a
    later amount overtook an earlier one in the lock queue."""

    def __init__(self, start: str) -> None:
        self.lock = threading.Lock()
        self.next = Decimal(start)

    def take(self) -> Decimal:
        with self.lock:
            value = self.next
            self.next += 1
            return value

    def seen(self, value: str) -> None:
        with self.lock:
            self.next = max(self.next, Decimal(value))


def run_together(threads: list[threading.Thread], seconds: float, stop_at: list[float],
                 barrier: threading.Barrier) -> float:
    """Start the workers, release them at once for `seconds`, and return the elapsed time
    (each worker waits on `barrier` after its set-up and stops at stop_at[0])."""
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    barrier.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    return time.monotonic() - t0


def http_level(port: int, aid: int, tokens: list[str], clients: int, seconds: float,
               shared: Shared) -> dict:
    """`clients` threads; each alternates two investors so it always has someone to outbid."""
    lat: list[float] = []
    accepted = [0]
    refused: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = [0.0]
    barrier = threading.Barrier(clients + 1)

    def run(pair: list[str]):
        who = 0
        barrier.wait()
        while time.monotonic() < stop_at[0]:
            body = json.dumps({"amount": f"{shared.take():.2f}"})
            t0 = time.perf_counter()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", f"/api/v1/auctions/{aid}/bids", body=body,
                      headers={"Authorization": f"Bearer {pair[who]}",
                               "Content-Type": "application/json"})
            resp = c.getresponse()
            data = json.loads(resp.read() or b"{}")
            c.close()
            dt_ms = (time.perf_counter() - t0) * 1000
            with lock:
                lat.append(dt_ms)
                if resp.status == 201:
                    accepted[0] += 1
                else:
                    code = data.get("error", {}).get("code", str(resp.status))
                    refused[code] = refused.get(code, 0) + 1
            if resp.status == 201:
                who ^= 1
            elif data.get("error", {}).get("code") == "bid_too_low":
                shared.seen(data["error"]["min_next_bid"])
            else:
                who ^= 1

    elapsed = run_together([threading.Thread(target=run, args=(tokens[2 * i:2 * i + 2],))
                            for i in range(clients)], seconds, stop_at, barrier)
    return {"accepted_per_s": accepted[0] / elapsed, "requests_per_s": len(lat) / elapsed,
            "p50": pct(lat, 50), "p99": pct(lat, 99), "refused": refused}


def raw_level(url: str, aid: int, bidder_id: int, clients: int, seconds: float) -> dict:
    """The classic bid transaction in raw psycopg on one hot row."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    lat: list[float] = []
    lock = threading.Lock()
    stop_at = [0.0]
    barrier = threading.Barrier(clients + 1)

    def run():
        conn = psycopg.connect(dsn)
        cur = conn.cursor()
        barrier.wait()
        while time.monotonic() < stop_at[0]:
            t0 = time.perf_counter()
            cur.execute("SELECT current_price, bid_count FROM auctions WHERE id = %s FOR UPDATE",
                        (aid,))
            price, _count = cur.fetchone()
            new = (price or 0) + 100
            cur.execute("INSERT INTO bids (auction_id, bidder_id, bidder_code, amount, kind,"
                        " placed_at) VALUES (%s, %s, 'RAW', %s, 'bid', now())",
                        (aid, bidder_id, new))
            cur.execute("UPDATE auctions SET current_price = %s, bid_count = bid_count + 1"
                        " WHERE id = %s", (new, aid))
            conn.commit()
            with lock:
                lat.append((time.perf_counter() - t0) * 1000)
        conn.close()

    elapsed = run_together([threading.Thread(target=run) for _ in range(clients)], seconds,
                           stop_at, barrier)
    return {"tx_per_s": len(lat) / elapsed, "p50": pct(lat, 50), "p99": pct(lat, 99)}


def check_log(url: str, aid: int) -> tuple[int, bool]:
    eng = create_engine(url)
    with eng.connect() as c:
        amounts = [r[0] for r in c.execute(text(
            "SELECT amount FROM bids WHERE auction_id = :a ORDER BY id"), {"a": aid})]
        price, count = c.execute(text("SELECT current_price, bid_count FROM auctions"
                                      " WHERE id = :a"), {"a": aid}).one()
    eng.dispose()
    ok = (all(x < y for x, y in zip(amounts, amounts[1:])) and count == len(amounts)
          and (not amounts or price == amounts[-1]))
    return len(amounts), ok


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--levels", default="1,4,16")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    url = make_database(base, "ipx_bench_bids")
    os.environ["DATABASE_URL"] = url
    proc = None
    try:
        from market.app import create_app
        from market.db import database

        app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
        build_schema(app)
        aid, tokens = seed_hot_auction(app, 2 * max(levels))
        raw_aid, raw_tokens = seed_hot_auction_raw(app)
        database(app).engine.dispose()
        proc, port = start_gunicorn(url)
        shared = Shared("1000.00")
        http_level(port, aid, tokens, 2, 1.0, shared)  # warm-up: imports, pools
        rows = []
        for n in levels:
            raw = raw_level(url, raw_aid, raw_tokens, n, args.seconds)
            web = http_level(port, aid, tokens, n, args.seconds, shared)
            rows.append((n, raw, web))
        count, ok = check_log(url, aid)
        print(f"\nBids on one hot auction — gunicorn 2 sync workers, PostgreSQL, "
              f"{args.seconds:.0f} s per level")
        print(f"{'clients':>7} | {'raw psycopg tx/s':>16} {'p50 ms':>7} {'p99 ms':>7} | "
              f"{'app bids/s':>10} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>5} | refused")
        for n, raw, web in rows:
            ratio = web["accepted_per_s"] / raw["tx_per_s"] if raw["tx_per_s"] else 0
            print(f"{n:>7} | {raw['tx_per_s']:>16.0f} {raw['p50']:>7.1f} {raw['p99']:>7.1f} | "
                  f"{web['accepted_per_s']:>10.0f} {web['p50']:>7.1f} {web['p99']:>7.1f} | "
                  f"{ratio:>5.2f} | {web['refused']}")
        print(f"bid log: {count} accepted bids, strictly rising and price = top bid: {ok}")
        print("targets: ratio ≥ 0.5; p99 < 100 ms at 16 clients")
        print("load average (1/5/15 min) at the end: %.2f %.2f %.2f" % os.getloadavg())
        return 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        drop_database(url)


def seed_hot_auction_raw(app) -> tuple[int, int]:
    """A second hot auction for the raw baseline, with one bidder row to reference."""
    import datetime as dt

    from sqlalchemy import select

    from auctions.models import Auction, AuctionBidder
    from market.db import database
    from market.timeutil import utcnow

    with app.app_context(), database(app).transaction() as s:
        first = s.scalar(select(Auction).order_by(Auction.id))
        now = utcnow()
        a = Auction(listing_id=first.listing_id, round=2, stage="auction", status="open",
                    start_price=Decimal("1000.00"), increment=Decimal("1.00"),
                    deposit_amount=Decimal("100.00"), starts_at=now - dt.timedelta(minutes=1),
                    ends_at=now + dt.timedelta(days=3), created_at=now)
        s.add(a)
        s.flush()
        b = s.scalar(select(AuctionBidder).order_by(AuctionBidder.id))
        return a.id, b.id


if __name__ == "__main__":
    sys.exit(main())
