"""The authorization walk for bearer tokens and the tus server.

Every route of tests/web/test_authorization.py's table, sent with the field-kit token of each
account (ada, dina, ivan, karim in "film"; omar in "other"), and every tus route for the
account that made the upload, another crew of its project, another project and no one. A
token reaches only what the field kit calls; everything else answers 403.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import Mount

from rushes.base import Base
from rushes.catalog.models import Project, User
from rushes.review import accounts
from rushes.review.access import Role
from rushes.web.app import create_app
from rushes.web.auth import FIELD_KIT_ROUTES
from tests.tls import TLS
from tests.upload.conftest import encode, headers
from tests.web.conftest import Client, Footage, Team
from tests.web.test_authorization import CASES, setup_world

HOLDERS = ("ada", "dina", "ivan", "karim", "rami", "omar")
# Routes anyone may call: a token answers as its owner's browser would.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/setup"), ("POST", "/setup")}
PUBLIC |= {("GET", "/healthz"), ("GET", "/favicon.ico")}
# The tus server, mounted at /files (not in OpenAPI): every route, for each caller, with the
# upload made by karim. Columns: anonymous, karim (its owner), rami (another crew of "film"),
# dina (director of "film"), omar (another project).
TUS_CALLERS = ("anonymous", "karim", "rami", "dina", "omar")
TUS = {
    ("OPTIONS", "/"): (204, 204, 204, 204, 204),
    ("POST", "/"): (401, 201, 201, 201, 201),
    ("OPTIONS", "/{upload_id}"): (204, 204, 204, 204, 204),
    ("HEAD", "/{upload_id}"): (401, 200, 404, 404, 404),
    ("PATCH", "/{upload_id}"): (401, 204, 404, 404, 404),
    ("DELETE", "/{upload_id}"): (401, 204, 404, 404, 404),
}
DATA = b"a field clip's bytes"


def token_expectation(method: str, route: str, owner_code: int, holder: str) -> int:
    if (method, route) in PUBLIC:
        return owner_code
    if route in FIELD_KIT_ROUTES:
        in_film = holder != "omar" or route == "/api/me/notes"
        return owner_code if in_film else 403  # a token belongs to one project
    return 403


def make_token(base: Base, username: str, slug: str) -> str:
    with base.catalog.write() as session:
        user = session.scalar(select(User).where(User.username == username))
        project = session.scalar(select(Project).where(Project.slug == slug))
        return accounts.create_api_token(session, user, project, "walk")


@pytest.mark.slow
def test_each_token_reaches_only_the_field_kits_routes(
    base: Base, team: Team, footage: Footage, login: Callable[..., Client], tmp_path: Path
) -> None:
    world = setup_world(base, footage, tmp_path / "shared")
    tokens = {h: make_token(base, h, "other" if h == "omar" else "film") for h in HOLDERS}
    client = login(None)
    wrong: list[str] = []
    for case, holder in itertools.product(CASES, HOLDERS):
        if not case.route:
            continue  # the cross-project rows: any token is refused before the path counts
        owner_code = case.expect[holder]
        if (case.method, case.route) == ("GET", "/login"):
            owner_code = 303  # signed in by the token: sent on
        expected = token_expectation(case.method, case.route, owner_code, holder)
        values = {**world.ids, **(case.fresh(world, holder) if case.fresh else {})}
        path = (case.path or case.route).format(**values)
        sent: dict[str, Any] = {"headers": {"Authorization": f"Bearer {tokens[holder]}"}}
        if case.method != "GET":
            if case.json is not None:
                sent["content"] = json.dumps(case.json(world))
                sent["headers"]["Content-Type"] = "application/json"
            else:
                data = case.data(world) if callable(case.data) else dict(case.data or {})
                if case.route == "/login":
                    data["username"] = holder
                sent["data"] = data
        answer = client.request(case.method, path, **sent)
        if answer.status_code != expected:
            wrong.append(
                f"{case.method} {path} with {holder}'s token: {answer.status_code}, "
                f"expected {expected} ({answer.text[:120]!r})"
            )
    assert not wrong, "\n".join(wrong)


def tus_routes(base: Base) -> set[tuple[str, str]]:
    mounted = next(r for r in create_app(base).routes if isinstance(r, Mount))
    inner = mounted.app.app  # type: ignore[attr-defined] # _TusHeaders around the Starlette app
    # Starlette adds HEAD wherever GET is allowed; the tus routes allow no GET.
    return {(m, r.path) for r in inner.routes for m in r.methods or ()}


def test_every_tus_route_has_a_row(base: Base) -> None:
    assert tus_routes(base) == set(TUS), "tus routes and their rows differ"


def test_each_caller_gets_exactly_its_status_on_every_tus_route(
    base: Base, team: Team, server: str
) -> None:
    with base.catalog.write() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        rami = accounts.create_user(session, "rami", "correct horse battery")
        accounts.add_member(session, film, rami, Role.CREW)
    tokens = {c: make_token(base, c, "other" if c == "omar" else "film") for c in TUS_CALLERS[1:]}
    wrong: list[str] = []
    for (method, route), codes in TUS.items():
        for caller, expected in zip(TUS_CALLERS, codes, strict=True):
            made = httpx.post(f"{server}/files/", headers=creation(tokens["karim"]), verify=TLS)
            assert made.status_code == 201, made.text
            url = f"{server}/files/" if route == "/" else made.headers["Location"]
            token = tokens.get(caller)
            sent = creation(token) if method == "POST" and token else headers(token or "")
            if token is None:
                sent.pop("Authorization")
            body = b""
            if method == "PATCH":
                sent |= {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
                body = DATA
            answer = httpx.request(method, url, headers=sent, content=body, verify=TLS)
            if answer.status_code != expected:
                wrong.append(
                    f"{method} {route} as {caller}: {answer.status_code}, expected {expected}"
                )
            # Karim's open uploads are limited (settings.open_uploads): end each cell's.
            for made_now in {made.headers["Location"], answer.headers.get("Location")} - {None}:
                gone = httpx.delete(
                    urljoin(url, made_now), headers=headers(tokens["karim"]), verify=TLS
                )
                assert gone.status_code in (204, 404), gone.text
    assert not wrong, "\n".join(wrong)


def creation(token: str) -> dict[str, str]:
    meta = encode(kind="original", sha256=hashlib.sha256(DATA).hexdigest(), filename="c.mp4")
    return {**headers(token), "Upload-Length": str(len(DATA)), "Upload-Metadata": meta}
