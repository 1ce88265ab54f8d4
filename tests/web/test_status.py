"""The base's status page and JSON API over real HTTP, served by uvicorn on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from rushes.base import Base
from rushes.ingest import Ingest, walk
from rushes.web.app import create_app
from tests.clips import make_video


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(base: Base) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(base), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_status_page_and_api_list_assets_without_sensitive_metadata(
    base: Base, server: str, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    make_video(
        card / "a.mp4",
        gps=(36.2, 37.1),
        creation_time=datetime(2016, 4, 12, tzinfo=UTC),
        make="Apple",
        model="iPhone 6",
    )
    (card / "<img src=x onerror=alert(1)>.txt").write_text("not media")
    Ingest(base, project="p", actor="t").run(walk([card]))

    page = httpx.get(server + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "2</strong> originals" in page.text
    assert "<img" not in page.text
    assert len(page.content) < 150_000

    listed = httpx.get(server + "/api/assets").json()["assets"]
    assert {a["kind"] for a in listed} == {"video", "other"}
    video = next(a for a in listed if a["kind"] == "video")
    assert "location" not in video["media"] and "device" not in video["media"]
    assert "Apple" not in httpx.get(server + f"/api/assets/{video['sha256']}").text
    assert "36.2" not in httpx.get(server + "/api/assets").text

    status = httpx.get(server + "/api/status").json()
    assert status["assets"] == 2 and status["custody_events"] == 4  # 2 received + 2 probes
    assert httpx.get(server + "/api/assets/000000").status_code == 404
    assert httpx.get(server + "/api/assets/nothex").status_code == 404
    assert httpx.get(server + "/static/rushes.css").status_code == 200
