"""A field laptop that may be seized: its kit folder holds only sealed files (no file name, hash,
address or token in clear), opens only with the passphrase, locks itself when its time is up,
and after `wipe` holds nothing the base has confirmed, keeping what the base does not have."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Note, User
from rushes.field.home import _SCHEMA as SCHEMA
from rushes.field.sealed import SEGMENT, Damaged, Reader, seal, unseal
from rushes.field.session import memory_folder
from rushes.review import accounts
from tests.conftest import RUSHES
from tests.field.test_sync import PASSPHRASE, Kit, card, sha, token_for  # noqa: F401 - card
from tests.web.conftest import Team

CLEAR = {"lock.json", "store.sealed", "login.sealed", "proxies"}


def _everything_on_disk(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _only_sealed(kit: Kit, secrets_: list[str]) -> None:
    """No file of the kit's folder shows any of `secrets_`, a database or a video in clear."""
    for path in kit.home.path.rglob("*"):
        name = path.relative_to(kit.home.path).as_posix()
        assert name in CLEAR or re.fullmatch(r"proxies/[0-9a-f]{32}\.sealed", name), name
    on_disk = _everything_on_disk(kit.home.path)
    for secret in [*secrets_, "SQLite format 3", "ftyp", "moov"]:
        assert secret.encode() not in on_disk, secret


# The kit's side is the same on either database; the base's side of this exchange (manifests,
# confirmations) runs on both in test_sync.py and test_wanted.py.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_seized_kit_holds_nothing_readable_and_wipe_keeps_only_what_the_base_lacks(
    base: Base,
    team: Team,
    server: str,
    card: dict[str, Path],  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    kit = Kit(tmp_path / "kit")
    token = token_for(base, "karim", "film")
    kit.login(server, token)
    kit.run("import", str(card["big"].parent.parent), "--source", "card 3")
    shas = {name: sha(path) for name, path in card.items()}
    # One original cannot be read when sync runs (its card was pulled): the base lacks it.
    away = tmp_path / "away.MP4"
    card["mid"].rename(away)
    kit.run("sync", "--once", code=1)
    away.rename(card["mid"])
    with base.catalog.write() as session:
        users = {u.username: u for u in session.scalars(select(User))}
        film = session.scalar(select(accounts.Project).where(accounts.Project.slug == "film"))
        session.add(
            Note(
                project_id=film.id,
                asset_sha256=shas["big"],
                author_id=users["dina"].id,
                addressed_to_id=users["karim"].id,
                category="story",
                body="Follow the man in the red jacket",
            )
        )
    assert "Follow the man in the red jacket" in kit.run("notes")  # read: it may go

    status = kit.run("status", "--here")
    assert "C0003.MP4" in status and "C0001.MP4" not in status
    assert "only on this laptop: 1 original (" in status
    assert "unlocked until" in status

    # Seized while open or closed: nothing on the disk names a file, a hash, the base or the
    # crew member's token, and no database or video is readable.
    told = [p.name for p in card.values()] + list(shas.values()) + [token, server, "card 3"]
    told += ["red jacket", "dina"]
    _only_sealed(kit, told)
    assert "the field kit is locked" in kit.run("lock")
    assert not memory_folder(kit.home.path).exists()
    _only_sealed(kit, told)
    assert "the field kit is locked: run `rushes field unlock`" in kit.run("status", code=1)
    refused = kit.run("unlock", "--passphrase-stdin", stdin="قلعة حلب 1947\n", code=1)
    assert "wrong passphrase" in refused
    assert "unlocked until" in kit.run("unlock", "--passphrase-stdin", stdin=PASSPHRASE + "\n")

    # Wipe: the base confirms by hash what it holds; the one original it lacks stays. A sealed
    # proxy no entry names (an import cut short after sealing it) goes too.
    orphan = kit.home.proxies / f"{secrets.token_hex(16)}.sealed"
    orphan.write_bytes(secrets.token_bytes(100))
    os.utime(orphan, (time.time() - 3600, time.time() - 3600))
    wiped = kit.run("wipe")
    assert (
        "removed: 3 originals' entries, 4 proxies" in wiped
        and "1 read note, 0 card files" in wiped
        and "only on this laptop still: 1 original" in wiped
    ), wiped
    with kit.sync() as sync:
        left = [r["sha256"] for r in sync.conn.execute("SELECT sha256 FROM blobs")]
        files = [r["card_path"] for r in sync.conn.execute("SELECT card_path FROM files")]
        notes = sync.conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0]
    assert left == [shas["mid"]] and files == ["DCIM/C0003.MP4"] and notes == 0
    assert not list(kit.home.proxies.iterdir())  # the base has every proxy
    assert "C0003.MP4" in kit.run("status")

    # Card files go only when the base holds them byte-exact: not the original it lacks, nor a
    # file changed on the card since it was imported.
    kit.run("import", str(card["big"].parent.parent), "--source", "card 3")
    card["mid"].rename(away)
    kit.run("sync", "--once", code=1)
    away.rename(card["mid"])
    card["text"].write_text("a new shot list\n")
    swept = kit.run("wipe", "--card-files")
    assert not card["big"].exists() and not card["small"].exists()
    assert f"deleted from the card: {card['big']}" in swept
    assert card["mid"].exists() and "C0003" not in swept
    assert card["text"].exists()
    assert f"kept on the card: {card['text']}: changed since it was imported" in swept

    gone = kit.run("wipe", "--all", "--yes")
    assert "1 original was not confirmed by the base at the last contact" in gone
    assert "removed the field kit's folder" in gone
    assert not kit.home.path.exists() and not memory_folder(kit.home.path).exists()


def test_wipe_all_asks_first_and_removes_a_locked_kit_without_its_passphrase(
    tmp_path: Path,
) -> None:
    """At a checkpoint, or with the passphrase forgotten: sealed files need no key to go."""
    kit = Kit(tmp_path / "kit")
    kit.run("passphrase", "--passphrase-stdin", stdin=PASSPHRASE + "\n")
    memory = memory_folder(kit.home.path)
    before = sorted(p.name for p in kit.home.path.iterdir())
    said = kit.run("wipe", "--all", stdin="n\n", code=1)  # asked before anything goes
    assert "remove the whole field kit from this laptop? [y/N]" in said
    assert "nothing removed: the field kit stays on this laptop" in said
    assert "Error" not in said and "entries" not in said  # no plain wipe before the question
    assert sorted(p.name for p in kit.home.path.iterdir()) == before and memory.is_dir()

    kit.run("lock")
    assert "the field kit is locked" in kit.run("wipe", code=1)  # this one reads the store
    # A memory copy left behind (its session file lost): locked, but there, so it goes too.
    memory.mkdir(mode=0o700)
    (memory / "field.sqlite3").write_bytes(b"SQLite format 3\0")
    said = kit.run("wipe", "--all", "--card-files", stdin="yes\n")
    assert "the field kit is locked, so which originals the base holds cannot be read" in said
    assert "no card file is deleted: the field kit is locked" in said
    assert f"removed the field kit's folder {kit.home.path} (" in said
    assert not kit.home.path.exists() and not memory.exists()
    assert "there is no field kit on this laptop" in kit.run("wipe", "--all", "--yes")


def test_the_kit_folder_is_private_and_its_language_the_only_clear_word(tmp_path: Path) -> None:
    kit = Kit(tmp_path / "kit")
    kit.run("login", "--language", "ar")  # before any passphrase: the folder is made here
    assert kit.home.path.stat().st_mode & 0o777 == 0o700
    assert (kit.home.path / "language").stat().st_mode & 0o777 == 0o600
    kit.run("passphrase", "--passphrase-stdin", stdin=PASSPHRASE + "\n")
    kit.run("lock")
    for path in [kit.home.path, *kit.home.path.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert {p.name for p in kit.home.path.iterdir()} == {"language", "lock.json", "proxies"}
    # A kit whose language an earlier version left readable to all: private at the next command.
    (kit.home.path / "language").chmod(0o644)
    kit.run("status", code=1)  # locked, but the language was read to say so
    assert (kit.home.path / "language").stat().st_mode & 0o777 == 0o600


def test_the_kit_locks_itself_when_its_time_is_up(tmp_path: Path) -> None:
    kit = Kit(tmp_path / "kit")
    kit.run("passphrase", "--passphrase-stdin", stdin=PASSPHRASE + "\n")
    assert "unlocked until" in kit.run(
        "unlock", "--hours", "0.001", "--passphrase-stdin", stdin=PASSPHRASE + "\n"
    )
    assert "0 files" in kit.run("status")
    deadline = time.monotonic() + 20
    while memory_folder(kit.home.path).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not memory_folder(kit.home.path).exists(), "the timer did not lock the kit"
    assert "locked" in kit.run("status", code=1)
    timers = subprocess.run(["pgrep", "-f", f"rushes.field.timer {kit.home.path}"], check=False)
    assert timers.returncode == 1  # no timer is left running


def test_a_kit_made_before_sealing_is_sealed_with_its_first_passphrase(tmp_path: Path) -> None:
    kit = Kit(tmp_path / "kit")
    kit.home.proxies.mkdir(parents=True)
    proxy = kit.home.proxies / f"{'a' * 64}.mp4"
    video = b"\x00\x00\x00\x18ftypisom" + secrets.token_bytes(3000)
    proxy.write_bytes(video)
    plain = sqlite3.connect(kit.home.path / "field.sqlite3")
    plain.executescript(SCHEMA)
    plain.execute(
        "INSERT INTO blobs (sha256, size, kind, proxy_path, first_seen) VALUES (?, 1, ?, ?, 1)",
        ("a" * 64, "video", str(proxy)),
    )
    plain.commit()
    plain.close()
    login = '{"url": "http://base.example", "project": "film", "token": "rsh_old"}'
    (kit.home.path / "login.json").write_text(login)

    kit.run("passphrase", "--passphrase-stdin", stdin=PASSPHRASE + "\n")
    assert kit.home.login().token == "rsh_old"
    _only_sealed(kit, ["a" * 64, "rsh_old", "base.example"])
    with kit.sync() as sync:
        sealed = Path(sync.conn.execute("SELECT proxy_path FROM blobs").fetchone()[0])
    with kit.home.open_proxy(sealed) as reader:
        assert reader.read() == video


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT + 17])
def test_sealed_files_read_back_anywhere_and_refuse_any_change(tmp_path: Path, size: int) -> None:
    key = os.urandom(32)
    data = os.urandom(size)
    path = tmp_path / "x.sealed"
    seal(key, path, data, "proxies/x")
    with Reader(key, path, "proxies/x") as reader:
        assert reader.size == size and reader.read() == data
        for offset in {0, size // 3, max(size - 5, 0), SEGMENT - 3}:
            if offset <= size:
                reader.seek(offset)
                assert reader.read(4096) == data[offset : offset + 4096]
    sealed = path.read_bytes()
    for changed in (
        sealed[:-1],  # cut short
        sealed[: len(sealed) - (SEGMENT + 16)] if size > SEGMENT else sealed + b"\0",
        *(sealed[:at] + bytes([sealed[at] ^ 1]) + sealed[at + 1 :] for at in (12, len(sealed) - 3)),
    ):
        path.write_bytes(changed)
        with pytest.raises(Damaged), Reader(key, path, "proxies/x") as reader:
            reader.read()
    path.write_bytes(sealed)
    with pytest.raises(Damaged), Reader(key, path, "proxies/y") as reader:  # another file's
        reader.read()
    with pytest.raises(Damaged), Reader(os.urandom(32), path, "proxies/x") as reader:
        reader.read()
    assert hashlib.sha256(data).digest() not in sealed


def test_a_change_reaches_the_sealed_store_within_a_second_without_closing(tmp_path: Path) -> None:
    """A power cut loses at most the last second: the open connection of a long upload still
    seals what it wrote, not only when it closes."""
    kit = Kit(tmp_path / "kit")
    session = kit.home.create(PASSPHRASE, 600)
    conn = kit.home.db()
    for n in range(2):  # the second falls inside the first's second: sealed a moment later
        conn.execute("INSERT INTO meta (key, value) VALUES (?, 'x')", (f"k{n}",))
    time.sleep(1.6)
    (tmp_path / "copy.sqlite3").write_bytes(
        unseal(session.key, kit.home.path / "store.sealed", "store")
    )
    stored = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert [r[0] for r in stored.execute("SELECT key FROM meta ORDER BY key")] == ["k0", "k1"]
    conn.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_lock_stops_a_running_sync_and_a_second_sync_is_refused(
    base: Base, team: Team, server: str, tmp_path: Path
) -> None:
    kit = Kit(tmp_path / "kit")
    kit.login(server, token_for(base, "karim", "film"))
    folder = tmp_path / "long-card"
    folder.mkdir()
    (folder / "long.bin").write_bytes(os.urandom(3 << 20))  # a minute at 50 kB/s
    kit.run("import", str(folder))
    sending = subprocess.Popen(
        [*RUSHES, "field", "sync", "--max-rate", "50k"],
        env=kit.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(3)
        assert "another `rushes field sync` is running" in kit.run("sync", "--once", code=1)
        kit.run("lock")
        output, _ = sending.communicate(timeout=20)  # stopped at the next chunk, not the end
    finally:
        sending.kill()
    assert sending.returncode == 1 and "the field kit was locked" in output, output
    assert "Traceback" not in output
