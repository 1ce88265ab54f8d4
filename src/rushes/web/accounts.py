"""Sign in and out, the first admin's setup link, personal settings and field-kit tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from rushes.catalog.models import ApiToken, Project, User
from rushes.errors import InvalidInput, NotFoundError
from rushes.i18n import DIGITS, LANGUAGES, N_, language_of
from rushes.review import accounts
from rushes.review.access import projects_of, viewer_for
from rushes.web.auth import COOKIE, SignedIn, check_origin, identify, session_limits
from rushes.web.dependencies import Reading, Writing, page
from rushes.web.language import COOKIE as LANGUAGE_COOKIE
from rushes.web.language import Problem

router = APIRouter(dependencies=[Depends(check_origin)])


def _set_cookie(request: Request, response: Response, cookie: str) -> None:
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(session_limits(request)[1].total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def _local(target: str) -> str:
    """Only same-site paths after sign-in: never an open redirect to another host."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, identity: SignedIn, session: Reading) -> HTMLResponse:
    return page(request, "home.html", {"projects": projects_of(session, identity.user)})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, session: Reading, next: str = "/", language: str = "") -> Response:
    """The sign-in form; `?language=ar` (the page's switch) keeps that choice in a cookie for
    people not signed in, and shows this page in it at once."""
    if identify(request, session):
        return RedirectResponse(_local(next), 303)
    chosen = language_of(language)
    if chosen:
        request.state.language = chosen  # this response already, before the cookie is back
    response = page(request, "login.html", {"next": _local(next), "username": "", "problem": ""})
    if chosen:
        response.set_cookie(
            LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="lax", httponly=True
        )
    return response


@router.post("/login")
def login(
    request: Request,
    session: Writing,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    address = request.client.host if request.client else "unknown"
    user = accounts.authenticate(session, username, password, address)
    if user is None:
        context = {
            "next": _local(next),
            "username": username,
            "problem": N_("Wrong username or password."),
        }
        return page(request, "login.html", context, 401)
    cookie, _ = accounts.start_session(session, user, session_limits(request)[1])
    response = RedirectResponse(_local(next), 303)
    _set_cookie(request, response, cookie)
    return response


@router.post("/logout")
def logout(request: Request, identity: SignedIn, session: Writing) -> Response:
    accounts.end_session(session, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/setup", response_class=HTMLResponse)
def setup_form(request: Request, session: Reading, token: str = "") -> HTMLResponse:
    valid = accounts.setup_token_valid(session, token)
    return page(
        request,
        "setup.html",
        {"token": token, "valid": valid, "problem": ""},
        200 if valid else 410,
    )


@router.post("/setup")
def setup(
    request: Request,
    session: Writing,
    token: Annotated[str, Form()],
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    if not accounts.setup_token_valid(session, token):
        return page(request, "setup.html", {"token": "", "valid": False, "problem": ""}, 410)
    try:
        user = accounts.use_setup_token(session, token, username.strip().lower(), password)
    except InvalidInput as exc:
        context = {"token": token, "valid": True, "problem": exc}
        return page(request, "setup.html", context, 400)
    cookie, _ = accounts.start_session(session, user, session_limits(request)[1])
    response = RedirectResponse("/admin", 303)
    _set_cookie(request, response, cookie)
    return response


def _settings(
    request: Request, session: Reading | Writing, identity: SignedIn, **extra: Problem
) -> HTMLResponse:
    tokens = session.execute(
        select(ApiToken, Project)
        .join(Project, Project.id == ApiToken.project_id)
        .where(ApiToken.user_id == identity.user.id)
        .order_by(ApiToken.id.desc())
    ).all()
    context = {
        "tokens": tokens,
        "projects": projects_of(session, identity.user),
        "message": "",
        "problem": "",
        "new_token": "",
        "login_command": "",
        **extra,
    }
    return page(request, "settings.html", context, 400 if extra.get("problem") else 200)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, identity: SignedIn, session: Reading) -> HTMLResponse:
    return _settings(request, session, identity)


@router.post("/settings", response_class=HTMLResponse)
def save_settings(
    request: Request,
    identity: SignedIn,
    session: Writing,
    blur_thumbnails: Annotated[str, Form()] = "",
    language: Annotated[str, Form(max_length=16)] = "",
    digits: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse:
    if language not in ("", *LANGUAGES) or digits not in ("", *DIGITS):
        raise InvalidInput(
            N_("language: one of %(choices)s or empty; digits: latn, arab or empty"),
            choices=", ".join(LANGUAGES),
        )
    user = session.get(User, identity.user.id)
    assert user is not None
    user.blur_thumbnails = blur_thumbnails == "1"
    user.language, user.digits = language, digits
    identity.user.blur_thumbnails = user.blur_thumbnails
    identity.user.language, identity.user.digits = language, digits
    return _settings(request, session, identity, message=N_("Saved."))


@router.post("/settings/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    identity: SignedIn,
    session: Writing,
    current: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    address = request.client.host if request.client else "unknown"
    user = accounts.authenticate(session, identity.user.username, current, address)
    if user is None:
        return _settings(request, session, identity, problem=N_("The current password is wrong."))
    try:
        accounts.set_password(session, user, password, actor=user.username)
    except InvalidInput as exc:
        return _settings(request, session, identity, problem=exc)
    cookie, _ = accounts.start_session(session, user)
    response = RedirectResponse("/settings", 303)
    _set_cookie(request, response, cookie)
    return response


@router.post("/settings/tokens", response_class=HTMLResponse)
def new_token(
    request: Request,
    identity: SignedIn,
    session: Writing,
    project: Annotated[str, Form()],
    label: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    viewer = viewer_for(session, identity.user, project)
    token = accounts.create_api_token(
        session, identity.user, viewer.project, label.strip(), actor=identity.user.username
    )
    command = field_login_command(str(request.base_url), viewer.project.slug, token)
    return _settings(request, session, identity, new_token=token, login_command=command)


def field_login_command(url: str, project: str, token: str) -> str:
    """What the crew types on the laptop: the token goes in on stdin (`--token-stdin`), as
    `echo` gives it in sh, cmd.exe and PowerShell alike. URL, slug and token need no quoting:
    the first is this base's own, the others are plain letters, digits, '-' and '_'."""
    return f"echo {token} | rushes field login {url.rstrip('/')} --project {project} --token-stdin"


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(token_id: int, identity: SignedIn, session: Writing) -> Response:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != identity.user.id:
        raise NotFoundError(N_("no token %(number)s"), number=token_id)
    accounts.revoke_api_token(session, token_id, identity.user, actor=identity.user.username)
    return RedirectResponse("/settings", 303)
