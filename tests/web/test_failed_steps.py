"""An asset whose pipeline step failed says so on its card and on the status page, with the
reason and without the server's file paths."""

from __future__ import annotations

import html
from collections.abc import Callable

from rushes.base import Base
from rushes.pipeline.runner import requeue, run_inline
from tests.web.conftest import Footage


def test_a_failed_step_shows_on_the_card_and_the_status_page(
    base: Base, footage: Footage, login: Callable
) -> None:
    sha = footage.karim[0]
    original = base.vault.local_path(sha)
    original.unlink()  # lost after it was probed: the next thumbnails run fails
    requeue(base, ["thumbnails"], outdated_only=False, assets=[sha])
    assert run_inline(base, ["thumbnails"], [sha])[0].status == "failed"
    server_dir = str(original.parent.parent.parent)

    dina = login("dina")
    grid = dina.get("/p/film/").text
    card = grid[grid.index(f'data-sha="{sha}"') :].split("</li>", 1)[0]
    assert "1 step failed" in card
    assert "thumbnails: [Errno 2] No such file or directory: &#39;[path]&#39;" in card
    assert server_dir not in html.unescape(grid)
    others = grid[grid.index(f'data-sha="{footage.others[0]}"') :].split("</li>", 1)[0]
    assert "failed" not in others
    listed = dina.get("/api/p/film/assets").json()
    found = next(c for c in listed["assets"] if c["sha256"] == sha)
    assert found["failed_steps"][0]["step"] == "thumbnails"
    assert "[path]" in found["failed_steps"][0]["reason"]

    ada = login("ada")
    status = ada.get("/api/status").json()
    assert status["failed_assets"] == 1 and status["failed"][0]["sha256"] == sha
    page = html.unescape(ada.get("/status").text)
    assert "Failed pipeline steps" in page and sha[:16] in page
    assert "No such file or directory: '[path]'" in page and server_dir not in page
