"""Browser sessions end after a spell of disuse (12 hours by default) and at an absolute
lifetime (14 days), both settings; use keeps a session alive. Time passing is simulated by
moving the session's recorded times back, as a clock would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import uvicorn
from sqlalchemy import select, update

from rushes.base import Base, open_base
from rushes.catalog.models import WebSession, utcnow
from rushes.settings import load
from rushes.web.app import create_app
from tests.conftest import Env
from tests.tls import TLS
from tests.web.conftest import PASSWORD, Client, Team
from tests.web.test_status import free_port


def _age(base: Base, **ago: timedelta) -> None:
    """Move every session's times (created_at, last_seen_at) this far into the past."""
    with base.catalog.write() as session:
        session.execute(update(WebSession).values({k: utcnow() - v for k, v in ago.items()}))


def test_a_session_ends_after_disuse_and_at_its_absolute_end(
    base: Base, team: Team, login: Callable[..., Client]
) -> None:
    dina = login("dina")
    _age(base, last_seen_at=timedelta(hours=11, minutes=50))
    assert dina.get("/api/p/film/assets").status_code == 200
    with base.catalog.read() as session:
        seen = session.scalar(select(WebSession.last_seen_at))
    assert seen is not None and utcnow() - seen < timedelta(minutes=1), "use keeps it alive"

    _age(base, last_seen_at=timedelta(hours=12, minutes=1))
    assert dina.get("/api/p/film/assets").status_code == 401
    assert dina.get("/p/film/").headers["location"].startswith("/login")

    busy = login("dina")
    _age(base, created_at=timedelta(days=14, minutes=1), last_seen_at=timedelta(minutes=1))
    assert busy.get("/api/p/film/assets").status_code == 401


def test_the_limits_are_settings(env: Env, team: Team) -> None:
    settings = load({**env.vars, "RUSHES_SESSION_IDLE_MINUTES": "30"})
    port = free_port()
    with open_base(settings) as base:
        server = uvicorn.Server(
            uvicorn.Config(create_app(base), port=port, log_level="warning", proxy_headers=False)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            while not server.started:
                time.sleep(0.02)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", verify=TLS) as client:
                signed = client.post("/login", data={"username": "dina", "password": PASSWORD})
                assert signed.status_code == 303
                assert "max-age=1209600" in signed.headers["set-cookie"].lower()  # 336 hours
                assert client.get("/api/p/film/assets").status_code == 200
                _age(base, last_seen_at=timedelta(minutes=31))
                assert client.get("/api/p/film/assets").status_code == 401
        finally:
            server.should_exit = True
            thread.join(timeout=10)
