"""The health check and the base's status page over real HTTP, served by uvicorn on loopback."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from rushes.base import Base
from rushes.cards import walk
from rushes.ingest import Ingest
from tests.clips import make_video


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_is_public_and_status_is_for_site_admins(
    base: Base, team: object, login: Callable, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    make_video(card / "a.mp4")
    (card / "<img src=x onerror=alert(1)>.txt").write_text("not media")
    Ingest(base, project="film", actor="t").run(walk([card]))

    anonymous = login(None)
    assert anonymous.get("/healthz").json()["status"] == "ok"
    assert anonymous.get("/api/status").status_code == 401
    assert anonymous.get("/status").status_code == 303
    assert login("dina").get("/api/status").status_code == 403

    admin = login("ada")
    status = admin.get("/api/status").json()
    assert status["assets"] == 2 and status["custody_events"] == 4  # 2 received + 2 probes
    assert status["projects"] == 2
    page = admin.get("/status")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<strong>2</strong> originals" in page.text
    assert len(page.content) < 150_000
    assert admin.get("/static/rushes.css").status_code == 200
