#!/usr/bin/env bash
# The embedded default as a real deployment runs it: gunicorn (2 workers) and one
# `flask scheduler run` process, on one SQLite file (WAL, busy timeout).
set -euo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-5000}
BIN=$(dirname "$PY")
# Plain HTTP here, so the session cookie cannot be Secure-only; behind TLS, set it to 1.
export SESSION_COOKIE_SECURE=${SESSION_COOKIE_SECURE:-0}
"$PY" -m flask --app wsgi scheduler run &
SCHED=$!
trap 'kill $SCHED 2>/dev/null; wait $SCHED 2>/dev/null' EXIT INT TERM
echo
echo "  The exchange is running at http://$HOST:$PORT/  (Ctrl-C stops it)"
echo
"$BIN/gunicorn" --workers 2 --bind "$HOST:$PORT" --access-logfile - wsgi:app
