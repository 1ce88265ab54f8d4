"""`rushes serve` as a newcomer runs it: a real process that serves and processes footage."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from rushes.catalog.models import StepState
from tests.clips import make_video
from tests.conftest import RUSHES, Env
from tests.tls import TLS
from tests.web.test_status import free_port


def test_serve_processes_new_footage_in_the_background(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    make_video(card / "a.mp4", seconds=2)
    env.run("ingest", str(card), "-p", "p")
    port = free_port()
    server = subprocess.Popen(
        [*RUSHES, "serve", "--port", str(port)],
        env={**env.vars, "RUSHES_WORKERS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        statuses: set[str] = set()
        while time.monotonic() < deadline:
            with env.open() as base, base.catalog.read() as session:
                statuses = {r.status for r in session.scalars(select(StepState))}
            if statuses == {"done"}:
                break
            time.sleep(0.5)
        assert statuses == {"done"}
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", verify=TLS).json()["status"] == "ok"
        # An empty base prints a one-time link that makes the first admin.
        assert server.stdout is not None
        printed = []  # up to uvicorn's own banner, which comes after the link
        while not printed or "Uvicorn running on" not in printed[-1]:
            printed.append(server.stdout.readline())
        link = next(line for line in printed if "/setup?token=" in line).split()[-1]
        said = "".join(printed)  # where it keeps what, the catalog without its password
        assert f"originals: {env.vault}" in said and "pipeline: 1 local worker" in said
        assert "catalog: sqlite:///" in said or "catalog: postgresql+psycopg://" in said
        assert link.startswith(f"http://127.0.0.1:{port}/setup?token=")
        token = link.split("token=")[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", verify=TLS) as client:
            assert client.get(link).status_code == 200
            made = client.post(
                "/setup", data={"token": token, "username": "ada", "password": "a long password"}
            )
            assert made.status_code == 303 and made.headers["location"] == "/admin"
            assert client.get("/admin").status_code == 200
            again = client.post(
                "/setup", data={"token": token, "username": "eve", "password": "a long password"}
            )
            assert again.status_code == 410
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode in (0, -signal.SIGTERM), output  # uvicorn re-raises SIGTERM
    assert "Application shutdown complete" in output
