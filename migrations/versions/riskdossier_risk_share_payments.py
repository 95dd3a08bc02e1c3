"""Risk shares carry their own state: open until a settlement of the loan leaves a
shortfall (then due, with the amount the party owes), paid once the party records its
payment. Existing shares whose loan was already settled with a shortfall become due with
the amounts their settlements fixed; the others stay open.

Revision ID: riskdossier01
Revises: oversight01
"""
import sqlalchemy as sa
from alembic import op

revision = "riskdossier01"
down_revision = "authz01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_shares", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=8), nullable=False,
                                      server_default="open"))
        batch_op.add_column(sa.Column("amount_due", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("paid_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("reference", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("paid_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_risk_shares_paid_by_users"), "users",
                                    ["paid_by"], ["id"])
    # Shares of loans already settled: what their settled sales fixed is owed now.
    op.execute("""
        UPDATE risk_shares SET status = 'due', amount_due = (
            SELECT SUM(srs.amount) FROM settlement_risk_shares srs
            JOIN settlements st ON st.id = srs.settlement_id
            WHERE st.loan_id = risk_shares.loan_id AND srs.org_id = risk_shares.org_id
              AND st.status = 'settled')
        WHERE (SELECT SUM(srs.amount) FROM settlement_risk_shares srs
               JOIN settlements st ON st.id = srs.settlement_id
               WHERE st.loan_id = risk_shares.loan_id AND srs.org_id = risk_shares.org_id
                 AND st.status = 'settled' AND st.shortfall > 0) > 0
    """)


def downgrade() -> None:
    with op.batch_alter_table("risk_shares", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_risk_shares_paid_by_users"), type_="foreignkey")
        for col in ("paid_at", "paid_by", "reference", "paid_on", "due_at", "amount_due",
                    "status"):
            batch_op.drop_column(col)
