"""Auctions by the rule (issue 12): the backstop's acceptance, the requested start a
notice period moved, the seller's re-auction cut, and the 悔拍 bar per organisation.

Revision ID: auctionrules01
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "auctionrules01"
down_revision = "0003"
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
    # A bar recorded per person becomes a bar on the person's organisation.
    op.execute("UPDATE barred_bidders SET org_id = "
               "(SELECT users.org_id FROM users WHERE users.id = barred_bidders.user_id)")


def downgrade() -> None:
    with op.batch_alter_table("barred_bidders") as batch:
        batch.drop_index(op.f("ix_barred_bidders_org_id"))
        batch.drop_constraint(op.f("fk_barred_bidders_org_id_orgs"), type_="foreignkey")
        batch.drop_column("org_id")
    for col in ("reauction_cut", "requested_starts_at", "backstop_accepted_by",
                "backstop_accepted_at"):
        op.drop_column("listings", col)
