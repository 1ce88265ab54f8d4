"""Errors as the caller expects them: JSON under /api/, a short page elsewhere, and a redirect
to the sign-in page for a page that needs an account."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from rushes.errors import (
    AccessDenied,
    InvalidInput,
    LoginThrottled,
    NotFoundError,
    OriginalDamaged,
    RushesError,
    StoreUnavailable,
    TooLarge,
)
from rushes.i18n import N_, Text
from rushes.web.auth import SignInRequired
from rushes.web.dependencies import page
from rushes.web.language import said

RETRY = {"Retry-After": "2"}
STORE_RETRY = {"Retry-After": "30"}
log = logging.getLogger(__name__)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def respond(
    request: Request, status: int, message: str | RushesError, headers: dict | None = None
) -> Response:
    """`message`: a text marked with N_, or an error carrying its marked template and values;
    in JSON, English (`detail`, for programs) and the page's language (`message`, for the
    pages' scripts); the page's language in a page (error.html: `|t`)."""
    if wants_json(request):
        answer = {"detail": str(message), "message": said(request, message)}
        return JSONResponse(answer, status, headers=headers)
    referer = request.headers.get("referer", "")
    back = referer if referer.startswith(str(request.base_url)) else "/"  # this site's only
    context = {"status": status, "message": message, "back": back}
    return page(request, "error.html", context, status, headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": exc.reason}, 401, headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return respond(request, 404, exc)

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> Response:
        return respond(request, 400, exc)

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> Response:
        return respond(request, 413, exc)

    @app.exception_handler(OriginalDamaged)
    async def damaged(request: Request, exc: OriginalDamaged) -> Response:
        return respond(request, 409, exc)

    @app.exception_handler(AccessDenied)
    async def denied(request: Request, exc: AccessDenied) -> Response:
        return respond(request, 403, exc)

    @app.exception_handler(LoginThrottled)
    async def throttled(request: Request, exc: LoginThrottled) -> Response:
        return respond(request, 429, exc, {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def unreadable(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if not errors:
            return respond(request, 400, N_("the request could not be read"))
        unread = InvalidInput(
            N_("the request could not be read: %(problem)s"), problem=_why(errors[0])
        )
        return respond(request, 400, unread)

    @app.exception_handler(OverflowError)
    async def too_big(request: Request, _exc: OverflowError) -> Response:
        return respond(request, 400, N_("a number or date in the request is out of range"))

    @app.exception_handler(StatementError)
    async def unstorable(request: Request, exc: StatementError) -> Response:
        """An id or figure too large for the database (SQLite: OverflowError; PostgreSQL: a
        data error) is the caller's mistake; anything else stays a server error."""
        if isinstance(exc, DataError) or isinstance(exc.orig, OverflowError):
            return respond(request, 400, N_("a number in the request is out of range"))
        raise exc

    @app.exception_handler(PoolTimeout)
    async def busy(request: Request, _exc: PoolTimeout) -> Response:
        """Every database connection stayed busy for the wait allowed: come back shortly."""
        return respond(request, 503, N_("the base is busy; try again in a moment"), RETRY)

    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc: StoreUnavailable) -> Response:
        """The S3 store does not answer: a retry later will do, and the store's address is for
        the log (the status page shows it to admins), not for every viewer."""
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return respond(
            request, 503, N_("the media store does not answer; try again in a minute"), STORE_RETRY
        )

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, _exc: ClientDisconnect) -> Response:
        """The body stopped coming (the client left, or was too slow: rushes.web.limits)."""
        return respond(request, 408, N_("the request body did not arrive in time"))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return respond(request, exc.status_code, str(exc.detail), exc.headers)


# FastAPI's checks of a request (pydantic's error types) in words a page translates.
VALIDATION = {
    "missing": N_("%(field)s is missing"),
    "string_too_long": N_("%(field)s: at most %(max_length)s characters"),
    "string_too_short": N_("%(field)s: at least %(min_length)s characters"),
    "int_parsing": N_("%(field)s: not a whole number"),
    "int_from_float": N_("%(field)s: not a whole number"),
    "float_parsing": N_("%(field)s: not a number"),
    "greater_than": N_("%(field)s: must be more than %(gt)s"),
    "greater_than_equal": N_("%(field)s: must be at least %(ge)s"),
    "less_than": N_("%(field)s: must be less than %(lt)s"),
    "less_than_equal": N_("%(field)s: must be at most %(le)s"),
    "json_invalid": N_("the body is not valid JSON"),
    "dict_type": N_("%(field)s: not a JSON object"),
    "model_attributes_type": N_("%(field)s: not a JSON object"),
    "list_type": N_("%(field)s: not a list"),
    "string_type": N_("%(field)s: not text"),
    "bool_parsing": N_("%(field)s: not true or false"),
    "bool_type": N_("%(field)s: not true or false"),
}


def _why(error: dict) -> Text:
    """One of FastAPI's validation errors as a marked message; its own English otherwise."""
    named = ".".join(str(p) for p in error.get("loc", ())[1:])
    field = named or Text(N_("the request"))
    template = VALIDATION.get(error.get("type", ""))
    if template is None:
        return Text(N_("%(field)s: %(reason)s"), field=field, reason=error.get("msg", ""))
    context = {
        k: v if isinstance(v, int | float) else str(v) for k, v in error.get("ctx", {}).items()
    }
    return Text(template, **context, field=field)
