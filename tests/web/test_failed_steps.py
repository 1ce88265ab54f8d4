"""An asset whose pipeline step failed says so on its card and on the status page, with the
reason and without the server's file paths."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable
from pathlib import Path

from rushes.base import Base
from rushes.cards import walk
from rushes.ingest import Ingest
from rushes.pipeline.runner import requeue, run_inline
from tests.web.conftest import Footage, Team


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


def test_a_clip_the_pipeline_cannot_read_says_why_on_its_player(
    base: Base, team: Team, tmp_path: Path, login: Callable
) -> None:
    """Not "no proxy yet, reload later" for ever: the player names the steps that failed."""
    card = tmp_path / "card"
    card.mkdir()
    broken = card / "CLIP0001.MP4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    Ingest(base, project="film", crew="karim", actor="karim").run(walk([card]))
    sha = hashlib.sha256(broken.read_bytes()).hexdigest()
    run_inline(base, ["probe", "proxy"], [sha])

    karim = login("karim")
    page = html.unescape(karim.get(f"/p/film/a/{sha}").text)
    assert "the pipeline failed on this file" in page and "Reload later" not in page
    listed = page[page.index('id="failed-steps"') :].split("</ul>", 1)[0]
    assert "probe: " in listed, listed
    dina = login("dina")  # may share: but not a clip with no picture
    shown = dina.get(f"/p/film/a/{sha}").text
    assert 'id="share-form"' not in shown and 'id="no-share"' in shown
    # Nothing to play: nothing to mark, scrub, redact or circle either; notes still welcome.
    for tool in ('id="scrub"', 'id="redactions"', 'id="select-form"', 'id="timecode"'):
        assert tool not in shown, tool
    assert 'id="note-form"' in shown
    refused = dina.post(f"/p/film/a/{sha}/shares", data={"csrf": dina.csrf, "to": "a", "why": "b"})
    assert refused.status_code == 400 and "only a video clip" in refused.text
    arabic = html.unescape(karim.get(f"/p/film/a/{sha}", headers={"Accept-Language": "ar"}).text)
    notice = arabic[arabic.index('id="no-proxy"') :].split("</div>", 1)[0]
    assert "أخفقت المعالجة في هذا الملف" in notice and "الفحص: " in notice, notice
    assert "مبتور: فهرس MP4" in notice and "truncated" not in notice, notice
