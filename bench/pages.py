"""Public pages through a real gunicorn server (2 sync workers) on PostgreSQL, next to a
bare Flask `/ping` app served the same way in the same run:

    python -m bench.pages [--seconds 4] [--connections 32] [--listings 200]

Seeds published auction listings (two assets each, with valuations, a live auction and,
on every fourth, a few bids), then for each path runs `--connections` threads on
keep-alive http.client connections for `--seconds` and prints req/s, p50/p99 and the ratio
to the baseline. BENCH_DATABASE_URL names the server (the default is bench.bids's); the
benchmark makes its own database there and drops it. Loopback only; prints figures only.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal

from bench.bids import (
    DEFAULT_URL,
    build_schema,
    drop_database,
    make_database,
    pct,
    start_gunicorn,
)

PING_APP = """from flask import Flask
app = Flask(__name__)


@app.get("/healthz")
@app.get("/ping")
def ping():
    return "pong"
"""


def seed_market(app, n_listings: int) -> tuple[int, int]:
    """Published auction listings with assets, valuations and live auctions; every fourth
    auction gets bids from two qualified investors. Returns (a listing id, its auction id)."""
    from auctions import deposits, engine
    from auctions.models import Auction
    from listings.models import Listing, ListingAsset
    from market.accounts import services as accounts
    from market.assets.models import Asset, Valuation
    from market.db import database
    from market.payments.models import Deposit
    from market.timeutil import utcnow

    with app.app_context(), database(app).transaction() as s:
        now = utcnow()
        today = now.date()
        bank = accounts.get_or_create_org(s, "Bench bank", "bank")
        seller = accounts.create_user(s, "bench-bank@example.com", "bench-password-1", "bank", bank)
        investors = []
        for i in range(2):
            org = accounts.get_or_create_org(s, f"Bench investor {i}", "investor")
            investors.append((accounts.create_user(s, f"bench-inv-{i}@example.com",
                                                   "bench-password-1", "investor", org), org))
        hot = None
        for n in range(n_listings):
            start = Decimal(10_000 + 100 * n)
            listing = Listing(title=f"Gear transmission patent bundle {n}", mode="auction",
                              status="published", currency="CNY", seller_org_id=bank.id,
                              created_by=seller.id, search_text=f"gear transmission {n}",
                              description="Two invention patents on gear transmissions.",
                              start_price=start, increment=Decimal("100.00"),
                              deposit=Decimal("1000.00"),
                              starts_at=now - dt.timedelta(hours=1),
                              ends_at=now + dt.timedelta(days=2, minutes=n),
                              created_at=now, updated_at=now, published_at=now)
            s.add(listing)
            s.flush()
            for k in range(2):
                asset = Asset(kind="invention_patent", registry_no=f"ZL2020{n:05d}{k}.X",
                              title=f"Gear transmission method {n}-{k}", owner_org_id=bank.id,
                              jurisdiction="CN", classification="F16H",
                              filed_on=today - dt.timedelta(days=2000),
                              granted_on=today - dt.timedelta(days=1000),
                              expires_on=today + dt.timedelta(days=5000), created_at=now)
                s.add(asset)
                s.flush()
                s.add(ListingAsset(listing_id=listing.id, asset_id=asset.id, position=k))
                s.add(Valuation(asset_id=asset.id, amount=start, method="income",
                                agency="Bench appraisal", valued_on=today - dt.timedelta(days=30),
                                valid_until=today + dt.timedelta(days=335), created_at=now))
            a = Auction(listing_id=listing.id, round=1, stage="auction", status="open",
                        start_price=start, increment=Decimal("100.00"),
                        deposit_amount=Decimal("1000.00"), starts_at=listing.starts_at,
                        ends_at=listing.ends_at, extension_window_s=300, extension_s=300,
                        created_at=now)
            s.add(a)
            s.flush()
            if n % 4 == 0:
                for j, (u, org) in enumerate(investors):
                    dep = Deposit(listing_id=listing.id, auction_id=a.id, user_id=u.id,
                                  org_id=org.id, amount=Decimal("1000.00"), method="offline",
                                  status="pending", reference=f"P{n:06d}{j}",
                                  idempotency_key=f"bench-pages-{n}-{j}", created_at=now)
                    s.add(dep)
                    s.flush()
                    deposits.mark_held(s, dep, actor_id=None, now=now)
                for b in range(3):
                    engine.place_bid(s, a.id, investors[b % 2][0].id,
                                     start + 100 * b, None)
                hot = hot or (listing.id, a.id)
        return hot


def start_ping(workdir: str, url: str) -> tuple[subprocess.Popen, int]:
    """The bare Flask baseline under the same gunicorn settings."""
    with open(os.path.join(workdir, "bench_ping_app.py"), "w") as f:
        f.write(PING_APP)
    return start_gunicorn(url, "bench_ping_app:app", workdir)


def load(port: int, path: str, connections: int, seconds: float,
         headers: dict | None = None) -> dict:
    """`connections` threads, each on its own keep-alive connection (reopened when the sync
    worker closes it), for `seconds`; 200 and 304 count as answers."""
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(connections + 1)
    stop_at = [0.0]

    def run():
        mine: list[float] = []
        bad = 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        barrier.wait()
        while time.monotonic() < stop_at[0]:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers or {})
                resp = conn.getresponse()
                resp.read()
                if resp.status not in (200, 304):
                    bad += 1
                if resp.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                continue
            mine.append((time.perf_counter() - t0) * 1000)
        conn.close()
        with lock:
            lat.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    barrier.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return {"rps": len(lat) / elapsed, "p50": pct(lat, 50), "p99": pct(lat, 99),
            "errors": errors[0]}


def etag_of(port: int, path: str) -> str:
    """The validator a poller holds after its first GET (none before the ETag change:
    then the conditional row measures plain GETs)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    resp = c.getresponse()
    resp.read()
    c.close()
    return resp.getheader("ETag") or '"none"'


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--listings", type=int, default=200)
    args = ap.parse_args()
    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    url = make_database(base, "ipx_bench_pages")
    os.environ["DATABASE_URL"] = url
    procs: list[subprocess.Popen] = []
    try:
        from market.app import create_app
        from market.db import database

        app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
        build_schema(app)
        listing_id, auction_id = seed_market(app, args.listings)
        database(app).engine.dispose()
        with tempfile.TemporaryDirectory() as workdir:
            ping, ping_port = start_ping(workdir, url)
            procs.append(ping)
            proc, port = start_gunicorn(url)
            procs.append(proc)
            live = f"/api/v1/auctions/{auction_id}"
            paths = [(ping_port, "/ping", None), (port, live, None),
                     (port, live, {"If-None-Match": etag_of(port, live)}),
                     (port, f"/listings/{listing_id}", None), (port, "/", None),
                     (port, "/market", None)]
            for p, path, headers in paths:  # warm-up: imports, pools, template caches
                load(p, path, 2, 0.5, headers)
            rows = [(path + (" (If-None-Match)" if headers else ""),
                     load(p, path, args.connections, args.seconds, headers))
                    for p, path, headers in paths]
        baseline = rows[0][1]["rps"] or 1.0
        print(f"\nPublic pages — gunicorn 2 sync workers, PostgreSQL, {args.listings} listings, "
              f"{args.connections} keep-alive connections, {args.seconds:.0f} s per path")
        print(f"{'path':<40} | {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} | {'× /ping':>7} | errors")
        for path, r in rows:
            print(f"{path:<40} | {r['rps']:>7.0f} {r['p50']:>7.1f} {r['p99']:>7.1f} | "
                  f"{r['rps'] / baseline:>7.3f} | {r['errors']}")
        print("targets: auction JSON ≥ 3,000 req/s p99 < 20 ms; listing and home ≥ 800 req/s "
              "p99 < 60 ms; market ≥ 500 req/s")
        print("load average (1/5/15 min) at the end: %.2f %.2f %.2f" % os.getloadavg())
        return 0
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
