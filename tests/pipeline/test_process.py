"""`rushes process` over real footage, through the real command and a real process pool."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import av
import pytest
from sqlalchemy import delete, select, update

from rushes.catalog.models import Asset, Derivative, NearDuplicate, StepState
from rushes.catalog.models import Fingerprint as FingerprintRow
from rushes.catalog.queries import cluster_of
from rushes.ingest import ensure_project, record_manifest
from rushes.pipeline.runner import WORKER_NICENESS, StepTimeout, _deadline, local_executor
from rushes.pipeline.steps import (
    Work,
    judge_pairs,
    record_pairs,
    run_fingerprint,
    run_near_duplicates,
)
from rushes.settings import load
from tests.clips import make_audio, make_video, truncate_copy
from tests.conftest import RUSHES, Env
from tests.evalset.copies import Master, copy, master
from tests.evalset.sources import sources
from tests.shared import once


def sha_of(env: Env, path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def states(env: Env) -> dict[tuple[str, str], StepState]:
    with env.open() as base, base.catalog.read() as session:
        return {(r.asset_sha256, r.step): r for r in session.scalars(select(StepState))}


@pytest.fixture(scope="module")
def processed(request: pytest.FixtureRequest, fixtures_dir: Path) -> Env:
    """The 14 real clips ingested and processed once (SQLite), shared by the tests below."""
    return once(request, "processed-fixtures", lambda root: _processed(root, fixtures_dir))


def _processed(root: Path, fixtures_dir: Path) -> Env:
    env = Env(root / "data", f"sqlite:///{root / 'catalog.sqlite3'}")
    env.run("ingest", str(fixtures_dir), "-p", "p")
    result = env.run("process")
    assert "0 failed" in result.stdout, result.stdout
    return env


def test_fixture_families_form_two_clusters(processed: Env, fixtures_dir: Path) -> None:
    chair = {sha_of(processed, p) for p in fixtures_dir.glob("chair-*.mp4")}
    pattern = {sha_of(processed, p) for p in fixtures_dir.glob("pattern-*.mp4")}
    loners = {
        sha_of(processed, fixtures_dir / f"{n}.mp4")
        for n in ("doorknob-hd-no-bar", "test-padded-dimensions")
    }
    with processed.open() as base, base.catalog.read() as session:
        assert cluster_of(session, next(iter(chair))) == chair
        assert cluster_of(session, next(iter(pattern))) == pattern
        for sha in loners:
            assert cluster_of(session, sha) == {sha}
        labels = dict(session.execute(select(Asset.sha256, Asset.cluster)).all())
    # Lists fold copies by this label: each family carries its smallest hash, loners none.
    assert {labels[s] for s in chair} == {min(chair)}
    assert {labels[s] for s in pattern} == {min(pattern)}
    assert {labels[s] for s in loners} == {None}


def test_dups_lists_other_copies_with_segments(processed: Env, fixtures_dir: Path) -> None:
    trim = sha_of(processed, fixtures_dir / "chair-19-sd-bar.mp4")
    full = sha_of(processed, fixtures_dir / "chair-orig-22-sd-bar.mp4")
    found = json.loads(processed.run("dups", trim[:12], "--json").stdout)
    copy = next(c for c in found["copies"] if c["sha256"] == full)
    covered = sum(s[1] - s[0] for s in copy["segments"])
    assert covered > 15  # most of the 19 s trim is found inside the 22 s original
    table = processed.run("dups", trim[:12]).stdout
    assert full[:16] in table and "cluster: 7 assets" in table


def test_every_video_has_thumbnails_and_proxies(processed: Env, fixtures_dir: Path) -> None:
    with processed.open() as base, base.catalog.read() as session:
        rows = session.scalars(select(Derivative)).all()
        by_asset: dict[str, set[str]] = {}
        for row in rows:
            by_asset.setdefault(row.asset_sha256, set()).add(row.name)
            assert base.derivatives.path(row.asset_sha256, row.name).stat().st_size == row.size
    for clip in fixtures_dir.glob("*.mp4"):
        names = by_asset[sha_of(processed, clip)]
        assert {"proxy-360.mp4", "proxy-234.mp4", "poster.webp"} <= names
        assert sum(n.startswith("strip-") for n in names) >= 4
    proxy = processed.data_dir / "derivatives"
    sample = next(proxy.glob("*/*/proxy-360.mp4"))
    with av.open(str(sample)) as container:
        assert container.streams.video[0].codec_context.height == 360


def test_text_files_are_kept_and_their_media_steps_skipped(
    processed: Env, fixtures_dir: Path
) -> None:
    rows = states(processed)
    licence = sha_of(processed, fixtures_dir / "LICENSE.txt")
    assert rows[(licence, "probe")].status == "done"
    assert rows[(licence, "proxy")].status == "skipped"
    assert rows[(licence, "proxy")].error == "not for other assets"


def test_bad_media_gets_reasons_and_nothing_blocks(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    good = make_video(card / "good.mp4", seconds=2)
    truncate_copy(
        make_video(tmp_path / "long.mp4", seconds=3, faststart=True), card / "cut.mp4", 0.5
    )
    make_audio(card / "voice.m4a")
    make_video(card / "one-frame.mp4", seconds=1 / 30, audio=False)
    (card / "junk.mp4").write_bytes(b"\x00" * 3000)
    env.run("ingest", str(card), "-p", "p")
    result = env.run("process", check=False)
    rows = states(env)
    unfinished = [k for k, r in rows.items() if r.status in ("pending", "running")]
    assert unfinished == []
    junk = sha_of(env, card / "junk.mp4")
    assert rows[(junk, "probe")].error and rows[(junk, "fingerprint")].status == "skipped"
    voice = sha_of(env, card / "voice.m4a")
    assert rows[(voice, "thumbnails")].error == "not for audio assets"
    assert all(
        rows[(sha_of(env, good), s)].status == "done"
        for s in ("thumbnails", "fingerprint", "near-duplicates", "shots", "proxy")
    )
    failed = [(k, r.error) for k, r in rows.items() if r.status == "failed"]
    assert result.returncode == (1 if failed else 0), (result.stdout, failed)
    for (_, step), error in failed:
        assert error, f"{step} failed without a reason"
    # A cut-off file's proxy stops short: said where assets are listed, not only in the step.
    cut = sha_of(env, card / "cut.mp4")
    listed = [json.loads(line) for line in env.run("assets", "--json").stdout.splitlines()]
    notes = next(a["step_notes"] for a in listed if a["sha256"] == cut)
    assert any(n["step"] == "proxy" and " ends at " in n["note"] for n in notes), notes


def test_redo_and_outdated_rerun_one_step(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    make_video(card / "a.mp4")
    env.run("ingest", str(card), "-p", "p")
    env.run("process", "--step", "probe", "--step", "fingerprint")
    before = {k: r.attempts for k, r in states(env).items()}
    assert env.run("process", "--step", "fingerprint", "--outdated").stdout.startswith("0 steps")
    env.run("process", "--step", "fingerprint", "--redo")
    after = states(env)
    for (sha, step), row in after.items():
        if step == "fingerprint":
            assert row.attempts == before[(sha, step)] + 1 and row.status == "done"
        if step == "proxy":
            assert row.status == "pending"  # not asked for


def test_a_clip_known_from_a_manifest_waits_for_its_bytes_then_is_processed_whole(
    env: Env, tmp_path: Path
) -> None:
    """A field kit's manifest comes first on a bad link; a base restarted before the bytes
    came must not run the pipeline on the missing file (it once did, and the clip stayed
    "other", unplayable, when its bytes arrived), and the bytes' arrival runs it from the start."""
    card = tmp_path / "card"
    card.mkdir()
    clip = make_video(card / "A002.mp4")
    sha = sha_of(env, clip)
    with env.open() as base, base.catalog.write() as session:
        record_manifest(
            session, sha256=sha, size=clip.stat().st_size,
            project_id=ensure_project(base.catalog, "p"), crew="Rahed", source="card 3",
            raw_path=b"DCIM/A002.mp4", mtime_ns=None, actor="field",
        )  # fmt: skip
    assert "0 steps run, 0 failed" in env.run("process").stdout  # a restart queues what is here
    assert not [k for k in states(env) if k[0] == sha]
    with env.open() as base, base.catalog.write() as session:  # what an older base left
        session.add(StepState(asset_sha256=sha, step="probe", status="failed", error="missing"))
        session.get(Asset, sha).kind = "other"
    env.run("ingest", str(card), "-p", "p", "--source", "card 3")
    env.run("process")
    done = {step: row.status for (asset, step), row in states(env).items() if asset == sha}
    assert done["probe"] == done["proxy"] == done["fingerprint"] == "done", done
    with env.open() as base, base.catalog.read() as session:
        assert session.get(Asset, sha).kind == "video"


def test_a_probe_redone_after_a_fault_runs_the_steps_it_had_blocked(
    env: Env, tmp_path: Path
) -> None:
    """The fix a failed probe's reason suggests, `process --redo --step probe` once the fault
    is gone (a cluster's worker without the store's keys, say), brings the steps it blocked
    back too: the clip gets its thumbnails and proxy, instead of "skipped: probe failed"."""
    card = tmp_path / "card"
    card.mkdir()
    sha = sha_of(env, make_video(card / "a.mp4"))
    env.run("ingest", str(card), "-p", "p")
    with env.open() as base, base.catalog.write() as session:  # as the faulty worker left it
        for row in session.scalars(select(StepState).where(StepState.asset_sha256 == sha)):
            if row.step == "probe":
                row.status, row.error = "failed", "ConfigError: cannot reach the S3 store"
            elif row.step != "provenance":
                row.status, row.error = "skipped", "probe failed"
    env.run("process", "--redo", "--step", "probe")
    env.run("process")
    done = {step: row.status for (asset, step), row in states(env).items() if asset == sha}
    assert set(done.values()) == {"done"}, done
    (listed,) = (json.loads(line) for line in env.run("assets", "--json").stdout.splitlines())
    assert listed["failed_steps"] == []


def test_a_step_whose_need_is_not_run_waits_and_says_so(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    make_video(card / "a.mp4")
    env.run("ingest", str(card), "-p", "p")
    result = env.run("process", "--step", "near-duplicates", timeout=120)
    assert "0 steps run, 0 failed" in result.stdout
    assert "1 step waits for steps not run here" in result.stdout


def test_killed_process_run_resumes_where_it_stopped(
    env: Env, fixtures_dir: Path, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    for name in ("chair-19-sd-bar", "pattern-sd-grey-bar", "doorknob-hd-no-bar"):
        shutil.copy(fixtures_dir / f"{name}.mp4", card)
    env.run("ingest", str(card), "-p", "p")
    proc = subprocess.Popen(
        [*RUSHES, "process"],
        env=env.vars,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(r.status == "done" and s != "probe" for (_, s), r in states(env).items()):
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, mid-run
    proc.wait()
    assert any(r.status in ("running", "pending") for r in states(env).values())
    env.run("process")
    rows = states(env)
    assert {r.status for r in rows.values()} == {"done"}
    assert max(r.attempts for r in rows.values()) <= 2


def test_step_deadline_interrupts_a_hung_step() -> None:
    started = time.monotonic()
    with pytest.raises(StepTimeout, match="stopped after 1 s"), _deadline(1):
        time.sleep(30)  # stands in for a decoder that never returns to Python
    assert time.monotonic() - started < 3


def test_outdated_fingerprints_are_redone_and_turned_or_cropped_copies_found(
    env: Env, tmp_path: Path
) -> None:
    """After an upgrade, `process --outdated` re-fingerprints and re-matches what an older
    rushes left, and `dups` and the copies' folding show what it could not find."""
    card = tmp_path / "card"
    card.mkdir()
    coffee = next(s for s in sources("eval") if s.name == "coffee.png")
    original = master(coffee, card, Master(seconds=4.0, size=(320, 180)))
    turned, cropped = (copy(original, edit, card) for edit in ("rotate-90", "crop-10"))
    env.run("ingest", str(card), "-p", "p")
    steps = ("--step", "probe", "--step", "fingerprint", "--step", "near-duplicates")
    assert "0 failed" in env.run("process", *steps).stdout
    sha = {
        name: sha_of(env, clip.path)
        for name, clip in (("o", original), ("t", turned), ("c", cropped))
    }
    with env.open() as base, base.catalog.write() as session:  # as the last release left it
        session.execute(
            update(StepState)
            .where(StepState.step.in_(["fingerprint", "near-duplicates"]))
            .values(tool_version="1")
        )
        session.execute(update(FingerprintRow).values(data=b"RPDQ\x01\x00" + bytes(42)))
        session.execute(delete(NearDuplicate))
        session.execute(update(Asset).values(cluster=None))
    assert "process --outdated" in env.run("dups", sha["o"][:12]).stdout

    assert "0 failed" in env.run("process", "--outdated", *steps).stdout
    doc = json.loads(env.run("dups", sha["o"][:12], "--json").stdout)
    edits = {c["sha256"]: (c["transform"], c["crop"]) for c in doc["copies"]}
    assert edits == {sha["t"]: ("turned 90 counter-clockwise", 0.0), sha["c"]: ("none", 0.09)}
    table = env.run("dups", sha["o"][:12]).stdout
    assert "turned 90 counter-clockwise" in table and "cropped 9% a side" in table
    back = json.loads(env.run("dups", sha["c"][:12], "--json").stdout)["copies"]
    assert {c["sha256"]: c["crop"] for c in back}[sha["o"]] == -0.09  # seen from the crop
    with env.open() as base, base.catalog.read() as session:
        labels = {session.get(Asset, s).cluster for s in sha.values()}
    assert labels == {min(sha.values())}  # folded together in the browser's lists


def test_a_pair_found_by_the_other_clip_meanwhile_is_kept(env: Env, tmp_path: Path) -> None:
    """Two clips' matching steps at once: the copy's step, run while the original's step is
    between reading and writing, finds the pair; the original's write must not delete it."""
    card = tmp_path / "card"
    card.mkdir()
    coffee, other = (s for s in sources("eval") if s.name in ("coffee.png", "rocket.jpg"))
    original = master(coffee, card, Master(seconds=4.0, size=(320, 180)))
    copied = copy(original, "crop-5", card)
    unrelated = master(other, card, Master(seconds=4.0, size=(320, 180)))
    env.run("ingest", str(card), "-p", "p")
    assert "0 failed" in env.run("process", "--step", "probe", "--step", "fingerprint").stdout
    o, t, u = (sha_of(env, c.path) for c in (original, copied, unrelated))
    with env.open() as base:
        with base.catalog.write() as session:
            session.execute(delete(FingerprintRow).where(FingerprintRow.asset_sha256 == t))
            session.add(NearDuplicate(asset_a=min(o, u), asset_b=max(o, u), score=0.5, segments={}))
        judged = judge_pairs(Work(base, o))  # reads before the copy has a fingerprint
        assert judged.found == [] and judged.earlier == {u}
        run_fingerprint(Work(base, t))
        run_near_duplicates(Work(base, t))
        record_pairs(Work(base, o), judged)
        with base.catalog.read() as session:
            pairs = {(p.asset_a, p.asset_b) for p in session.scalars(select(NearDuplicate))}
            labels = {session.get(Asset, s).cluster for s in (o, t)}
    assert pairs == {(min(o, t), max(o, t))}  # the copy's finding kept, the stale pair gone
    assert labels == {min(o, t)}


def test_pool_workers_run_behind_interactive_work(tmp_path: Path) -> None:
    """The pipeline's workers give way to the server's requests on a busy machine."""
    settings = load(Env(tmp_path, f"sqlite:///{tmp_path / 'catalog.sqlite3'}").vars)
    with local_executor(settings) as pool:
        worker = pool.submit(os.nice, 0).result()
    assert worker == os.nice(0) + WORKER_NICENESS
