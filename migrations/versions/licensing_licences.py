"""Licensing: each licensing listing's terms (licence_terms), the licences granted under
it (licences), their royalty reports and minimum-royalty bills (royalty_reports), and
payments.payable_id naming what a payment not tied to a settlement
pays (a licence's upfront fee: purpose "licence"). Existing payments are sale balances
and keep payable_id empty.

Revision ID: licensing01
Revises: oversight01
"""
import sqlalchemy as sa
from alembic import op

revision = "licensing01"
down_revision = "equity01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "licence_terms",
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("territory", sa.String(length=60), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("upfront_fee", sa.BigInteger(), nullable=False),
        sa.Column("royalty_rate", sa.String(length=32), nullable=False),
        sa.Column("minimum_annual_royalty", sa.BigInteger(), nullable=False),
        sa.Column("pledgor_consent_ref", sa.String(length=200), nullable=True),
        sa.Column("pledgee_consent_ref", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"],
                                name=op.f("fk_licence_terms_listing_id_listings")),
        sa.PrimaryKeyConstraint("listing_id", name=op.f("pk_licence_terms")),
    )
    op.create_table(
        "licences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("licensor_org_id", sa.Integer(), nullable=False),
        sa.Column("licensee_org_id", sa.Integer(), nullable=False),
        sa.Column("applicant_user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("territory", sa.String(length=60), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("upfront_fee", sa.BigInteger(), nullable=False),
        sa.Column("royalty_rate", sa.String(length=32), nullable=False),
        sa.Column("minimum_annual_royalty", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("pay_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("paid_total", sa.BigInteger(), nullable=False),
        sa.Column("commission_total", sa.BigInteger(), nullable=False),
        sa.Column("applied_to_loan", sa.BigInteger(), nullable=False),
        sa.Column("paid_to_owner", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["listing_id"], ["listings.id"],
                                name=op.f("fk_licences_listing_id_listings")),
        sa.ForeignKeyConstraint(["licensor_org_id"], ["orgs.id"],
                                name=op.f("fk_licences_licensor_org_id_orgs")),
        sa.ForeignKeyConstraint(["licensee_org_id"], ["orgs.id"],
                                name=op.f("fk_licences_licensee_org_id_orgs")),
        sa.ForeignKeyConstraint(["applicant_user_id"], ["users.id"],
                                name=op.f("fk_licences_applicant_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licences")),
    )
    with op.batch_alter_table("licences", schema=None) as batch_op:
        batch_op.create_index("ix_licences_status", ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_licences_listing_id"), ["listing_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_licences_licensee_org_id"), ["licensee_org_id"],
                              unique=False)
    op.create_table(
        "royalty_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("net_sales", sa.BigInteger(), nullable=True),
        sa.Column("royalty", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["licence_id"], ["licences.id"],
                                name=op.f("fk_royalty_reports_licence_id_licences")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_royalty_reports_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_royalty_reports")),
        sa.UniqueConstraint("licence_id", "kind", "period_start",
                            name="uq_royalty_report_period"),
    )
    with op.batch_alter_table("royalty_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_royalty_reports_licence_id"), ["licence_id"],
                              unique=False)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payable_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("payable_id")
    with op.batch_alter_table("royalty_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_royalty_reports_licence_id"))
    op.drop_table("royalty_reports")
    with op.batch_alter_table("licences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licences_licensee_org_id"))
        batch_op.drop_index(batch_op.f("ix_licences_listing_id"))
        batch_op.drop_index("ix_licences_status")
    op.drop_table("licences")
    op.drop_table("licence_terms")
