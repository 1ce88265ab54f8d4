"""The field kit's folder on the laptop: its database, its proxies and its login, all sealed.

The database is SQLite. `files` has one row per file found on a card, the local manifest;
`blobs` one row per distinct content (SHA-256), with its proxy and the state of its two
uploads; the tus URL of an upload is stored before its first byte is sent, so a restart
resumes it instead of starting over. On disk the folder holds only sealed files with random
names (`rushes.field.sealed`) and `lock.json`; while the kit is unlocked the database works in
memory (`rushes.field.session`). Only the chosen language (`language`) is kept in clear: the
passphrase is asked for in it. The folders are 0700, the files 0600.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rushes.errors import ConfigError
from rushes.field import session as sessions
from rushes.field.sealed import Lock, Reader, seal, seal_file, unseal, write_atomic
from rushes.field.session import Locked, Session
from rushes.i18n import LANGUAGES, N_, _

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    card_path TEXT NOT NULL,      -- path on the card, as sent in the manifest
    local_path BLOB NOT NULL,     -- where sync reads the original from (raw OS bytes)
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    manifest_sent_at TEXT,
    UNIQUE (local_path, size, mtime_ns)
);
CREATE INDEX IF NOT EXISTS files_sha256 ON files (sha256);
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT '',            -- video, audio, image, or '' (not media)
    proxy_path TEXT,
    proxy_sha256 TEXT,
    proxy_size INTEGER,
    proxy_problem TEXT NOT NULL DEFAULT '',   -- why there is no proxy, or what it lacks
    first_seen INTEGER NOT NULL,              -- import order
    in_vault INTEGER NOT NULL DEFAULT 0,      -- the base said it has the original
    base_proxy INTEGER NOT NULL DEFAULT 0,    -- the base said it has a proxy
    proxy_url TEXT,
    proxy_sent_at TEXT,
    proxy_failed TEXT NOT NULL DEFAULT '',
    original_url TEXT,
    original_sent_at TEXT,
    original_failed TEXT NOT NULL DEFAULT '',
    original_waiting TEXT NOT NULL DEFAULT '', -- not readable now (card removed?); tried again
    media TEXT                                -- what the kit's probe said (JSON), for the manifest
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    shown INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS assignments (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    shown INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


NOT_LOGGED_IN = N_("not logged in: run `rushes field login URL --project SLUG`")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Login:
    """Which base, which project, and the crew member's field-kit token."""

    url: str
    project: str
    token: str


class Store(sqlite3.Connection):
    """The working database: refuses statements once the unlock time is up, and seals itself
    into the kit's folder after changes (at most once a second, and when closed)."""

    session: Session
    _sealed_changes = 0
    _sealed_at = 0.0
    _later: threading.Timer | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        self._check()
        cursor = super().execute(sql, parameters)
        self._changed()
        return cursor

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        self._check()
        cursor = super().executemany(sql, parameters)
        self._changed()
        return cursor

    def __exit__(self, *exc: Any) -> Any:
        result = super().__exit__(*exc)
        self._changed()
        return result

    def close(self) -> None:
        if self.total_changes != self._sealed_changes:
            with contextlib.suppress(Locked):  # locked meanwhile: `end` sealed it
                self.seal()
        super().close()

    def seal(self) -> None:
        try:
            self.session.seal_store()
        except FileNotFoundError:
            raise Locked(_("the field kit was locked")) from None
        self._sealed_changes, self._sealed_at = self.total_changes, time.monotonic()

    def check(self) -> None:
        """Locked once the unlock time is up or the kit was locked (`rushes field lock`)."""
        if self.session.left_s() <= 0:
            raise Locked(_("the field kit locked itself (its unlock time ended)"))
        if not (self.session.folder / "session").exists():
            raise Locked(_("the field kit was locked"))

    def _check(self) -> None:
        if self.session.left_s() <= 0:
            raise Locked(_("the field kit locked itself (its unlock time ended)"))

    def _changed(self) -> None:
        if self.in_transaction or self.total_changes == self._sealed_changes:
            return
        if time.monotonic() - self._sealed_at >= sessions.SEAL_EVERY_S:
            self.seal()
        elif self._later is None or not self._later.is_alive():
            # Sealed a second from now even if nothing else is written before a long upload.
            self._later = threading.Timer(sessions.SEAL_EVERY_S, self._seal_quietly)
            self._later.daemon = True
            self._later.start()

    def _seal_quietly(self) -> None:
        with contextlib.suppress(OSError, sqlite3.Error):  # ended meanwhile: sealed by `end`
            self.session.seal_store()


class Home:
    """The kit's folder; made on first use, private to the user."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.proxies = path / "proxies"
        self.lock_file = path / "lock.json"
        self.login_file = path / "login.sealed"
        self.language_file = path / "language"

    # The lock

    @property
    def has_passphrase(self) -> bool:
        return self.lock_file.exists()

    def create(self, passphrase: str, seconds: float) -> Session:
        """Choose the passphrase of a new kit, or of one made before stores were sealed (its
        plaintext database, proxies and login are sealed and removed)."""
        if self.has_passphrase:
            raise ConfigError(_("this field kit has a passphrase already"))
        self._private()
        lock, key = Lock.new(passphrase)
        plain = self.path / sessions.DATABASE
        session = sessions.start(self.path, key, seconds, plain if plain.exists() else None)
        self._seal_plaintext(session)
        lock.save(self.lock_file)
        return session

    def unlock(self, passphrase: str, seconds: float) -> Session:
        if not self.has_passphrase:
            raise Locked(_(NOT_LOGGED_IN))
        return sessions.start(self.path, Lock.load(self.lock_file).open(passphrase), seconds)

    def change_passphrase(self, old: str, new: str) -> None:
        key = Lock.load(self.lock_file).open(old)
        Lock.wrap(new, key).save(self.lock_file)

    def lock(self) -> bool:
        """Seal and forget the key; False if the kit was locked already."""
        return sessions.end(self.path)

    def session(self) -> Session:
        if not self.has_passphrase:
            raise Locked(_(NOT_LOGGED_IN))
        return sessions.current(self.path)

    def _private(self) -> None:
        self.proxies.mkdir(parents=True, exist_ok=True)
        for folder in (self.path, self.proxies):
            os.chmod(folder, 0o700)

    def _seal_plaintext(self, session: Session) -> None:
        """Seal what a kit made before sealing kept in clear, then remove the clear copies."""
        if session.database.exists():
            conn = self._connect(session)
            try:
                for row in conn.execute(
                    "SELECT sha256, proxy_path FROM blobs WHERE proxy_path IS NOT NULL"
                ).fetchall():
                    plain = Path(row["proxy_path"])
                    sealed = self.seal_proxy(session, plain) if plain.exists() else None
                    conn.execute(
                        "UPDATE blobs SET proxy_path = ? WHERE sha256 = ?",
                        (str(sealed) if sealed else None, row["sha256"]),
                    )
                    plain.unlink(missing_ok=True)
                conn.seal()
            finally:
                conn.close()
        old_login = self.path / "login.json"
        if old_login.exists():
            seal(session.key, self.login_file, old_login.read_bytes(), "login")
            old_login.unlink()
        for name in (sessions.DATABASE, f"{sessions.DATABASE}-wal", f"{sessions.DATABASE}-shm"):
            (self.path / name).unlink(missing_ok=True)

    # The database, proxies and login

    def db(self) -> Store:
        """A connection in autocommit mode; callers group writes with `with conn:`."""
        self._private()
        return self._connect(self.session())

    def _connect(self, session: Session) -> Store:
        conn = sqlite3.connect(session.database, isolation_level=None, timeout=30, factory=Store)
        os.chmod(session.database, 0o600)  # its -wal and -shm files take its mode
        conn.session = session
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # in memory: sealing is what reaches the disk
        conn.executescript(_SCHEMA)
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(blobs)")}
        if "media" not in columns:  # a kit folder made before manifests carried the probe
            conn.execute("ALTER TABLE blobs ADD COLUMN media TEXT")
        return conn

    def seal_proxy(self, session: Session, plain: Path) -> Path:
        """Seal a finished proxy under a random name in the kit's folder."""
        name = sessions.token()
        sealed = self.proxies / f"{name}.sealed"
        seal_file(session.key, plain, sealed, f"proxies/{name}")
        return sealed

    @contextlib.contextmanager
    def one_sync(self) -> Iterator[None]:
        """Held while a sync runs: a second one on this laptop is refused, not raced."""
        fd = os.open(self.session().folder / "sync.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigError(
                    _("another `rushes field sync` is running on this laptop")
                ) from None
            yield
        finally:
            os.close(fd)

    def open_proxy(self, sealed: Path) -> Reader:
        return Reader(self.session().key, sealed, f"proxies/{sealed.stem}")

    def save_login(self, login: Login) -> None:
        """Sealed, written beside and renamed, so a crash never leaves half a login."""
        self._private()
        seal(self.session().key, self.login_file, json.dumps(asdict(login)).encode(), "login")

    def save_language(self, language: str) -> None:
        """The kit's language ('ar', 'en'), chosen with `rushes field login --language`: in
        clear (two letters), as the passphrase is asked for in it, but private like the rest."""
        self._private()
        write_atomic(self.language_file, (language + "\n").encode())

    def language(self) -> str:
        """The saved language, or '' to follow LANG."""
        try:
            saved = self.language_file.read_text(encoding="utf-8").strip()
            os.chmod(self.language_file, 0o600)  # an earlier version left it readable to all
        except OSError:
            return ""
        return saved if saved in LANGUAGES else ""

    def login(self) -> Login:
        if not self.login_file.exists():
            raise ConfigError(_(NOT_LOGGED_IN))
        key = self.session().key
        try:
            data = json.loads(unseal(key, self.login_file, "login"))
            return Login(data["url"], data["project"], data["token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                _("{path} is damaged ({reason}): log in again").format(
                    path=self.login_file, reason=exc
                )
            ) from exc

    @property
    def exists(self) -> bool:
        """Whether anything of the kit is on this laptop: its folder or a memory copy."""
        return self.path.exists() or bool(sessions.memory_copies(self.path))

    def remove_all(self) -> list[Path]:
        """Delete the kit's whole folder and its memory copy, without the key (nothing is
        sealed first: it all goes, locked or not; a running sync stops); the files that were
        there. ConfigError if some of it could not be removed."""
        found = sessions.discard(self.path)
        if self.path.exists():
            found += sorted(p for p in self.path.rglob("*") if not p.is_dir())
        shutil.rmtree(self.path, ignore_errors=True)
        if self.path.exists():
            raise ConfigError(
                _("{path} could not be removed entirely: remove it by hand").format(path=self.path)
            )
        return found
