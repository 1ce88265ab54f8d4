"""`rushes verify` checks derivatives too: a damaged one is named, not served, and rebuilt."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from rushes.catalog.models import CustodyEvent, Derivative
from rushes.derivatives import MADE_BY
from rushes.pipeline.steps import STEPS
from tests.clips import make_video
from tests.conftest import Env


def processed(env: Env, tmp_path: Path) -> str:
    card = tmp_path / "card"
    card.mkdir()
    clip = make_video(card / "a.mp4", seconds=2)
    env.run("ingest", str(card), "-p", "p")
    env.run("process")
    return hashlib.sha256(clip.read_bytes()).hexdigest()


def made(env: Env, sha: str) -> dict[str, Derivative]:
    with env.open() as base, base.catalog.read() as session:
        rows = session.scalars(select(Derivative).where(Derivative.asset_sha256 == sha)).all()
        return {row.name: row for row in rows}


# files beside the catalog: one database each, the two tests cover both
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_damaged_and_missing_derivatives_are_named_and_rebuilt(env: Env, tmp_path: Path) -> None:
    sha = processed(env, tmp_path)
    rows = made(env, sha)
    folder = env.data_dir / "derivatives" / sha[:2] / sha
    for name, row in rows.items():  # each hash recorded when it was made
        assert row.details["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    poster = folder / "poster.webp"
    data = bytearray(poster.read_bytes())
    data[len(data) // 2] ^= 0xFF
    poster.write_bytes(bytes(data))  # same size, other content
    proxy = next(name for name in rows if name.startswith("proxy-"))
    (folder / proxy).unlink()

    result = env.run("verify", check=False)
    assert result.returncode == 1, result.stdout
    assert "originals checked: 1, failed: 0" in result.stdout
    assert f"derivatives checked: {len(rows)}, damaged: 2" in result.stdout
    assert (
        f"DAMAGED derivative {sha[:16]}/poster.webp: content does not match its recorded SHA-256"
        in result.stdout
    )
    assert f"DAMAGED derivative {sha[:16]}/{proxy}: missing" in result.stdout
    assert "`rushes process` rebuilds it" in result.stdout
    assert str(env.data_dir) not in result.stdout
    with env.open() as base, base.catalog.read() as session:
        verbs = set(session.scalars(select(CustodyEvent.verb)))
    assert "fixity-failed" not in verbs  # not evidence: no custody alarm
    assert made(env, sha)["poster.webp"].details["damaged"]

    env.run("process")  # verify queued the steps that made them again
    assert (folder / proxy).is_file()
    again = env.run("verify")
    assert f"derivatives checked: {len(rows)}, damaged: 0" in again.stdout
    assert not any("damaged" in row.details for row in made(env, sha).values())


# files beside the catalog: one database each, the two tests cover both
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_redo_rebuilds_a_damaged_derivative(env: Env, tmp_path: Path) -> None:
    sha = processed(env, tmp_path)
    strip = next(name for name in made(env, sha) if name.startswith("strip-"))
    path = env.data_dir / "derivatives" / sha[:2] / sha / strip
    path.write_bytes(path.read_bytes()[:100])
    assert env.run("verify", check=False).returncode == 1
    env.run("process", "--redo", "--step", "thumbnails")
    assert "damaged: 0" in env.run("verify").stdout


def test_a_derivative_made_before_hashes_gets_one_on_first_verify(env: Env, tmp_path: Path) -> None:
    sha = processed(env, tmp_path)
    with env.open() as base, base.catalog.write() as session:
        rows = session.scalars(select(Derivative)).all()
        for row in rows:
            row.details = {k: v for k, v in row.details.items() if k != "sha256"}
    first = env.run("verify").stdout
    assert f"hash recorded for the first time: {len(rows)}" in first
    assert all("sha256" in row.details for row in made(env, sha).values())
    assert "first time" not in env.run("verify").stdout


def test_each_derivative_kind_names_the_step_that_rebuilds_it() -> None:
    assert set(MADE_BY) == {"proxy", "poster", "strip"}
    assert set(MADE_BY.values()) <= {step.name for step in STEPS}
