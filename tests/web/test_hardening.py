"""Browser hardening: security headers on every response, no login from an `Origin: null`
document, the OpenAPI map for site admins only, and forwarded headers believed only from the
configured reverse proxies (so Secure cookies behind TLS, and no forged client addresses)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import LoginFailure
from rushes.web.app import create_app
from tests.conftest import RUSHES, Env
from tests.tls import TLS
from tests.web.conftest import PASSWORD, Client, Team
from tests.web.test_status import free_port

HARDENING = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def test_every_kind_of_response_carries_the_hardening_headers(
    team: Team, login: Callable[..., Client]
) -> None:
    anonymous, dina = login(None), login("dina")
    answers = {
        "page": anonymous.get("/login"),
        "redirect": anonymous.get("/p/film/"),
        "api 401": anonymous.get("/api/p/film/assets"),
        "health": anonymous.get("/healthz"),
        "static": anonymous.get("/static/rushes.css"),
        "tus": anonymous.options("/files/"),
        "404 page": dina.get("/p/nowhere/"),
        "api": dina.get("/api/p/film/assets"),
        "dashboard": dina.get("/p/film/dashboard"),
        "palette": dina.get("/dashboard/palette.css"),
    }
    for what, answer in answers.items():
        assert answer.status_code < 500, what
        for name, value in HARDENING.items():
            assert answer.headers.get(name) == value, (what, name, answer.headers.get(name))
        csp = answer.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, (what, csp)
        assert "unsafe-inline" not in csp, what
    assert answers["palette"].headers["content-type"].startswith("text/css")


def test_login_from_an_origin_null_document_is_refused(
    team: Team, login: Callable[..., Client]
) -> None:
    client = login(None)
    form = {"username": "dina", "password": PASSWORD}
    refused = client.post("/login", data=form, headers={"Origin": "null"})
    assert refused.status_code == 403
    assert "rushes_session" not in refused.cookies
    signed = client.post("/login", data=form, headers={"Origin": str(client.base_url)})
    assert signed.status_code == 303


def test_the_openapi_description_is_for_site_admins_only(
    base: Base, team: Team, login: Callable[..., Client]
) -> None:
    anonymous = login(None)
    assert anonymous.get("/openapi.json", headers={"Accept": "application/json"}).status_code == 401
    assert anonymous.get("/openapi.json").status_code == 303  # to the sign-in page
    assert login("dina").get("/openapi.json").status_code == 403
    described = login("ada").get("/openapi.json")
    assert described.status_code == 200 and "/api/p/{slug}/assets" in described.json()["paths"]
    assert "/api/p/{slug}/assets" in create_app(base).openapi()["paths"]


@contextmanager
def serving(env: Env, **settings: str) -> Iterator[str]:
    """`rushes serve` in its own process, as an operator runs it, with extra settings."""
    port = free_port()
    server = subprocess.Popen(
        [*RUSHES, "serve", "--port", str(port)],
        env={**env.vars, "RUSHES_WORKERS": "1", **settings},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=2, verify=TLS)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("rushes serve did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def _failures(env: Env) -> list[str]:
    with env.open() as base, base.catalog.read() as session:
        return list(session.scalars(select(LoginFailure.address).order_by(LoginFailure.id)))


# headers read by the web layer, whatever the catalog
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_forwarded_headers_are_believed_only_from_configured_proxies(env: Env) -> None:
    env.run("user", "add", "dina", "--password-stdin", input=PASSWORD + "\n")
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    form = {"username": "dina", "password": PASSWORD}
    wrong = {"username": "dina", "password": "not the password"}

    with serving(env) as url:  # no proxy configured: a loopback caller forges nothing
        answer = httpx.post(f"{url}/login", data=form, headers=proxied, verify=TLS)
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" not in cookie
        refused = httpx.post(f"{url}/login", data=wrong, headers=proxied, verify=TLS)
        assert refused.status_code == 401
    assert _failures(env) == ["127.0.0.1"]

    with serving(env, RUSHES_TRUSTED_PROXIES="127.0.0.1") as url:  # behind a TLS proxy
        answer = httpx.post(f"{url}/login", data=form, headers=proxied, verify=TLS)
        assert answer.status_code == 303
        assert "secure" in answer.headers["set-cookie"].lower()
        refused = httpx.post(f"{url}/login", data=wrong, headers=proxied, verify=TLS)
        assert refused.status_code == 401
    assert _failures(env)[-1:] == ["203.0.113.9"]  # the success above cleared the first
