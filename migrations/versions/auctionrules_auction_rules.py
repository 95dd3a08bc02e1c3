"""Auctions by the rule (issue 12): the backstop's acceptance, the requested start a
notice period moved, the seller's re-auction cut, the 悔拍 bar per organisation; the
refund queue and the organisation's receiving bank account.

Revision ID: auctionrules01
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "auctionrules01"
down_revision = "robust01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("listings", sa.Column("backstop_accepted_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.add_column("listings", sa.Column("backstop_accepted_by", sa.Integer(), nullable=True))
    op.add_column("listings", sa.Column("requested_starts_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.add_column("listings", sa.Column("reauction_cut", sa.String(32), nullable=True))
    with op.batch_alter_table("barred_bidders") as batch:
        batch.add_column(sa.Column("org_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_barred_bidders_org_id_orgs"), "orgs", ["org_id"], ["id"])
        batch.create_index(op.f("ix_barred_bidders_org_id"), ["org_id"])
    for col, length in (("bank_name", 200), ("bank_account_name", 200), ("bank_account_no", 64)):
        op.add_column("orgs", sa.Column(col, sa.String(length), nullable=True))
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payer_org_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_by", sa.Integer(), nullable=True),
        sa.Column("bank_reference", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["payer_org_id"], ["orgs.id"],
                                name=op.f("fk_refunds_payer_org_id_orgs")),
        sa.ForeignKeyConstraint(["sent_by"], ["users.id"], name=op.f("fk_refunds_sent_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("source", name=op.f("uq_refunds_source")),
    )
    op.create_index("ix_refunds_status_due", "refunds", ["status", "due_at"])
    op.create_index(op.f("ix_refunds_payer_org_id"), "refunds", ["payer_org_id"])
    # A bar recorded per person becomes a bar on the person's organisation.
    op.execute("UPDATE barred_bidders SET org_id = "
               "(SELECT users.org_id FROM users WHERE users.id = barred_bidders.user_id)")


def downgrade() -> None:
    op.drop_table("refunds")
    for col in ("bank_account_no", "bank_account_name", "bank_name"):
        op.drop_column("orgs", col)
    with op.batch_alter_table("barred_bidders") as batch:
        batch.drop_index(op.f("ix_barred_bidders_org_id"))
        batch.drop_constraint(op.f("fk_barred_bidders_org_id_orgs"), type_="foreignkey")
        batch.drop_column("org_id")
    for col in ("reauction_cut", "requested_starts_at", "backstop_accepted_by",
                "backstop_accepted_at"):
        op.drop_column("listings", col)
