"""Accounts: argon2id passwords, browser sessions, field-kit tokens, the first admin's one-time
link, and a brake on password guessing.

Secrets handed out (session cookies, API tokens, setup links) are random 256-bit values; the
catalog keeps only their SHA-256, so a stolen database backup opens no door. A new password
ends every session and revokes every token of the account. Each act on an account is in the
audit trail under `actor`, who did it ("system" when no person did). Failed sign-ins are
rows in the catalog rather than a counter in memory, so every server process shares the brake.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from rushes.catalog.models import (
    ApiToken,
    LoginFailure,
    Membership,
    Project,
    SetupToken,
    User,
    WebSession,
    utcnow,
)
from rushes.errors import InvalidInput, LoginThrottled
from rushes.review import audit
from rushes.review.access import Role

SESSION_LIFETIME = timedelta(days=14)
SETUP_LIFETIME = timedelta(hours=24)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD = 10
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


@cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher.hash(secrets.token_hex(16))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise InvalidInput(
            f"{username!r}: a username is 1-64 of a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    display_name: str = "",
    site_admin: bool = False,
    actor: str = "system",
) -> User:
    check_username(username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidInput(f"the username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=_hasher.hash(check_password(password)),
        site_admin=site_admin,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "account-created", username, site_admin=site_admin)
    return user


def set_password(session: Session, user: User, password: str, *, actor: str) -> None:
    """A new password signs the account out everywhere: every session ends, every token is
    revoked (the caller starts the one session the change was made from, if any)."""
    user.password_hash = _hasher.hash(check_password(password))
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    audit.record(session, actor, "password-changed", user.username, tokens_revoked=revoked)


def add_member(
    session: Session, project: Project, user: User, role: Role, *, actor: str = "system"
) -> None:
    """Give the user this role in the project (replacing any role they had there)."""
    membership = session.get(Membership, (project.id, user.id))
    before = membership.role if membership else None
    if membership is None:
        session.add(Membership(project_id=project.id, user_id=user.id, role=str(role)))
    else:
        membership.role = str(role)
    session.flush()
    if before != str(role):
        audit.record(
            session,
            actor,
            "role-granted",
            user.username,
            project=project.slug,
            role=str(role),
            before=before,
        )


def remove_member(session: Session, project: Project, user: User, *, actor: str) -> None:
    session.execute(
        delete(Membership).where(Membership.project_id == project.id, Membership.user_id == user.id)
    )
    audit.record(session, actor, "role-removed", user.username, project=project.slug)


def authenticate(session: Session, username: str, password: str, address: str) -> User | None:
    """The user, or None for a wrong name or password (recorded); LoginThrottled past the brake.

    Call inside a write transaction: a failure is recorded even though sign-in fails.
    """
    username = username.strip().lower()[:64]
    since = utcnow() - FAILURE_WINDOW
    failures = select(func.count()).select_from(LoginFailure).where(LoginFailure.at > since)
    by_name = session.scalar(failures.where(LoginFailure.username == username)) or 0
    by_address = session.scalar(failures.where(LoginFailure.address == address)) or 0
    if by_name >= MAX_FAILURES_PER_NAME or by_address >= MAX_FAILURES_PER_ADDRESS:
        oldest = session.scalar(
            select(func.min(LoginFailure.at)).where(
                LoginFailure.at > since,
                or_(LoginFailure.username == username, LoginFailure.address == address),
            )
        )
        wait = (oldest + FAILURE_WINDOW - utcnow()).total_seconds() if oldest else 60
        raise LoginThrottled(max(1, int(wait) + 1))
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.disabled or not _verify(user.password_hash if user else None, password):
        session.add(LoginFailure(username=username, address=address[:64]))
        session.execute(delete(LoginFailure).where(LoginFailure.at < since))
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    return user


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def start_session(session: Session, user: User) -> tuple[str, WebSession]:
    """A new browser session: the cookie value to set, and its row (with the CSRF token)."""
    cookie = secrets.token_urlsafe(32)
    row = WebSession(
        id=digest(cookie),
        user_id=user.id,
        csrf=secrets.token_urlsafe(32),
        expires_at=utcnow() + SESSION_LIFETIME,
    )
    session.add(row)
    session.execute(delete(WebSession).where(WebSession.expires_at < utcnow()))
    return cookie, row


def session_user(session: Session, cookie: str) -> tuple[User, WebSession] | None:
    row = session.get(WebSession, digest(cookie))
    if row is None or row.expires_at < utcnow():
        return None
    user = session.get(User, row.user_id)
    return None if user is None or user.disabled else (user, row)


def end_session(session: Session, cookie: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id == digest(cookie)))


def create_api_token(
    session: Session, user: User, project: Project, label: str = "", *, actor: str = "system"
) -> str:
    """A bearer token for the field kit, bound to one user in one project. Shown once."""
    token = "rsh_" + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=digest(token), user_id=user.id, project_id=project.id, label=label)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "token-issued",
        user.username,
        token=row.id,
        project=project.slug,
        label=label,
    )
    return token


def token_user(session: Session, token: str) -> tuple[User, ApiToken] | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    return None if user is None or user.disabled else (user, row)


def revoke_api_token(session: Session, token_id: int, user: User, *, actor: str) -> None:
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    if revoked:
        audit.record(session, actor, "token-revoked", user.username, token=token_id)


def has_users(session: Session) -> bool:
    return session.scalar(select(User.id).limit(1)) is not None


def issue_setup_token(session: Session) -> str | None:
    """A one-time link secret for the first admin, or None once anyone has an account."""
    if has_users(session):
        return None
    token = secrets.token_urlsafe(32)
    session.add(SetupToken(token_hash=digest(token), expires_at=utcnow() + SETUP_LIFETIME))
    return token


def setup_token_valid(session: Session, token: str) -> bool:
    row = session.get(SetupToken, digest(token))
    return (
        row is not None
        and row.used_at is None
        and row.expires_at > utcnow()
        and not has_users(session)
    )


def use_setup_token(session: Session, token: str, username: str, password: str) -> User:
    """Create the first admin with the link's token; every link is spent once anyone exists."""
    if not setup_token_valid(session, token):
        raise InvalidInput("this setup link is used, expired or unknown")
    user = create_user(session, username, password, site_admin=True, actor=username)
    session.execute(update(SetupToken).values(used_at=utcnow()))
    return user
