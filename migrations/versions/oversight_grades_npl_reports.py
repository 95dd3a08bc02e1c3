"""Oversight: loans.first_loan, loan grades, overall NPL ratios by quarter, NPL tolerance
flags and kept quarterly IP-pledge reports. Existing loans become not first loans (the
bank says otherwise when it knows); the old single bank_profiles.overall_npl_ratio has no
quarter, so it is left where it is rather than guessed into one.

Revision ID: oversight01
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "oversight01"
down_revision = "marketdata01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_loan", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    op.create_table(
        "loan_grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"],
                                name=op.f("fk_loan_grades_loan_id_loans")),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"],
                                name=op.f("fk_loan_grades_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_grades")),
    )
    op.create_index("ix_loan_grades_loan_as_of", "loan_grades", ["loan_id", "as_of"])

    op.create_table(
        "overall_npl_ratios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("ratio", sa.String(length=32), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"],
                                name=op.f("fk_overall_npl_ratios_org_id_orgs")),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"],
                                name=op.f("fk_overall_npl_ratios_updated_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overall_npl_ratios")),
        sa.UniqueConstraint("org_id", "period", name=op.f("uq_overall_npl_ratios_org_id")),
    )

    op.create_table(
        "npl_tolerance_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("gap_pp", sa.String(length=32), nullable=False),
        sa.Column("tolerance_pp", sa.String(length=32), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"],
                                name=op.f("fk_npl_tolerance_flags_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_npl_tolerance_flags")),
    )
    op.create_index("uq_npl_tolerance_flags_open", "npl_tolerance_flags", ["org_id"],
                    unique=True, postgresql_where=sa.text("cleared_at IS NULL"),
                    sqlite_where=sa.text("cleared_at IS NULL"))

    op.create_table(
        "ip_pledge_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"],
                                name=op.f("fk_ip_pledge_reports_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_pledge_reports")),
        sa.UniqueConstraint("org_id", "period", name=op.f("uq_ip_pledge_reports_org_id")),
    )


def downgrade() -> None:
    op.drop_table("ip_pledge_reports")
    op.drop_index("uq_npl_tolerance_flags_open", table_name="npl_tolerance_flags")
    op.drop_table("npl_tolerance_flags")
    op.drop_table("overall_npl_ratios")
    op.drop_index("ix_loan_grades_loan_as_of", table_name="loan_grades")
    op.drop_table("loan_grades")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_column("first_loan")
