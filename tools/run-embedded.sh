#!/usr/bin/env bash
# The embedded default as a real deployment runs it: gunicorn (2 workers) and one
# `flask scheduler run` process, on one SQLite file (WAL, busy timeout).
set -uo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-5000}
BIN=$(dirname "$PY")
# Plain HTTP here, so the session cookie cannot be Secure-only; behind TLS, set it to 1.
export SESSION_COOKIE_SECURE=${SESSION_COOKIE_SECURE:-0}

# Ctrl-C (or TERM) stops both servers and ends with status 0: stopping is the normal end.
stop() {
  trap - INT TERM
  kill -TERM $SCHED $WEB 2>/dev/null
  wait $SCHED $WEB 2>/dev/null
  echo "stopped."
  exit 0
}
"$PY" -m flask --app wsgi scheduler run &
SCHED=$!
"$BIN/gunicorn" --workers 2 --bind "$HOST:$PORT" --access-logfile - wsgi:app &
WEB=$!
trap stop INT TERM

# The URL and the logins are the last lines a newcomer sees: print them once it serves.
for _ in $(seq 120); do
  if "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
      "http://$HOST:$PORT/healthz" 2>/dev/null; then
    echo
    "$PY" -m flask --app wsgi demo logins
    echo
    echo "  The exchange is running at http://$HOST:$PORT/  (Ctrl-C stops it)"
    echo
    break
  fi
  if ! kill -0 $WEB 2>/dev/null; then
    echo "the web server did not start; see the lines above" >&2
    kill -TERM $SCHED 2>/dev/null
    exit 1
  fi
  sleep 0.5
done
# Either server ending on its own is a failure; `wait -n` returns when the first one ends.
wait -n $SCHED $WEB
status=$?
kill -TERM $SCHED $WEB 2>/dev/null
wait 2>/dev/null
exit $status
