"""Formats by the names people know ("QuickTime", "WebM"), not FFmpeg's demuxer names, on the
player page and in `rushes assets`; the catalog keeps the probed name untouched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import Arrival, Asset
from rushes.ingest import Ingest
from rushes.media.formats import friendly
from rushes.pipeline.runner import run_inline
from tests.clips import VIDEO_CODECS, make_video
from tests.conftest import Env
from tests.web.conftest import Client, Team

RAW = "mov,mp4,m4a,3gp,3g2,mj2"


def test_the_mapping_names_each_variant() -> None:
    assert friendly(RAW, "DCIM/C0001.MP4") == "MP4"
    assert friendly(RAW, "IMG_0001.MOV") == "QuickTime"
    assert friendly(RAW, r"card\VOICE.m4a") == "M4A"
    assert friendly(RAW) == "MP4"
    assert friendly("matroska,webm", "a.webm") == "WebM"
    assert friendly("matroska,webm", "a.mkv") == "Matroska"
    assert friendly("jpeg") == friendly("jpeg_pipe") == "JPEG"
    assert friendly("image2", "x.PNG") == "PNG"
    assert friendly("something_new") == "something_new"  # unknown: shown as probed
    assert friendly(None) == ""


def test_pages_and_the_cli_show_friendly_format_names(
    base: Base, env: Env, login: Callable[..., Client], team: Team, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    names = {"a.mp4": "MP4", "b.mov": "QuickTime", "c.webm": "WebM", "d.mkv": "Matroska"}
    for seed, name in enumerate(names):
        make_video(card / name, seed=seed, codec=VIDEO_CODECS[Path(name).suffix][0])
    Ingest(base, project="film", crew="karim", actor="karim").run(walk([card]))
    with base.catalog.read() as session:
        shas = {
            Path(path).name: sha
            for sha, path in session.execute(select(Arrival.asset_sha256, Arrival.path))
        }
    run_inline(base, ["probe"], list(shas.values()))
    with base.catalog.read() as session:
        probed = {a.sha256: a.media["container"] for a in session.scalars(select(Asset))}
    assert probed[shas["b.mov"]] == RAW  # the catalog keeps FFmpeg's own name
    dina = login("dina")
    for name, shown in names.items():
        page = dina.get(f"/p/film/a/{shas[name]}").text
        assert f"<dt>Format</dt><dd>{shown} ·" in page, name
        assert "mov,mp4" not in page and "matroska,webm" not in page, name
    listed = env.run("assets", "--project", "film").stdout
    assert "mov,mp4" not in listed and "matroska,webm" not in listed
    for name, shown in names.items():
        assert any(shas[name][:16] in line and shown in line for line in listed.splitlines())
