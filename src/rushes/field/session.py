"""The kit unlocked for a while: its key and its working database in a memory-backed folder.

While unlocked, the manifest database is a plain SQLite file in `$XDG_RUNTIME_DIR` (or
/dev/shm): memory, shared by the kit's processes (an import while sync runs), gone at power
off. Each process that writes re-seals it to the kit's folder (`store.sealed`) at most once a
second and when it closes, under a lock so the newest copy wins; a killed process loses nothing
(the memory copy is sealed at the next lock), a power cut at most the last second.

The session ends when its time is up: a detached timer process (`python -m
rushes.field.timer`) seals and removes the memory folder then, every command checks the time
before it starts, and the database refuses statements after it, so an unattended sync stops.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rushes.errors import RushesError
from rushes.field.sealed import seal, unseal, write_atomic
from rushes.i18n import N_, _

STORE = "store.sealed"
DATABASE = "field.sqlite3"
SEAL_EVERY_S = 1.0
_GRACE_S = 1.0


class Locked(RushesError):
    """The kit's store is sealed and its key is not in memory: `rushes field unlock`."""


def memory_root() -> Path:
    """Where the unlocked state lives: a memory-backed folder private to this user."""
    for candidate in (os.environ.get("XDG_RUNTIME_DIR", ""), "/dev/shm"):
        if candidate and Path(candidate).is_dir() and os.access(candidate, os.W_OK):
            return Path(candidate)
    raise Locked(N_("no memory-backed folder to unlock into: set XDG_RUNTIME_DIR to one (a tmpfs)"))


def memory_folder(home: Path) -> Path:
    return memory_root() / _memory_name(home)


def _memory_name(home: Path) -> str:
    digest = hashlib.sha256(os.fsencode(home.absolute())).hexdigest()[:16]
    return f"rushes-field-{os.getuid()}-{digest}"


@dataclass(frozen=True)
class Session:
    home: Path
    folder: Path
    key: bytes
    until: float

    @property
    def database(self) -> Path:
        return self.folder / DATABASE

    @property
    def making(self) -> Path:
        """Plaintext work in progress (a proxy being encoded), in memory until sealed."""
        return self.folder / "making"

    def left_s(self) -> float:
        return self.until - time.time()

    def seal_store(self) -> None:
        """Seal the working database into the kit's folder; the newest copy wins."""
        with _exclusive(self.folder):
            source = sqlite3.connect(self.database, timeout=30)
            try:
                data = source.serialize()
            finally:
                source.close()
            seal(self.key, self.home / STORE, data, "store")

    def extended(self, seconds: float) -> Session:
        return Session(self.home, self.folder, self.key, time.time() + seconds)

    def save(self) -> None:
        data = {"key": base64.b64encode(self.key).decode(), "until": self.until}
        write_atomic(self.folder / "session", json.dumps(data).encode())


class _exclusive:
    """An advisory lock on the memory folder, held while a copy is sealed or the folder goes."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "seal.lock"

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def _read(home: Path) -> Session | None:
    try:
        folder = memory_folder(home)
        data: dict[str, Any] = json.loads((folder / "session").read_text(encoding="utf-8"))
        return Session(home, folder, base64.b64decode(data["key"]), float(data["until"]))
    except (OSError, ValueError, KeyError, TypeError, Locked):
        return None


def current(home: Path) -> Session:
    """The unlocked session, or Locked (after sealing and ending one whose time is up)."""
    session = _read(home)
    if session is None:
        raise Locked(_("the field kit is locked: run `rushes field unlock`"))
    if session.left_s() <= 0:
        end(home)
        raise Locked(
            _("the field kit locked itself (its unlock time ended): run `rushes field unlock`")
        )
    return session


def start(home: Path, key: bytes, seconds: float, plain_database: Path | None = None) -> Session:
    """Open the kit for `seconds` with `key`: unseal the store into memory (or take over a
    plaintext database of a kit made before stores were sealed) and start the timer."""
    running = _read(home)
    if running is not None and running.key == key:
        session = running.extended(seconds)
        session.save()
        return session
    folder = memory_folder(home)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    session = Session(home, folder, key, time.time() + seconds)
    session.making.mkdir(mode=0o700)
    if (home / STORE).exists():
        write_atomic(session.database, unseal(key, home / STORE, "store"))
    elif plain_database is not None:
        source = sqlite3.connect(plain_database)
        try:
            write_atomic(session.database, source.serialize())
        finally:
            source.close()
    session.save()
    subprocess.run(
        [sys.executable, "-m", "rushes.field.timer", str(home)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return session


def end(home: Path) -> bool:
    """Seal the working database and remove the memory folder; False if it was locked."""
    session = _read(home)
    if session is None:
        with contextlib.suppress(Locked):  # no memory folder at all: nothing to remove
            shutil.rmtree(memory_folder(home), ignore_errors=True)
        return False
    if session.database.exists():
        session.seal_store()
    with _exclusive(session.folder):
        shutil.rmtree(session.folder, ignore_errors=True)
    return True


def memory_copies(home: Path) -> list[Path]:
    """The kit's memory folders: under each root one may have been made in (the unlocking
    shell's XDG_RUNTIME_DIR may not be this one's)."""
    roots = {os.environ.get("XDG_RUNTIME_DIR", ""), f"/run/user/{os.getuid()}", "/dev/shm"}
    found = (Path(root) / _memory_name(home) for root in sorted(roots) if root)
    return [folder for folder in found if folder.is_dir()]


def discard(home: Path) -> list[Path]:
    """Remove the kit's memory folders without sealing them (the kit is being removed), with
    or without the key; the files that were there."""
    found: list[Path] = []
    for folder in memory_copies(home):
        found += sorted(p for p in folder.rglob("*") if not p.is_dir())
        with contextlib.suppress(OSError), _exclusive(folder):  # not while a copy is sealed
            shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    return found


def wait_and_end(home: Path) -> None:
    """The timer: end the session when its time is up (or stop once it was ended another way)."""
    while (session := _read(home)) is not None:
        left = session.left_s()
        if left <= -_GRACE_S:
            end(home)
            return
        time.sleep(min(max(left + _GRACE_S, 0.05), 2.0))


def token() -> str:
    """A random name for a sealed file: its name says nothing of what it holds."""
    return secrets.token_hex(16)
