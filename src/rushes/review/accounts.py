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
from sqlalchemy import delete, select, update
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
from rushes.i18n import N_
from rushes.review import audit
from rushes.review.access import Role

SESSION_LIFETIME = timedelta(days=14)  # defaults of the settings session_lifetime_hours
SESSION_IDLE = timedelta(hours=12)  # and session_idle_minutes
TOKEN_USE_STEP = timedelta(minutes=5)  # how often a field token's last use is recorded
SETUP_LIFETIME = timedelta(hours=24)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_PAIR = 5  # one name from one address: the owner elsewhere is not locked out
MAX_FAILURES_PER_ADDRESS = 20  # any names from one address
NAME_WINDOW = timedelta(hours=1)
MAX_FAILURES_PER_NAME = 50  # one name from everywhere: slows guessing spread over many hosts
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
            N_(
                "'%(name)s': a username is 1-64 of a-z, 0-9, '.', '_' or '-', "
                "starting with a letter or digit"
            ),
            name=username,
        )
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(N_("a password needs at least %(least)s characters"), least=MIN_PASSWORD)
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
        raise InvalidInput(N_("the username '%(name)s' is taken"), name=username)
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

    Call inside a write transaction: a failure is recorded even though sign-in fails. The
    account's row is locked before the failures are counted (PostgreSQL; SQLite's writes are
    serial already), so parallel guesses for one name are counted one after another, never
    all checked against the same count.
    """
    username, address = username.strip().lower()[:64], address[:64]
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    _brake(session, username, address)
    if user is None or user.disabled or not _verify(user.password_hash if user else None, password):
        session.add(LoginFailure(username=username, address=address))
        session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - NAME_WINDOW))
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.address == address
        )
    )
    return user


def _brake(session: Session, username: str, address: str) -> None:
    """LoginThrottled, with the seconds until the oldest counted failure leaves its window,
    when this name from this address, this address, or this name overall failed too often."""
    now = utcnow()
    pair = (LoginFailure.username == username) & (LoginFailure.address == address)
    for where, window, limit in (
        (pair, FAILURE_WINDOW, MAX_FAILURES_PER_PAIR),
        (LoginFailure.address == address, FAILURE_WINDOW, MAX_FAILURES_PER_ADDRESS),
        (LoginFailure.username == username, NAME_WINDOW, MAX_FAILURES_PER_NAME),
    ):
        recent = session.scalars(
            select(LoginFailure.at)
            .where(where, LoginFailure.at > now - window)
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        ).all()
        if len(recent) >= limit:
            wait = (recent[-1] + window - now).total_seconds()
            raise LoginThrottled(max(1, int(wait) + 1))


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def start_session(
    session: Session, user: User, lifetime: timedelta = SESSION_LIFETIME
) -> tuple[str, WebSession]:
    """A new browser session: the cookie value to set, and its row (with the CSRF token)."""
    cookie = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        id=digest(cookie),
        user_id=user.id,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    return cookie, row


def session_user(
    session: Session,
    cookie: str,
    idle: timedelta = SESSION_IDLE,
    lifetime: timedelta = SESSION_LIFETIME,
) -> tuple[User, WebSession] | None:
    """The signed-in user, or None once the session has been unused for `idle` or is older
    than `lifetime` (or its own end, set when it began), whichever comes first."""
    row = session.get(WebSession, digest(cookie))
    now = utcnow()
    if row is None or now >= min(row.expires_at, row.created_at + lifetime):
        return None
    if now >= (row.last_seen_at or row.created_at) + idle:
        return None
    user = session.get(User, row.user_id)
    return None if user is None or user.disabled else (user, row)


def session_stale(row: WebSession, idle: timedelta) -> bool:
    """Whether the session's last use is old enough to record again: often enough to keep
    idle expiry within a few minutes, rarely enough not to write on every request."""
    step = min(idle / 10, timedelta(minutes=5))
    return (row.last_seen_at or row.created_at) < utcnow() - step


def token_stale(row: ApiToken) -> bool:
    """Whether a token's last use is old enough to record again (at most every 5 minutes)."""
    return row.last_used_at is None or row.last_used_at < utcnow() - TOKEN_USE_STEP


def touch_token(session: Session, token_id: int) -> None:
    """Record that the token was used now (in a write transaction of its own)."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


def touch_session(session: Session, session_id: str) -> None:
    """Record that the session was used now (in a write transaction of its own)."""
    session.execute(
        update(WebSession).where(WebSession.id == session_id).values(last_seen_at=utcnow())
    )


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


UNKNOWN_TOKEN = "this token is unknown or revoked; log in again"  # said wherever one is checked


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
    """Create the first admin with the link's token; every link is spent once anyone exists.

    One UPDATE spends every unused link and must find this one among them: of concurrent
    requests (with one link or several), the first to commit wins and the others, waiting on
    its row locks, find nothing left to spend. One base never gets two first admins.
    """
    check_username(username)
    check_password(password)  # before spending: a short password must not burn the link
    now = utcnow()
    spent = session.execute(
        update(SetupToken)
        .where(SetupToken.used_at.is_(None))
        .values(used_at=now)
        .returning(SetupToken.token_hash, SetupToken.expires_at)
    ).all()
    mine = digest(token)
    if not any(hashed == mine and expires > now for hashed, expires in spent) or has_users(session):
        raise InvalidInput(N_("this setup link is used, expired or unknown"))
    return create_user(session, username, password, site_admin=True, actor=username)
