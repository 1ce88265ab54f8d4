"""`rushes assets`, `show` and `dups` say what the pipeline could not do, never silently."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.clips import make_flat_video, make_video
from tests.conftest import Env


def ingested(env: Env, tmp_path: Path, seconds: float = 2) -> str:
    card = tmp_path / "card"
    card.mkdir()
    clip = make_video(card / "a.mp4", seconds=seconds)
    env.run("ingest", str(card), "-p", "p", "--crew", "rami")
    return hashlib.sha256(clip.read_bytes()).hexdigest()


def test_failed_steps_are_listed_with_reasons_and_no_server_paths(env: Env, tmp_path: Path) -> None:
    sha = ingested(env, tmp_path)
    (env.vault / "originals" / sha[:2] / sha[2:4] / sha).unlink()  # probed, then lost
    assert env.run("process", check=False).returncode == 1

    listed = env.run("assets").stdout
    row = next(line for line in listed.splitlines() if sha[:16] in line)
    assert "thumbnails" in row and "proxy" in row
    found = json.loads(env.run("assets", "--json").stdout.splitlines()[0])
    steps = {f["step"]: f["reason"] for f in found["failed_steps"]}
    assert set(steps) == {"thumbnails", "fingerprint", "shots", "proxy"}
    assert all("No such file or directory" in r and "[path]" in r for r in steps.values())
    assert str(env.data_dir) not in json.dumps(found)

    shown = env.run("show", sha[:12]).stdout
    pipeline = shown[shown.index("pipeline") :]
    assert str(env.data_dir) not in pipeline
    for line in ("thumbnails", "fingerprint", "shots", "proxy"):
        step_row = next(r for r in pipeline.splitlines() if f" {line} " in r)
        assert "failed" in step_row and "No such file or directory: '[path]'" in step_row
    assert "near-duplicates" in pipeline and "fingerprint failed" in pipeline
    doc = json.loads(env.run("show", sha[:12], "--json").stdout)
    assert {s["step"]: s["status"] for s in doc["steps"]}["proxy"] == "failed"

    dups = env.run("dups", sha[:12]).stdout
    assert "cannot be compared: the fingerprint step failed" in dups
    assert str(env.data_dir) not in dups


def test_show_lists_every_step_the_shots_and_how_each_copy_came(env: Env, tmp_path: Path) -> None:
    sha = ingested(env, tmp_path)
    env.run("process")
    shown = env.run("show", sha[:12]).stdout
    assert "ingest (card or drive at the base)" in shown
    for step in ("probe", "thumbnails", "fingerprint", "near-duplicates", "shots", "proxy"):
        assert any(f" {step} " in r and " done " in r for r in shown.splitlines()), step
    doc = json.loads(env.run("show", sha[:12], "--json").stdout)
    assert doc["shots"] and doc["shots"][0]["start_frame"] == 0
    assert f"shots: {len(doc['shots'])}" in shown
    assert [a["via"] for a in doc["arrivals"]] == ["ingest"]


# what a clip's frames allow, whatever the catalog
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dups_says_when_a_clip_is_too_short_to_compare(env: Env, tmp_path: Path) -> None:
    sha = ingested(env, tmp_path, seconds=0.4)
    assert "not fingerprinted yet" in env.run("dups", sha[:12]).stdout
    env.run("process")
    out = env.run("dups", sha[:12]).stdout
    assert "cannot be compared: only 12 frames over 0.37 s were fingerprinted" in out
    assert "no other copies found" not in out
    doc = json.loads(env.run("dups", sha[:12], "--json").stdout)
    assert doc["not_comparable"].startswith("only 12 frames")


# what a clip's frames allow, whatever the catalog
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_dups_says_when_a_flat_clip_has_nothing_to_compare(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    clip = make_flat_video(card / "black.mp4")
    env.run("ingest", str(card), "-p", "p")
    env.run("process")
    sha = hashlib.sha256(clip.read_bytes()).hexdigest()
    out = env.run("dups", sha[:12]).stdout
    assert "cannot be compared: no frame could be fingerprinted (a flat or black picture" in out


def test_a_file_that_is_no_media_is_said_so_once(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    (card / "notes.bin").write_bytes(bytes(range(256)) * 64)
    env.run("ingest", str(card), "-p", "p")
    (row,) = (line for line in env.run("assets").stdout.splitlines() if "other" in line)
    assert row.count("not a media file") == 1, row
    sha = json.loads(env.run("assets", "--json").stdout)["sha256"]
    assert "an other asset has no pictures to compare" in env.run("dups", sha[:12]).stdout
