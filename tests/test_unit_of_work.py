"""db.transactional: a view's unit of work commits what the view did when it returns, and
nothing when it raises (a refused call writes nothing)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from market.audit import AuditRecord, record
from market.db import get_session, transactional
from market.errors import Conflict


@transactional
def _done():
    record(get_session(), "test.done", "test", 1)
    return "done"


@transactional
def _refused():
    record(get_session(), "test.refused", "test", 2)
    raise Conflict("refused", "no")


def test_commits_on_return_and_rolls_back_on_raise(app, db):
    # One request's session for both: had the refusal not been rolled back, the next
    # unit of work would commit its write too.
    with app.test_request_context("/", method="POST"):
        with pytest.raises(Conflict):
            _refused()
        assert _done() == "done"
    db.rollback()
    assert list(db.scalars(select(AuditRecord.action)
                          .where(AuditRecord.object_type == "test"))) == ["test.done"]
