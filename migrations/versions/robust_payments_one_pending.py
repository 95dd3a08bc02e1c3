"""One pending payment per payable: a partial unique index on payments
(settlement_id, purpose) WHERE status = 'pending' (issue 14: two simultaneous requests
created two pending balance payments for one sale). PostgreSQL and SQLite both have
partial indexes.

Existing duplicates (made by that race) would stop the index: the oldest pending payment
of each payable stays pending, later ones become cancelled, with an audit row each.

Revision ID: robust01
Revises: 0003
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from market.db import UTCDateTime

revision = "robust01"
down_revision = "oversight01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    dupes = bind.execute(sa.text(
        "SELECT p.id FROM payments p WHERE p.status = 'pending' AND p.settlement_id IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM payments q WHERE q.status = 'pending' "
        "AND q.settlement_id = p.settlement_id AND q.purpose = p.purpose AND q.id < p.id)"
    )).scalars().all()
    now = dt.datetime.now(dt.timezone.utc)
    for pid in dupes:
        bind.execute(sa.text("UPDATE payments SET status = 'cancelled' WHERE id = :id"),
                     {"id": pid})
        bind.execute(sa.text(
            "INSERT INTO audit_records (at, actor_id, action, object_type, object_id, "
            "before, after) VALUES (:at, NULL, 'payment.cancel', 'payment', :id, "
            ":before, :after)").bindparams(sa.bindparam("at", type_=UTCDateTime())),
            {"at": now, "id": pid, "before": '{"status": "pending"}',
             "after": '{"status": "cancelled", "reason": "duplicate pending payment"}'})
    op.create_index("uq_payments_one_pending", "payments", ["settlement_id", "purpose"],
                    unique=True, postgresql_where=sa.text("status = 'pending'"),
                    sqlite_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index("uq_payments_one_pending", table_name="payments")
