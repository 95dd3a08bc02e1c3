"""Valuation status: an owner's valuation of a pledged asset is `proposed` and counts only
once the pledgee or an operator applies it (API.md "Assets"). Every existing valuation
counted, so existing rows are `applied`.

Revision ID: authz01
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "authz01"
down_revision = "auctionrules01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("valuations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False,
                                      server_default="applied"))


def downgrade() -> None:
    with op.batch_alter_table("valuations", schema=None) as batch_op:
        batch_op.drop_column("status")
