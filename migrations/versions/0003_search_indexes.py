"""Listing indexes a generated migration cannot express: the price expression index,
and the PostgreSQL full-text search indexes over listings.search_tsv (listings/models.py says
why: bigram tokens in a 'simple' tsvector find two-character Chinese words). GIN and
partial indexes are PostgreSQL's; SQLite searches search_text with LIKE and needs none.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sorting and filtering by price (an expression index: hand-written on both backends).
    op.execute("CREATE INDEX ix_listings_price ON listings (coalesce(start_price, ask_price))")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_listings_search ON listings USING gin (search_tsv)")
    op.execute("CREATE INDEX ix_listings_search_published ON listings USING gin (search_tsv) "
               "WHERE status = 'published'")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_listings_price")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_listings_search_published")
    op.execute("DROP INDEX IF EXISTS ix_listings_search")
