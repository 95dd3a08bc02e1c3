"""Append-only guards: the database itself refuses to change or delete audit records,
ledger lines, bids and loan money events ("nothing is ever lost").

PostgreSQL refuses UPDATE and DELETE (TRUNCATE, used only by the test suite to empty
tables, is a different statement). SQLite refuses UPDATE.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("audit_records", "journal_entries", "journal_lines", "bids", "loan_events")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION ipx_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql""")
        for t in TABLES:
            op.execute(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                       f"FOR EACH ROW EXECUTE FUNCTION ipx_append_only()")
    else:
        for t in TABLES:
            op.execute(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE ON {t} "
                       f"BEGIN SELECT RAISE(ABORT, 'table {t} is append-only'); END")


def downgrade() -> None:
    for t in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {t}_append_only" +
                   (f" ON {t}" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ipx_append_only()")
