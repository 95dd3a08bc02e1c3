"""Account services: take a session and plain values, never a request."""
from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..errors import Conflict, Invalid, NotFound
from ..timeutil import utcnow
from .models import ORG_KINDS, ROLES, ApiToken, Org, User

MIN_PASSWORD = 12
TOKEN_PREFIX = "ipx_"
_DEFAULT_HASHER = PasswordHasher()  # argon2id with the library's current defaults
HASHER_KEY = "market.password_hasher"


def hasher_for(config) -> PasswordHasher:
    """The hasher for an app's PASSWORD_HASH_* settings (market/config.py)."""
    return PasswordHasher(time_cost=config["PASSWORD_HASH_TIME_COST"],
                          memory_cost=config["PASSWORD_HASH_MEMORY_KIB"],
                          parallelism=config["PASSWORD_HASH_PARALLELISM"])


def _hasher() -> PasswordHasher:
    """The current app's hasher (its configured cost), else the library's defaults."""
    if has_app_context():
        return current_app.extensions.get(HASHER_KEY, _DEFAULT_HASHER)
    return _DEFAULT_HASHER


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise Invalid("password_too_short", f"password must be at least {MIN_PASSWORD} characters")
    return _hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_or_create_org(session: Session, name: str, kind: str | None = None,
                      name_en: str | None = None) -> Org:
    org = session.scalar(select(Org).where(Org.name == name))
    if org is not None:
        return org
    kind = kind or "enterprise"
    if kind not in ORG_KINDS:
        raise Invalid("invalid_org_kind", f"organisation kind must be one of {', '.join(ORG_KINDS)}")
    org = Org(name=name, kind=kind, name_en=name_en, created_at=utcnow())
    session.add(org)
    session.flush()
    audit.record(session, "org.create", "org", org.id, after={"name": name, "kind": kind})
    return org


def _check_role(role: str, org: Org) -> None:
    if role not in ROLES:
        raise Invalid("invalid_role", f"role must be one of {', '.join(ROLES)}")
    # API.md CLI: any role may belong to any kind of organisation, except regulators.
    if role == "regulator" and org.kind != "regulator":
        raise Invalid("regulator_org_required",
                      f"a regulator belongs to an organisation of kind regulator; "
                      f"{org.name} is of kind {org.kind}")


def create_user(session: Session, email: str, password: str, role: str, org: Org,
                name: str | None = None, *, actor_id: int | None = None) -> User:
    email = email.strip().lower()
    _check_role(role, org)
    if "@" not in email:
        raise Invalid("invalid_email", "not an e-mail address")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict("duplicate_user", f"{email} already has an account")
    user = User(email=email, name=name, password_hash=hash_password(password), role=role,
                org_id=org.id, created_at=utcnow(), active=True, session_version=1)
    session.add(user)
    session.flush()
    audit.record(session, "user.create", "user", user.id, actor_id=actor_id,
                 after={"email": email, "role": role, "org_id": org.id})
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_user_by_email(session, email)
    if user is None or not user.active or not check_password(user, password):
        # Hash anyway so timing does not tell which e-mails exist.
        if user is None:
            _hasher().hash("x" * MIN_PASSWORD)
        return None
    return user


def change_password(session: Session, user: User, old: str, new: str) -> None:
    if not check_password(user, old):
        raise Invalid("wrong_password", "current password is wrong")
    user.password_hash = hash_password(new)
    user.session_version += 1
    audit.record(session, "user.password_change", "user", user.id, actor_id=user.id)


def end_sessions(session: Session, user: User) -> None:
    """Logging out ends the session on the server: the session cookie names the user's
    session_version, so a copied cookie stops working once it moves on."""
    user.session_version += 1
    audit.record(session, "user.logout", "user", user.id, actor_id=user.id)


def set_role(session: Session, user: User, role: str, *, actor_id: int) -> None:
    _check_role(role, user.org)
    before = user.role
    user.role = role
    user.session_version += 1
    audit.record(session, "user.role_change", "user", user.id, actor_id=actor_id,
                 before={"role": before}, after={"role": role})


def issue_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tok = ApiToken(user_id=user.id, name=name[:100], digest=token_digest(plain),
                   prefix=plain[:12], created_at=utcnow())
    session.add(tok)
    session.flush()
    audit.record(session, "token.create", "api_token", tok.id, actor_id=user.id,
                 after={"name": tok.name, "prefix": tok.prefix})
    return tok, plain


def revoke_token(session: Session, user: User, token_id: int) -> None:
    tok = session.get(ApiToken, token_id)
    if tok is None or tok.user_id != user.id:
        raise NotFound("token")
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        audit.record(session, "token.revoke", "api_token", tok.id, actor_id=user.id)


# The same rule in SQL, for statements that authenticate and act at once (the bid path):
# the active user of an unrevoked token, by digest → (id, role).
TOKEN_USER_SQL = ("SELECT u.id, u.role FROM api_tokens k JOIN users u ON u.id = k.user_id"
                  " WHERE k.digest = %(digest)s AND k.revoked_at IS NULL AND u.active")


def user_for_token(session: Session, plain: str) -> User | None:
    """Every API request passes here: one indexed query, only the user (and its org)."""
    return session.scalar(
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.digest == token_digest(plain), ApiToken.revoked_at.is_(None),
               User.active.is_(True)))


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                .order_by(ApiToken.id.desc())))
