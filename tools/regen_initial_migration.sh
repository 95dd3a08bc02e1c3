#!/usr/bin/env bash
# Until the first release there is one initial revision, regenerated from the models.
# After the first release: never edit it; add revisions with `alembic revision --autogenerate`.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f migrations/versions/*_0001_*.py /tmp/ipx-gen.sqlite3
mkdir -p /tmp/ipx-keep && mv migrations/versions/000[2-9]_*.py /tmp/ipx-keep/ 2>/dev/null || true
DATABASE_URL=sqlite:////tmp/ipx-gen.sqlite3 .venv/bin/alembic -c alembic.ini revision --autogenerate \
  -m "initial schema" --rev-id 0001 >/dev/null
rm -f /tmp/ipx-gen.sqlite3
mv /tmp/ipx-keep/*.py migrations/versions/ 2>/dev/null || true
ls migrations/versions
