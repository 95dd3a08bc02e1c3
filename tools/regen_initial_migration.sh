#!/usr/bin/env bash
# Until the first release there is one initial revision, regenerated from the models.
# After the first release: never edit it; add revisions with `alembic revision --autogenerate`.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f migrations/versions/*.py /tmp/ipx-gen.sqlite3
DATABASE_URL=sqlite:////tmp/ipx-gen.sqlite3 .venv/bin/alembic -c alembic.ini revision --autogenerate \
  -m "initial schema" --rev-id 0001 >/dev/null
rm -f /tmp/ipx-gen.sqlite3
ls migrations/versions
