"""Listing search on 100,000 generated listings (mixed Chinese/English) in PostgreSQL.

    python -m bench.search [--listings 100000] [--runs 60]

BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres) names a
server; the benchmark creates its own database there and drops it at the end. It prints
p50/p95 latency of typical queries, measured two ways: the query the API runs (count +
one page, through SQLAlchemy) and the whole GET /api/v1/listings request (Flask test
client, JSON included). Target: p95 < 50 ms. The plan of the Chinese query is printed
too, to show the GIN index answers it (BENCHMARKS.md: pg_trgm cannot).
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import statistics
import sys
import time

from sqlalchemy import create_engine, text

from bench.bids import drop_database, make_database

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

CN_TERMS = [
    "齿轮", "减速器", "行星", "传动", "轴承", "电机", "控制", "系统", "装置", "方法", "锂电池",
    "极片", "涂布", "芯片", "射频", "蓝牙", "视觉", "检测", "软件", "算法", "图像", "识别",
    "机器人", "关节", "伺服", "液压", "阀门", "泵", "密封", "材料", "复合", "纤维", "涂层",
    "催化", "反应", "制备", "医疗", "器械", "导管", "支架", "疫苗", "抗体", "农业", "种子",
    "灌溉", "无人机", "飞控", "导航", "定位", "通信", "天线", "基站", "光伏", "逆变器", "储能",
    "充电", "汽车", "底盘", "车身", "照明", "显示", "面板", "触控", "包装", "食品", "茶叶",
    "白酒", "服装", "纺织", "印染", "家具", "建筑", "钢结构", "混凝土", "桥梁", "隧道",
]
EN_WORDS = [
    "gear", "reducer", "planetary", "bearing", "motor", "control", "system", "device",
    "method", "battery", "electrode", "coating", "chip", "radio", "bluetooth", "vision",
    "inspection", "software", "algorithm", "image", "robot", "joint", "servo", "hydraulic",
    "valve", "pump", "seal", "material", "composite", "fiber", "catalyst", "medical",
    "catheter", "stent", "vaccine", "antibody", "seed", "irrigation", "drone", "navigation",
    "antenna", "solar", "inverter", "storage", "charging", "vehicle", "chassis", "lighting",
    "display", "panel", "touch", "packaging", "food", "tea", "textile", "furniture", "bridge",
]
KINDS = ["invention_patent", "utility_model", "design_patent", "trademark", "copyright",
         "software_copyright", "ic_layout", "geographical_indication", "plant_variety",
         "license_revenue_right"]
MODES = ["auction", "transfer", "licensing", "equity"]
CLASSES = ["F16H", "H01M", "G06T", "H01L", "A61K", "B25J", "H04W", "A01B", "E04B", "Nice 7"]


def _copy(cur, table: str, columns: list[str], rows) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def load(app, n: int, rng: random.Random) -> None:
    from listings.search import build_search_text
    from market.accounts import services as accounts
    from market.db import database

    db = database(app)
    with app.app_context(), db.transaction() as s:
        org = accounts.get_or_create_org(s, "基准测试银行", "bank")
        user = accounts.create_user(s, "bench@example.com", "bench-password-123", "bank", org)
        org_id, user_id = org.id, user.id
    now = dt.datetime.now(dt.timezone.utc)
    today = now.date()

    class A:  # the fields build_search_text reads
        __slots__ = ("title", "abstract", "registry_no", "classification", "kind")

    assets, listings, links = [], [], []
    for i in range(1, n + 1):
        cn = rng.sample(CN_TERMS, rng.randint(2, 4))
        en = rng.sample(EN_WORDS, rng.randint(3, 7))
        kind = rng.choice(KINDS)
        a = A()
        a.kind = kind
        a.title = "一种" + "".join(cn) if rng.random() < 0.7 else " ".join(en[:3]).title()
        a.abstract = " ".join(en) + " " + "".join(rng.sample(CN_TERMS, 2))
        a.registry_no = f"ZL{2010 + i % 15}{i:08d}.{i % 10}"
        a.classification = rng.choice(CLASSES) + f" {rng.randint(1, 99)}/{rng.randint(1, 99)}"
        title = "".join(cn[:2]) + rng.choice(["专利转让", "专利拍卖", "商标许可", "技术作价入股",
                                              " patent sale", " licence"])
        desc = " ".join(rng.sample(EN_WORDS, 8)) + "。" + "".join(rng.sample(CN_TERMS, 3))
        mode = rng.choice(MODES)
        r = rng.random()
        status = "published" if r < 0.85 else rng.choice(["draft", "pending_review", "sold",
                                                           "withdrawn", "settled"])
        price = rng.randint(50, 50000) * 100_000  # fen: 5,000 .. 5,000,000 yuan
        created = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 365))
        published = created + dt.timedelta(hours=2) if status != "draft" else None
        if mode == "auction":
            starts = created + dt.timedelta(days=1)
            ends = starts + dt.timedelta(days=rng.randint(1, 30))
            terms = (None, price, price // 100, price // 10, starts, ends)
        else:
            terms = (price, None, None, None, None, None)
        listings.append((i, title, desc, mode, status, "CNY", org_id, user_id, *terms, False,
                         300, 300, build_search_text(title, desc, [a]), created, created,
                         published))
        assets.append((i, kind, a.registry_no, a.title, a.abstract, org_id, "CN",
                       a.classification, today + dt.timedelta(days=3650), "valid", now))
        links.append((i, i, i, 0))
    raw = db.engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        _copy(cur, "assets", ["id", "kind", "registry_no", "title", "abstract", "owner_org_id",
                              "jurisdiction", "classification", "expires_on", "legal_status",
                              "created_at"], assets)
        _copy(cur, "listings", ["id", "title", "description", "mode", "status", "currency",
                                "seller_org_id", "created_by", "ask_price", "start_price",
                                "increment", "deposit", "starts_at", "ends_at", "allow_proxy",
                                "extension_window_s", "extension_s", "search_text",
                                "created_at", "updated_at", "published_at"], listings)
        _copy(cur, "listing_assets", ["id", "listing_id", "asset_id", "position"], links)
        # What listings/search.py writes on insert: the stored tsvector.
        cur.execute("UPDATE listings SET search_tsv = strip(to_tsvector('simple'::regconfig, "
                    "search_text))")
        for table in ("assets", "listings", "listing_assets"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
        raw.driver_connection.commit()
        raw.driver_connection.autocommit = True
        cur.execute("VACUUM FULL listings")
        cur.execute("VACUUM ANALYZE")
    finally:
        raw.close()


QUERIES = [
    ("chinese 2-char  q=齿轮", {"q": "齿轮"}),
    ("chinese 3-char  q=减速器", {"q": "减速器"}),
    ("chinese 2 words q=锂电池 涂布", {"q": "锂电池 涂布"}),
    ("english word    q=gear", {"q": "gear"}),
    ("english 2 words q=solar inverter", {"q": "solar inverter"}),
    ("registry no.    q=ZL2019", {"q": "ZL2019"}),
    ("q=齿轮 + mode=auction + price 10k–1M", {"q": "齿轮", "mode": "auction",
                                              "min_price": "10000.00", "max_price": "1000000.00"}),
    ("kind=trademark sort=price_asc", {"kind": "trademark", "sort": "price_asc"}),
    ("classification=F16H", {"classification": "F16H"}),
    ("no filter, newest (home page)", {}),
    ("closing soonest (mode=auction)", {"mode": "auction", "sort": "closing"}),
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def _raw_sql(session, stmt) -> tuple[str, str]:
    """The two statements the API runs (count, first page), as literal SQL."""
    from sqlalchemy import func, select
    from sqlalchemy.dialects import postgresql

    def lit(q):
        return str(q.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    count = select(func.count()).select_from(stmt.order_by(None).subquery())
    return lit(count), lit(stmt.limit(20))


def measure(app, runs: int) -> None:
    """Three columns per query: raw = the same two SQL statements through bare psycopg
    (the database's share, the baseline of this run); SQL = count + page through the
    SQLAlchemy session, as the API does; API = the whole GET /api/v1/listings request."""
    from decimal import Decimal
    from urllib.parse import urlencode

    from listings.browse import Filters, listing_stmt
    from market.api import paginate
    from market.db import database

    db = database(app)
    client = app.test_client()
    raw = db.engine.raw_connection()
    cur = raw.driver_connection.cursor()
    print(f"{'query':<38} {'matches':>7} {'raw p50/p95':>14} {'SQL p50/p95':>14} "
          f"{'API p50/p95':>14}")
    worst = worst_raw = 0.0
    for label, args in QUERIES:
        f = Filters(q=args.get("q"), mode=args.get("mode"), kind=args.get("kind"),
                    classification=args.get("classification"), sort=args.get("sort", "newest"))
        if "min_price" in args:
            f.min_price, f.max_price = Decimal(args["min_price"]), Decimal(args["max_price"])
        with app.app_context():
            s = db.sessions()
            count_sql, page_sql = _raw_sql(s, listing_stmt(s, None, f))
            s.close()
        raw_t, sql_t, api_t, total = [], [], [], 0
        url = "/api/v1/listings?" + urlencode(args)
        for i in range(runs + 5):
            t0 = time.perf_counter()
            cur.execute(count_sql)
            cur.fetchall()
            cur.execute(page_sql)
            cur.fetchall()
            t1 = time.perf_counter()
            with app.app_context():
                s = db.sessions()
                t2 = time.perf_counter()
                page = paginate(s, listing_stmt(s, None, f), 1, 20)
                t3 = time.perf_counter()
                s.close()
            total = page["total"]
            t4 = time.perf_counter()
            resp = client.get(url)
            t5 = time.perf_counter()
            assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
            if i >= 5:  # warm-up excluded
                raw_t.append((t1 - t0) * 1000)
                sql_t.append((t3 - t2) * 1000)
                api_t.append((t5 - t4) * 1000)
        worst = max(worst, pct(api_t, 95))
        worst_raw = max(worst_raw, pct(raw_t, 95))

        def col(v):
            return f"{statistics.median(v):5.1f}/{pct(v, 95):5.1f}ms"

        print(f"{label:<38} {total:>7} {col(raw_t):>14} {col(sql_t):>14} {col(api_t):>14}")
    raw.close()
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    print(f"worst p95: API {worst:.1f} ms, database alone {worst_raw:.1f} ms "
          f"(target < 50 ms: {'OK' if worst < 50 else 'MISSED'}); load average {' '.join(load)}")


def explain(app) -> None:
    from sqlalchemy.dialects import postgresql

    from listings.browse import Filters, listing_stmt
    from market.db import database

    db = database(app)
    with app.app_context():
        s = db.sessions()
        stmt = listing_stmt(s, None, Filters(q="齿轮")).limit(20)
        sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        plan = [r[0] for r in s.execute(text("EXPLAIN ANALYZE " + sql))]
        s.close()
    print("plan of q=齿轮 (first page):")
    for line in plan:
        print("   ", line)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listings", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--keep", action="store_true", help="do not drop the database")
    opts = ap.parse_args()
    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    url = make_database(base, "ipx_bench_search")
    try:
        from market.app import create_app
        from market.app import all_models
        from market.db import Base, database

        app = create_app({"DATABASE_URL": url, "TESTING": True, "RATELIMIT_ENABLED": False,
                          "SECRET_KEY": "bench"})
        all_models()
        Base.metadata.create_all(database(app).engine)  # includes the GIN index of listings
        t0 = time.perf_counter()
        load(app, opts.listings, random.Random(42))
        print(f"loaded {opts.listings} listings in {time.perf_counter() - t0:.1f}s "
              f"(PostgreSQL, 'simple' tsvector + GIN over CJK bigrams)")
        explain(app)
        measure(app, opts.runs)
        database(app).engine.dispose()
    finally:
        if not opts.keep:
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
