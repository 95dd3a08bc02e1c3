"""Who sees and writes what in oversight — the one place its permission checks live.

Banks see their own figures and write their own grades and overall ratios; operators and
regulators read every bank's; regulators write nothing (their calls are refused by role)."""
from __future__ import annotations

from flask import abort, request
from flask_login import current_user
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..errors import NotFound
from ..lending.models import Loan
from ..lending.services import get_loan, visible_loan
from .npl import bank_ids

READERS = ("bank", "operator", "regulator")


def banks_for(session: Session, user: User) -> list[int]:
    """The banks whose figures the user reads: a bank itself; operators and regulators all."""
    if user.role == "bank":
        return [user.org_id]
    return bank_ids(session)


def loan_for_reading(session: Session, loan_id: int, user: User) -> Loan:
    """Whoever sees the loan, and regulators (a grade is oversight)."""
    if user.role == "regulator":
        return get_loan(session, loan_id)
    return visible_loan(session, loan_id, user)


def own_bank(user: User, org_id: int) -> int:
    """Only that bank's users write its overall ratio; for anyone else it is not there."""
    if user.role != "bank" or user.org_id != org_id:
        raise NotFound("bank")
    return org_id


# A regulator's own account is theirs to keep (sign in and out, language, password, API
# tokens, notifications read); nothing else on the site is theirs to change.
REGULATOR_SELF_SERVICE = frozenset({
    "web.login", "web.logout", "web.set_preferred_language", "web.change_password",
    "web.create_token", "web.revoke_token", "web.read_notification",
    "web.read_all_notifications"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def refuse_regulator_writes() -> None:
    """before_request for the web pages: a regulator's form posts are refused (403) before
    any view runs, whatever that view's own role check says. The API needs no such guard:
    every API write names the roles it allows, and regulator is never one of them."""
    if request.method in SAFE_METHODS or request.path.startswith("/api/"):
        return
    if request.endpoint in REGULATOR_SELF_SERVICE:
        return
    if getattr(current_user, "is_authenticated", False) and current_user.role == "regulator":
        abort(403)
