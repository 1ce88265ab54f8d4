"""Who is asking: a browser session cookie or a field-kit bearer token, and CSRF protection.

Browser sessions are HttpOnly, SameSite=Lax cookies (Secure when served over HTTPS). Every
state-changing request signed in by cookie must carry the session's CSRF token, as the form
field ``csrf`` or the ``X-CSRF-Token`` header; a request with an ``Origin`` from another site is
refused even before that. Bearer-token requests carry no cookie, so they need no CSRF token,
and they reach only what the field kit calls (FIELD_KIT_ROUTES; the tus server checks its own):
a token copied off a crew laptop is no password, whatever its owner's role.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from rushes.catalog.models import ApiToken, User, WebSession
from rushes.errors import NotFoundError
from rushes.i18n import N_
from rushes.review import accounts
from rushes.review.access import Viewer, viewer_for
from rushes.web.dependencies import Reading, get_base

COOKIE = "rushes_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD_KIT_ROUTES = frozenset(
    {"/api/p/{slug}/field/manifest", "/api/p/{slug}/field/wanted", "/api/me/notes"}
)


@dataclass(frozen=True)
class Identity:
    user: User
    web_session: WebSession | None = None
    token: ApiToken | None = None

    @property
    def csrf(self) -> str:
        return self.web_session.csrf if self.web_session else ""


class SignInRequired(Exception):
    """Raised for a request without a valid session: pages redirect, the API answers 401
    with this reason."""

    def __init__(self, reason: str = "sign in first") -> None:
        super().__init__(reason)
        self.reason = reason


def identify(request: Request, session: Session) -> Identity | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        found = accounts.token_user(session, header[7:].strip())
        if found is None:
            return None
        if accounts.token_stale(found[1]):  # shown in settings, so a lost laptop's is spotted
            with get_base(request).catalog.write() as writing:
                accounts.touch_token(writing, found[1].id)
        return Identity(found[0], token=found[1])
    cookie = request.cookies.get(COOKIE)
    if cookie:
        idle, lifetime = session_limits(request)
        signed_in = accounts.session_user(session, cookie, idle, lifetime)
        if signed_in:
            if accounts.session_stale(signed_in[1], idle):
                with get_base(request).catalog.write() as writing:
                    accounts.touch_session(writing, signed_in[1].id)
            return Identity(signed_in[0], web_session=signed_in[1])
    return None


def session_limits(request: Request) -> tuple[timedelta, timedelta]:
    """(idle, absolute) lifetime of a browser session, from the base's settings."""
    settings = get_base(request).settings
    return (
        timedelta(minutes=settings.session_idle_minutes),
        timedelta(hours=settings.session_lifetime_hours),
    )


async def check_origin(request: Request) -> None:
    """Refuse a state-changing request sent by a page of another site (login CSRF included)."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    # "null" is what a sandboxed frame or a data: page sends: never this site's own pages.
    if origin and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise HTTPException(403, N_("cross-site request refused"))


async def _csrf_sent(request: Request) -> str:
    sent = request.headers.get("x-csrf-token", "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get("csrf", ""))
    return sent


async def signed_in(request: Request, session: Reading) -> Identity:
    """The caller, with CSRF checked on any state-changing request made with a cookie.

    Async only to read a posted form; the lookup runs on a worker thread (a blocking one here
    would stop every request of the process)."""
    identity = await run_in_threadpool(identify, request, session)
    if identity is None:
        bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
        raise SignInRequired(accounts.UNKNOWN_TOKEN) if bearer else SignInRequired()
    request.state.language = identity.user.language  # a refusal below speaks the account's
    if identity.token and getattr(request.scope.get("route"), "path", "") not in FIELD_KIT_ROUTES:
        raise HTTPException(
            403, N_("a field-kit token only syncs the field kit; sign in to do this")
        )
    wait = request.app.state.account_rate.take(str(identity.user.id))
    if wait:
        raise HTTPException(
            429, N_("too many requests from your account; slow down"), {"Retry-After": str(wait)}
        )
    if identity.web_session and request.method not in SAFE_METHODS:
        sent = await _csrf_sent(request)
        if not secrets.compare_digest(sent.encode(), identity.csrf.encode()):
            raise HTTPException(
                403, N_("missing or stale form token: reload the page and try again")
            )
    request.state.identity = identity
    return identity


SignedIn = Annotated[Identity, Depends(signed_in)]


def site_admin(identity: SignedIn) -> Identity:
    if not identity.user.site_admin:
        raise HTTPException(403, N_("only a site admin may do this"))
    return identity


SiteAdmin = Annotated[Identity, Depends(site_admin)]


def project_viewer(slug: str, identity: SignedIn, session: Reading) -> Viewer:
    """The caller inside the project named in the path; 404 for a project they are not in.

    A field-kit token belongs to one project: used on another it is refused with 403.
    """
    try:
        viewer = viewer_for(session, identity.user, slug)
    except NotFoundError as exc:
        if identity.token is not None:
            raise HTTPException(403, N_("this token belongs to another project")) from exc
        raise
    if identity.token is not None and identity.token.project_id != viewer.project.id:
        raise HTTPException(403, N_("this token belongs to another project"))
    return viewer


InProject = Annotated[Viewer, Depends(project_viewer)]
