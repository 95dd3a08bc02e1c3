"""Listed transfer (挂牌转让): each transfer listing's terms and disclosure period, and
operators' records of holidays and working days. Existing transfer listings had only an
asking price: it becomes the list price, with the deposit at 10% of it and the increment
at 1% (both inside the rules); the disclosure days follow the rule. A listing already
published gets a period from now: the scheduler's job needs an end to decide at, and
here it is the rule's days × 1.5 in calendar days from the migration (two working weeks
for 10; a migration imports no app code, so no holiday calendar: an operator who wants
the exact end unpublishes and approves the listing again).

Revision ID: transfer01
Revises: oversight01
"""
import datetime as dt
from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa
from alembic import op

revision = "transfer01"
down_revision = "licensing01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"],
                                name=op.f("fk_calendar_days_updated_by_users")),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.create_table(
        "listing_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("list_price", sa.BigInteger(), nullable=False),
        sa.Column("deposit", sa.BigInteger(), nullable=False),
        sa.Column("increment", sa.BigInteger(), nullable=False),
        sa.Column("disclosure_days", sa.Integer(), nullable=True),
        sa.Column("auction_seconds", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("disclosure_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_last_day", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"],
                                name=op.f("fk_listing_transfers_listing_id_listings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_transfers")),
        sa.UniqueConstraint("listing_id", name=op.f("uq_listing_transfers_listing_id")),
    )
    op.create_index(op.f("ix_listing_transfers_status"), "listing_transfers", ["status"])
    op.create_index(op.f("ix_listing_transfers_disclosure_ends_at"), "listing_transfers",
                    ["disclosure_ends_at"])
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, ask_price, status FROM listings "
                                "WHERE mode = 'transfer' AND ask_price IS NOT NULL")).all()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    table = sa.table("listing_transfers", *(sa.column(c) for c in (
        "listing_id", "list_price", "deposit", "increment", "auction_seconds", "status",
        "disclosure_ends_at", "period_last_day")))
    for listing_id, fen, status in rows:
        price = Decimal(fen)  # Money is stored in fen
        days = 20 if price > 1_000_000_000 else 10
        published = status == "published"
        ends = now + dt.timedelta(days=days * 3 // 2) if published else None
        bind.execute(table.insert().values(
            listing_id=listing_id, list_price=int(price),
            deposit=int((price / 10).to_integral_value(ROUND_DOWN)),
            increment=max(1, int((price / 100).to_integral_value(ROUND_DOWN))),
            auction_seconds=86400, status="disclosure" if published else "awaiting",
            disclosure_ends_at=ends, period_last_day=ends.date() if ends else None))


def downgrade() -> None:
    op.drop_index(op.f("ix_listing_transfers_disclosure_ends_at"), table_name="listing_transfers")
    op.drop_index(op.f("ix_listing_transfers_status"), table_name="listing_transfers")
    op.drop_table("listing_transfers")
    op.drop_table("calendar_days")
