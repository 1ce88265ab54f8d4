"""`rushes verify` names every kind of damage, through the real command."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from tests.clips import random_bytes_file
from tests.conftest import RUSHES, Env
from tests.processes import read_to


def ingested(env: Env, tmp_path: Path, count: int = 3) -> list[str]:
    card = tmp_path / "card"
    card.mkdir()
    files = [random_bytes_file(card / f"f{i}.mov", 50_000 + i, seed=i) for i in range(count)]
    env.run("ingest", str(card), "-p", "p", "--source", "card 1")
    return [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]


def stored(env: Env, sha: str) -> Path:
    return env.vault / "originals" / sha[:2] / sha[2:4] / sha


def sql(env: Env, statement: str) -> None:
    if env.database_url.startswith("sqlite"):
        with sqlite3.connect(env.database_url.removeprefix("sqlite:///")) as db:
            db.execute(statement)
    else:
        url = env.database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(statement)


def failed_verify(env: Env) -> str:
    result = env.run("verify", check=False)
    assert result.returncode == 1, result.stdout
    return result.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ctrl_c_stops_the_original_being_re_hashed(env: Env, tmp_path: Path) -> None:
    """Ctrl-C while a big original is re-hashed: the check gives up at its next chunk instead
    of reading the rest first (minutes for a big file from a remote store), and nothing is
    logged as checked that was not."""
    card = tmp_path / "card"
    card.mkdir()
    with open(card / "C0001.MXF", "wb") as big:
        big.truncate(256 << 20)
    env.run("ingest", str(card), "-p", "p")
    (asset,) = (json.loads(line) for line in env.run("assets", "--json").stdout.splitlines())
    path = stored(env, asset["sha256"])
    size = path.stat().st_size
    proc = subprocess.Popen([*RUSHES, "verify"], env=env.vars, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:  # caught re-hashing it, 8 MiB or more in and a quarter at most
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        if any(8 << 20 <= at < size // 4 for at in read_to(proc.pid, path)):
            proc.send_signal(signal.SIGSTOP)
            if any(8 << 20 <= at < size // 4 for at in read_to(proc.pid, path)):
                break
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.001)
    # Resumed first, then Ctrl-C, as a user's meets a running command: a signal sent while it
    # is stopped goes to whichever thread wakes first, and the main thread would notice it
    # only at its next 0.1 s step (a hundred MiB or more re-hashed by then).
    proc.send_signal(signal.SIGCONT)
    proc.send_signal(signal.SIGINT)
    furthest = 0
    while proc.poll() is None:
        furthest = max([furthest, *read_to(proc.pid, path)])
    out, _ = proc.communicate()
    assert proc.returncode != 0, out
    assert furthest < size * 3 // 4  # the rest was not read
    log = env.run("custody", "export").stdout
    assert "fixity-" not in log and "chain-verified" not in log
    assert "checked: 1, failed: 0" in env.run("verify").stdout  # and a later run checks it


def test_truncated_and_missing_originals_are_named(env: Env, tmp_path: Path) -> None:
    a, b, _ = ingested(env, tmp_path)
    stored(env, a).chmod(0o644)
    with open(stored(env, a), "r+b") as f:
        f.truncate(1000)
    stored(env, b).unlink()
    out = failed_verify(env)
    assert f"FAILED {a}: size is 1000 bytes, recorded 50000" in out
    assert f"FAILED {b}: missing from the vault" in out
    assert "originals checked: 3, failed: 2" in out
    (remedy,) = (line for line in out.splitlines() if line.startswith("to repair:"))
    assert "`rushes ingest PATH -p PROJECT` again" in remedy and "RUSHES_REPLICA_DIR" in remedy


def test_edited_and_deleted_custody_events_are_named(env: Env, tmp_path: Path) -> None:
    ingested(env, tmp_path)
    sql(env, "UPDATE custody_events SET actor = 'someone else' WHERE seq = 2")
    sql(env, "DELETE FROM custody_events WHERE seq = 4")
    sql(env, "UPDATE custody_events SET details = '{not json' WHERE seq = 5")
    out = failed_verify(env)
    assert "event 2 (received): content does not match its hash" in out
    assert "events 4..4 are missing" in out
    assert "event 5: details are not valid JSON" in out
    assert "BROKEN" in out


def test_a_missing_chain_head_is_reported_not_crashed_on(env: Env, tmp_path: Path) -> None:
    ingested(env, tmp_path, 1)
    sql(env, "DELETE FROM custody_head")
    out = failed_verify(env)
    assert "the chain head is missing" in out and "(missing)" in out


def test_an_asset_planted_behind_the_logs_back_is_named(env: Env, tmp_path: Path) -> None:
    ingested(env, tmp_path, 1)
    planted = b"planted footage"
    sha = hashlib.sha256(planted).hexdigest()
    stored(env, sha).parent.mkdir(parents=True, exist_ok=True)
    stored(env, sha).write_bytes(planted)
    sha512 = hashlib.sha512(planted).hexdigest()
    sql(
        env,
        "INSERT INTO assets (sha256, sha512, size, kind, first_received_at) VALUES "
        f"('{sha}', '{sha512}', {len(planted)}, 'other', '2020-01-01 00:00:00')",
    )
    out = failed_verify(env)
    assert f"FAILED {sha}: in the catalog with no matching arrival in the log" in out


def test_read_only_commands_refuse_a_base_that_does_not_exist(tmp_path: Path) -> None:
    empty = Env(tmp_path / "nowhere", f"sqlite:///{tmp_path / 'nowhere' / 'catalog.sqlite3'}")
    for command in (["verify"], ["assets"], ["custody", "export"]):
        result = empty.run(*command, check=False)
        assert result.returncode == 1 and "no rushes base" in result.stderr
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("copies", [2])
def test_two_ingests_at_once_store_each_file_once(
    env: Env, tmp_path: Path, fixtures_dir: Path, copies: int
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    for clip in sorted(fixtures_dir.glob("pattern-*.mp4")):
        shutil.copy(clip, card)
    procs = [
        subprocess.Popen(
            [*RUSHES, "ingest", str(card), "-p", "shared", "--source", f"copy {i}"],
            env=env.vars,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(copies)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, errors) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + errors
    joined = "".join(out for out, _ in outputs)
    assert joined.count(" new") + joined.count(" duplicate") >= 2
    verified = env.run("verify").stdout
    assert "originals checked: 5, failed: 0" in verified and "intact" in verified
