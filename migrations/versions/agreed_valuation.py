"""Agreed valuation (协议折价): the agreed_valuations table (unused until now) gains its
status, the pledgor's consent reference, the settlement it made, the bank that took the
assets, who recorded it and when, and the disposal date. Rows that might exist are
`holding` with an empty consent reference.

Revision ID: agreed01
Revises: oversight01
"""
import sqlalchemy as sa
from alembic import op

revision = "agreed01"
down_revision = "riskdossier01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agreed_valuations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False,
                                      server_default="holding"))
        batch_op.add_column(sa.Column("pledgor_consent_ref", sa.String(length=200),
                                      nullable=False, server_default=""))
        batch_op.add_column(sa.Column("settlement_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("bank_org_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("disposed_on", sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_agreed_valuations_settlement_id_settlements"), "settlements",
            ["settlement_id"], ["id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_agreed_valuations_bank_org_id_orgs"), "orgs", ["bank_org_id"], ["id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_agreed_valuations_created_by_users"), "users", ["created_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("agreed_valuations", schema=None) as batch_op:
        for fk in ("fk_agreed_valuations_created_by_users", "fk_agreed_valuations_bank_org_id_orgs",
                   "fk_agreed_valuations_settlement_id_settlements"):
            batch_op.drop_constraint(fk, type_="foreignkey")
        for col in ("disposed_on", "created_at", "created_by", "bank_org_id", "settlement_id",
                    "pledgor_consent_ref", "status"):
            batch_op.drop_column(col)
