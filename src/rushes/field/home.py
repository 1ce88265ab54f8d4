"""The field kit's folder on the laptop: its database, its proxies and its login.

The database is SQLite (one file, no server, survives a pulled plug with WAL and synchronous
FULL). `files` has one row per file found on a card, the local manifest; `blobs` one row per
distinct content (SHA-256), with its proxy and the state of its two uploads; the tus URL of an
upload is stored before its first byte is sent, so a restart resumes it instead of starting
over. The login holds a bearer token, so it is written with mode 0600 in a 0700 folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from rushes.errors import ConfigError
from rushes.i18n import LANGUAGES, _

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


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Login:
    """Which base, which project, and the crew member's field-kit token."""

    url: str
    project: str
    token: str


class Home:
    """The kit's folder; made on first use, private to the user."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.proxies = path / "proxies"
        self.login_file = path / "login.json"
        self.language_file = path / "language"

    def db(self) -> sqlite3.Connection:
        """A connection in autocommit mode; callers group writes with `with conn:`."""
        self.proxies.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        conn = sqlite3.connect(self.path / "field.sqlite3", isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(blobs)")}
        if "media" not in columns:  # a kit folder made before manifests carried the probe
            conn.execute("ALTER TABLE blobs ADD COLUMN media TEXT")
        return conn

    def save_login(self, login: Login) -> None:
        """Write beside and rename, so a crash never leaves half a login."""
        self.path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        part = self.login_file.with_suffix(".part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(login), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, self.login_file)

    def save_language(self, language: str) -> None:
        """The kit's language ('ar', 'en'), chosen with `rushes field login --language`."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.language_file.write_text(language + "\n", encoding="utf-8")

    def language(self) -> str:
        """The saved language, or '' to follow LANG."""
        try:
            saved = self.language_file.read_text(encoding="utf-8").strip()
        except OSError:
            return ""
        return saved if saved in LANGUAGES else ""

    def login(self) -> Login:
        try:
            data = json.loads(self.login_file.read_text(encoding="utf-8"))
            return Login(data["url"], data["project"], data["token"])
        except FileNotFoundError:
            raise ConfigError(
                _("not logged in: run `rushes field login URL --project SLUG`")
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                _("{path} is damaged ({reason}): log in again").format(
                    path=self.login_file, reason=exc
                )
            ) from exc
