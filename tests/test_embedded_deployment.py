"""The embedded default as a real deployment runs it (tools/run-embedded.sh): one SQLite
file, `flask db upgrade`, gunicorn with 2 workers and a separate `flask scheduler run`
process. Many clients write at once (logins write audit rows, tokens are created through
the web form, CSRF on): every request succeeds, none is a 500 or "database is locked".

Runs on SQLite whatever TEST_DATABASE_URL says: it is the embedded default under test.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "embedded-pass-2026"
THREADS, ROUNDS = 8, 20
# One user per thread: logging out ends every session of that user (issue 14), so threads
# sharing a user would log each other out.
USERS = THREADS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def deployment(tmp_path):
    env = {**os.environ,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'exchange.sqlite3'}",
           "SECRET_KEY": "embedded-test-secret",
           "INSTANCE_PATH": str(tmp_path / "instance"),
           # Every request comes from 127.0.0.1 here; the limits are tested elsewhere.
           "LOGIN_RATE_LIMIT": "100000 per minute",
           "TOKEN_RATE_LIMIT": "100000 per minute",
           "LOGIN_ACCOUNT_RATE_LIMIT": "100000 per minute",
           # Served over plain HTTP, as tools/run-embedded.sh serves it.
           "SESSION_COOKIE_SECURE": "0",
           "PYTHONUNBUFFERED": "1"}

    def flask(*args: str) -> str:
        res = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout

    flask("db", "upgrade")
    env_db = tmp_path / "exchange.sqlite3"
    port = _free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    web_log = open(logs / "gunicorn.log", "w+")
    sched_log = open(logs / "scheduler.log", "w+")
    web = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
                            "--graceful-timeout", "10", "wsgi:app"], cwd=ROOT, env=env,
                           stdout=web_log, stderr=subprocess.STDOUT)
    sched = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "scheduler", "run"], cwd=ROOT,
                             env=env, stdout=sched_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # workers still booting
                pass
            assert web.poll() is None, _read(web_log)
            assert time.monotonic() < deadline, "gunicorn did not come up: " + _read(web_log)
            time.sleep(0.2)
        yield {"base": base, "flask": flask, "db_file": env_db, "web": web, "sched": sched,
               "web_log": web_log, "sched_log": sched_log}
    finally:
        for proc in (web, sched):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (web, sched):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        web_log.close()
        sched_log.close()


def _read(fh) -> str:
    fh.flush()
    fh.seek(0)
    return fh.read()[-4000:]


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                  r'<meta name="csrf-token" content="([^"]+)"')


def _csrf(html: str) -> str:
    m = CSRF.search(html)
    assert m, html[:500]
    return m.group(1) or m.group(2)


def _client_session(base: str, email: str, token: str) -> list[int]:
    """One person at a desk: log in, look around, create API tokens, use the API."""
    codes: list[int] = []
    http = requests.Session()
    bearer = {"Authorization": f"Bearer {token}"}

    def login():
        page = http.get(f"{base}/login", timeout=30)
        resp = http.post(f"{base}/login", timeout=30, allow_redirects=False,
                         data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text)})
        codes.append(resp.status_code)
        assert resp.status_code == 302, resp.text[:500]

    login()
    for i in range(ROUNDS):
        step = i % 4
        if step == 0:  # a write: a new token through the web form
            account = http.get(f"{base}/account", timeout=30)
            resp = http.post(f"{base}/account/tokens", timeout=30,
                             data={"name": f"t{i}", "csrf_token": _csrf(account.text)})
            assert 'data-test="new-token"' in resp.text, resp.text[:500]
        elif step == 1:  # a write: log out and in again (audit row)
            page = http.get(f"{base}/dashboard", timeout=30)
            http.post(f"{base}/logout", data={"csrf_token": _csrf(page.text)}, timeout=30)
            login()
            resp = page
        elif step == 2:
            resp = http.get(f"{base}/api/v1/orgs", headers=bearer, timeout=30)
            assert resp.json()["total"] >= 1
        else:
            resp = http.get(f"{base}/dashboard", timeout=30)
        codes.append(resp.status_code)
        assert "database is locked" not in resp.text
    return codes


def test_gunicorn_and_scheduler_share_one_sqlite_file_under_concurrent_writes(deployment):
    flask = deployment["flask"]
    users = []
    for n in range(USERS):
        email = f"officer{n}@embedded.example"
        out = flask("users", "create", email, "--password", PASSWORD, "--role", "bank",
                    "--org", "华夏科创银行", "--org-kind", "bank")
        assert out.strip().splitlines()[-1].isdigit()
        token = flask("users", "token", email).strip().splitlines()[-1]
        users.append((email, token))

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda n: _client_session(deployment["base"], *users[n % USERS]),
                                range(THREADS)))

    codes = [c for r in results for c in r]
    assert len(codes) >= THREADS * ROUNDS
    assert set(codes) <= {200, 302}, sorted(set(codes))

    # Everything written is there: an audit row per login, a token per form post.
    with sqlite3.connect(deployment["db_file"]) as conn:
        counts = dict(conn.execute("SELECT action, count(*) FROM audit_records GROUP BY action"))
        tokens = conn.execute("SELECT count(*) FROM api_tokens").fetchone()[0]
    assert counts["user.login"] == THREADS * (1 + ROUNDS // 4)
    assert tokens == USERS + THREADS * (ROUNDS // 4) == counts["token.create"]

    assert deployment["web"].poll() is None and deployment["sched"].poll() is None
    logs = _read(deployment["web_log"]) + _read(deployment["sched_log"])
    assert "database is locked" not in logs
    assert "Traceback" not in logs, logs

    for key in ("web", "sched"):
        deployment[key].send_signal(signal.SIGTERM)
    assert deployment["web"].wait(timeout=20) == 0
    assert deployment["sched"].wait(timeout=20) == 0, _read(deployment["sched_log"])


def test_run_script_says_what_it_did_prints_url_and_logins_last_and_stops_on_ctrl_c(tmp_path):
    """Issue 23 item 4: what `make run` does after setup, as a newcomer sees it."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'exchange.sqlite3'}",
           "SECRET_KEY": "run-script-secret", "INSTANCE_PATH": str(tmp_path / "instance"),
           "PYTHONUNBUFFERED": "1", "PY": sys.executable, "PORT": str(_free_port())}

    def flask(*args: str) -> str:
        res = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout

    assert "created the database schema" in flask("db", "upgrade")
    assert "already up to date" in flask("db", "upgrade")
    assert "demo-password-2026" in flask("demo", "seed")

    out = open(tmp_path / "run.log", "w+")
    # A session of its own, like a terminal's foreground job: Ctrl-C signals the whole group.
    run = subprocess.Popen(["bash", "tools/run-embedded.sh"], cwd=ROOT, env=env, stdout=out,
                           stderr=subprocess.STDOUT, start_new_session=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 90
        while "(Ctrl-C stops it)" not in _read(out):
            assert run.poll() is None and time.monotonic() < deadline, _read(out)
            time.sleep(0.5)
        time.sleep(3)  # a few scheduler sweeps: they must not log a line each
        lines = [line for line in _read(out).splitlines() if line.strip()]
        assert "running at http://127.0.0.1:" in lines[-1]
        assert "Demo logins" in lines[-9] and "operator@ipx.example" in lines[-8]
        os.killpg(run.pid, signal.SIGINT)
        assert run.wait(timeout=30) == 0, _read(out)
        text = _read(out)
        assert "Traceback" not in text and "apscheduler" not in text, text
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        out.close()
