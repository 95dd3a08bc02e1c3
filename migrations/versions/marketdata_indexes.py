"""Market data reads settled sales newest first: an index on settlements (status,
settled_at) serves GET /market/sales, /market/index and the price guides.

Revision ID: marketdata01
Revises: 0003
"""
from alembic import op

revision = "marketdata01"
down_revision = "lifecycle01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_settlements_status_settled_at", "settlements", ["status", "settled_at"])


def downgrade() -> None:
    op.drop_index("ix_settlements_status_settled_at", table_name="settlements")
