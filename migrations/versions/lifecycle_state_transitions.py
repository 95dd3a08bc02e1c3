"""One history table for every stateful model (market/lifecycle.py), append-only like
the audit log; and the deposit sub-states that lived in a note and a nullable timestamp
become named states:

- a Stripe deposit released in the ledger whose hold is not yet cancelled at the gateway
  (status 'released', released_at empty) is 'releasing';
- a forfeited Stripe deposit whose hold was captured (note 'gateway: captured') is
  'captured'.

A settlement takes a sale of plain values (market/settlement/sale.py); a sale no listing
made (an agreed valuation) has no listing, so settlements.listing_id may be empty.

Deposits belong to the core (market/payments): a deposit's owner is its listing, and for
an auction's round also the auction's id (no foreign key: the core does not name the
auctions table; a transfer registration's deposit has no auction). listing_id is filled
from each deposit's auction.

Revision ID: lifecycle01
Revises: 0003
"""
import contextlib

import sqlalchemy as sa
from alembic import op

revision = "lifecycle01"
down_revision = "0003"
branch_labels = None
depends_on = None

CAPTURED_NOTE = "gateway: captured"


@contextlib.contextmanager
def _sqlite_foreign_keys_off():
    """SQLite alters a column by copying the table; dropping the old `settlements` would
    orphan the payments and shares that reference it while foreign keys are enforced.
    The pragma cannot change inside a transaction, so end it, switch, and begin again
    (the copy keeps every id, so nothing is orphaned; foreign_key_check proves it)."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute("COMMIT")
    op.execute("PRAGMA foreign_keys=OFF")
    op.execute("BEGIN")
    yield
    problems = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign keys broken by the table copy: {problems}")
    op.execute("COMMIT")
    op.execute("PRAGMA foreign_keys=ON")
    op.execute("BEGIN")


def upgrade() -> None:
    op.create_table(
        "state_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=False),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"],
                                name=op.f("fk_state_transitions_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_state_transitions")),
    )
    op.create_index("ix_state_transitions_object", "state_transitions",
                    ["model", "object_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # ipx_append_only() is 0002's.
        op.execute("CREATE TRIGGER state_transitions_append_only BEFORE UPDATE OR DELETE "
                   "ON state_transitions FOR EACH ROW EXECUTE FUNCTION ipx_append_only()")
    else:
        op.execute("CREATE TRIGGER state_transitions_append_only BEFORE UPDATE ON "
                   "state_transitions BEGIN SELECT RAISE(ABORT, "
                   "'table state_transitions is append-only'); END")
    op.execute("UPDATE deposits SET status = 'releasing' WHERE status = 'released' "
               "AND method = 'stripe' AND released_at IS NULL")
    op.execute(f"UPDATE deposits SET status = 'captured', note = NULL "
               f"WHERE status = 'forfeited' AND note = '{CAPTURED_NOTE}'")
    with _sqlite_foreign_keys_off():
        with op.batch_alter_table("settlements") as batch_op:
            batch_op.alter_column("listing_id", existing_type=sa.Integer(), nullable=True)

    with op.batch_alter_table("deposits") as batch_op:
        batch_op.add_column(sa.Column("listing_id", sa.Integer(), nullable=True))
    op.execute("UPDATE deposits SET listing_id = (SELECT auctions.listing_id FROM auctions "
               "WHERE auctions.id = deposits.auction_id)")
    with op.batch_alter_table("deposits") as batch_op:
        batch_op.alter_column("listing_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(op.f("fk_deposits_listing_id_listings"), "listings",
                                    ["listing_id"], ["id"])
        batch_op.create_index(op.f("ix_deposits_listing_id"), ["listing_id"], unique=False)
        batch_op.drop_constraint("fk_deposits_auction_id_auctions", type_="foreignkey")
        batch_op.alter_column("auction_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # A deposit without an auction cannot go back to the old shape.
    op.execute("DELETE FROM deposits WHERE auction_id IS NULL")
    with op.batch_alter_table("deposits") as batch_op:
        batch_op.alter_column("auction_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key("fk_deposits_auction_id_auctions", "auctions",
                                    ["auction_id"], ["id"])
        batch_op.drop_index(op.f("ix_deposits_listing_id"))
        batch_op.drop_constraint(op.f("fk_deposits_listing_id_listings"), type_="foreignkey")
        batch_op.drop_column("listing_id")
    with _sqlite_foreign_keys_off(), op.batch_alter_table("settlements") as batch_op:
        batch_op.alter_column("listing_id", existing_type=sa.Integer(), nullable=False)
    op.execute(f"UPDATE deposits SET status = 'forfeited', note = '{CAPTURED_NOTE}' "
               f"WHERE status = 'captured'")
    op.execute("UPDATE deposits SET status = 'released' WHERE status = 'releasing'")
    op.execute("DROP TRIGGER IF EXISTS state_transitions_append_only" +
               (" ON state_transitions" if op.get_bind().dialect.name == "postgresql" else ""))
    op.drop_index("ix_state_transitions_object", table_name="state_transitions")
    op.drop_table("state_transitions")
