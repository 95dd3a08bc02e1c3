"""Equity contribution (作价入股): equity listing terms, equity offers, the asset kind
`equity_interest` (no expiry), and replacement collateral (a loan may have several
pledges over time, one current: a replaced pledge points at its replacement).

Existing rows: every asset has an expiry already; every pledge is its loan's current one
(replaced_by_id empty), so the old one-pledge-per-loan rule holds as a partial unique index.

Revision ID: equity01
Revises: oversight01
"""
import sqlalchemy as sa
from alembic import op

revision = "equity01"
down_revision = "agreed01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.alter_column("expires_on", existing_type=sa.Date(), nullable=True)
        batch_op.create_check_constraint(
            "expires_on_required", "expires_on IS NOT NULL OR kind = 'equity_interest'")

    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaced_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_pledges_replaced_by_id_pledges"), "pledges",
                                    ["replaced_by_id"], ["id"])
        batch_op.drop_constraint("uq_pledges_loan_id", type_="unique")
        batch_op.create_index("ix_pledges_loan_id", ["loan_id"], unique=False)
        batch_op.create_index("uq_pledges_current_loan", ["loan_id"], unique=True,
                              postgresql_where=sa.text("replaced_by_id IS NULL"),
                              sqlite_where=sa.text("replaced_by_id IS NULL"))

    op.create_table(
        "equity_terms",
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("min_valuation", sa.BigInteger(), nullable=False),
        sa.Column("pledgor_consent_ref", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"],
                                name=op.f("fk_equity_terms_listing_id_listings")),
        sa.PrimaryKeyConstraint("listing_id", name=op.f("pk_equity_terms")),
    )
    op.create_table(
        "equity_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("company_org_id", sa.Integer(), nullable=False),
        sa.Column("offered_by", sa.Integer(), nullable=False),
        sa.Column("valuation", sa.BigInteger(), nullable=False),
        sa.Column("share_of_company", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("consideration_to", sa.String(length=16), nullable=True),
        sa.Column("nominee_org_id", sa.Integer(), nullable=True),
        sa.Column("registration_no", sa.String(length=64), nullable=True),
        sa.Column("settlement_id", sa.Integer(), nullable=True),
        sa.Column("equity_asset_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"],
                                name=op.f("fk_equity_offers_listing_id_listings")),
        sa.ForeignKeyConstraint(["company_org_id"], ["orgs.id"],
                                name=op.f("fk_equity_offers_company_org_id_orgs")),
        sa.ForeignKeyConstraint(["offered_by"], ["users.id"],
                                name=op.f("fk_equity_offers_offered_by_users")),
        sa.ForeignKeyConstraint(["nominee_org_id"], ["orgs.id"],
                                name=op.f("fk_equity_offers_nominee_org_id_orgs")),
        sa.ForeignKeyConstraint(["settlement_id"], ["settlements.id"],
                                name=op.f("fk_equity_offers_settlement_id_settlements")),
        sa.ForeignKeyConstraint(["equity_asset_id"], ["assets.id"],
                                name=op.f("fk_equity_offers_equity_asset_id_assets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equity_offers")),
    )
    op.create_index("ix_equity_offers_listing_id", "equity_offers", ["listing_id"])


def downgrade() -> None:
    op.drop_index("ix_equity_offers_listing_id", table_name="equity_offers")
    op.drop_table("equity_offers")
    op.drop_table("equity_terms")
    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.drop_index("uq_pledges_current_loan")
        batch_op.drop_index("ix_pledges_loan_id")
        batch_op.create_unique_constraint("uq_pledges_loan_id", ["loan_id"])
        batch_op.drop_constraint("fk_pledges_replaced_by_id_pledges", type_="foreignkey")
        batch_op.drop_column("replaced_by_id")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_constraint("ck_assets_expires_on_required", type_="check")
        batch_op.alter_column("expires_on", existing_type=sa.Date(), nullable=False)
