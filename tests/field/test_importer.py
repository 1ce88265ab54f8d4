"""`rushes field import` on real files: hashes, the local manifest, 360p proxies, idempotence."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rushes.field.home import Home, Login
from rushes.field.importer import Importer, candidates
from rushes.media.probe import probe
from tests.clips import make_video
from tests.conftest import RUSHES
from tests.field.test_sync import PASSPHRASE
from tests.web.test_status import free_port


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    kit = Home(tmp_path / "kit")
    kit.create(PASSPHRASE, 600)
    yield kit
    kit.lock()


@pytest.fixture
def card(tmp_path: Path) -> Path:
    root = tmp_path / "card"
    (root / "DCIM" / "100").mkdir(parents=True)
    make_video(root / "DCIM" / "100" / "C0001.MP4", seconds=1, seed=1, size=(640, 480))
    make_video(root / "DCIM" / "100" / "C0002.MP4", seconds=1, seed=2)
    (root / "DCIM" / "100" / "BROKEN.MP4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))
    (root / "notes.txt").write_text("shot list\n")
    outside = tmp_path / "secret.txt"
    outside.write_text("not on the card")
    (root / "link.txt").symlink_to(outside)
    return root


def run_import(home: Home, card: Path, source: str = "card 1") -> tuple[sqlite3.Connection, object]:
    conn = home.db()
    importer = Importer(home, conn, source)
    report = importer.record(card, candidates(card))
    importer.make_proxies(report, importer.needing_proxy(report), lambda: None)
    return conn, report


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_import_records_every_file_and_makes_proxies(
    home: Home, card: Path, tmp_path: Path
) -> None:
    conn, report = run_import(home, card)
    rows = {r["card_path"]: r for r in conn.execute("SELECT * FROM files")}
    assert sorted(rows) == [
        "DCIM/100/BROKEN.MP4",
        "DCIM/100/C0001.MP4",
        "DCIM/100/C0002.MP4",
        "notes.txt",
    ]  # the symlink pointing off the card is skipped, not followed
    assert report.count("skipped") == 1
    for name, row in rows.items():
        path = card / name
        assert row["sha256"] == sha(path)
        assert row["size"] == path.stat().st_size
        assert row["mtime_ns"] == path.stat().st_mtime_ns
        assert row["source"] == "card 1" and row["imported_at"]
    blobs = {r["sha256"]: r for r in conn.execute("SELECT * FROM blobs")}
    big = blobs[rows["DCIM/100/C0001.MP4"]["sha256"]]
    assert big["kind"] == "video" and big["proxy_problem"] == ""
    proxy = Path(big["proxy_path"])
    assert proxy.parent == home.proxies and big["sha256"] not in proxy.name
    with home.open_proxy(proxy) as sealed:  # sealed on disk, whole when opened with the key
        (tmp_path / "proxy.mp4").write_bytes(sealed.read())
    assert big["proxy_sha256"] == sha(tmp_path / "proxy.mp4")
    info = probe(tmp_path / "proxy.mp4")
    assert info.size is not None and info.size.height == 360
    broken = blobs[rows["DCIM/100/BROKEN.MP4"]["sha256"]]
    assert broken["proxy_path"] is None
    assert broken["proxy_problem"].startswith("truncated: the MP4 index (moov) is missing")
    text = blobs[rows["notes.txt"]["sha256"]]
    assert text["proxy_path"] is None  # still in the manifest, without a proxy
    assert report.proxies == 2


def test_import_again_does_not_read_unchanged_files(home: Home, card: Path) -> None:
    conn, _ = run_import(home, card)
    clip = card / "DCIM" / "100" / "C0002.MP4"
    before = clip.stat()
    first = sha(clip)
    # Same size and time, other bytes: a re-import that re-read the file would notice.
    data = bytearray(clip.read_bytes())
    data[-1] ^= 0xFF
    clip.write_bytes(bytes(data))
    os.utime(clip, ns=(before.st_atime_ns, before.st_mtime_ns))
    _, again = run_import(home, card)
    assert again.count("unchanged") == 4 and again.count("new") == 0
    assert conn.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 4
    assert {o.sha256 for o in again.outcomes if o.path.endswith("C0002.MP4")} == {first}
    # A new modification time means new content: it is hashed and recorded beside the old.
    os.utime(clip, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    _, third = run_import(home, card)
    assert third.count("new") == 1
    assert {o.sha256 for o in third.outcomes if o.path.endswith("C0002.MP4")} == {sha(clip)}


def test_import_command_and_private_home(tmp_path: Path, home: Home, card: Path) -> None:
    env = {**os.environ, "RUSHES_FIELD_DIR": str(home.path), "COLUMNS": "200"}
    done = subprocess.run(
        [*RUSHES, "field", "import", str(card), "--source", "card 7"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "card 7: 4 new, 0 unchanged, 1 skipped, 0 failed; 2 proxies made" in done.stdout
    (line,) = [x for x in done.stdout.splitlines() if "BROKEN.MP4" in x]
    assert line.startswith("no proxy: ") and line.count("BROKEN.MP4") == 1, line
    assert "truncated: the MP4 index" in line, line
    kit = Home(tmp_path / "kit-ar")  # a crew member who reads Arabic, on a kit of their own
    kit.create(PASSPHRASE, 600)
    try:
        arabic = subprocess.run(
            [*RUSHES, "field", "import", str(card), "--source", "card 7"],
            env={**env, "RUSHES_FIELD_DIR": str(kit.path), "LANG": "ar_SY.UTF-8"},
            capture_output=True,
            text=True,
        )
    finally:
        kit.lock()
    (line,) = [x for x in arabic.stdout.splitlines() if "BROKEN.MP4" in x]
    assert "مبتور: فهرس MP4" in line and "truncated" not in line, line
    assert stat.S_IMODE(home.path.stat().st_mode) == 0o700
    offline = Login(f"http://127.0.0.1:{free_port()}", "film", "rsh_secret")
    home.save_login(offline)
    assert stat.S_IMODE(home.login_file.stat().st_mode) == 0o600
    assert home.login() == offline
    # No base in reach: one pass, nothing sent, everything still waiting, exit 1.
    sync = subprocess.run(
        [*RUSHES, "field", "sync", "--once"], env=env, capture_output=True, text=True
    )
    assert sync.returncode == 1, sync.stderr
    assert "the base is unreachable" in sync.stderr
    assert "left: 4 manifest entries, 2 proxies, 4 originals" in sync.stdout
    status = subprocess.run([*RUSHES, "field", "status"], env=env, capture_output=True, text=True)
    assert status.returncode == 0, status.stderr
    assert "left: 4 manifest entries, 2 proxies, 4 originals" in status.stdout
