"""Import a card on the laptop: hash every file, record the local manifest, make review proxies.

Nothing is copied: sync reads each original from where it was imported (the card, or the folder
the crew copied it to), so keep that mounted until the originals are sent or the drive leaves.
A file already imported from the same path with the same size and modification time is not read
again, so importing a card twice is cheap. Files that are not video still enter the manifest
(custody starts at the card for every file); a video that cannot be decoded gets its reason
recorded and no proxy.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rushes.cards import Candidate, walk
from rushes.errors import ProbeError, os_reason
from rushes.field import session as sessions
from rushes.field.home import Home, now
from rushes.i18n import N_

if TYPE_CHECKING:
    from rushes.media.probe import MediaInfo

PROXY_HEIGHT = 360
_CHUNK = 8 << 20

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Imported:
    path: str
    status: str  # new | unchanged | skipped | failed
    sha256: str = ""
    reason: str = ""


@dataclass
class ImportReport:
    outcomes: list[Imported] = field(default_factory=list)
    proxies: int = 0
    proxy_problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def candidates(card: Path) -> list[Candidate]:
    return list(walk([card]))


def hash_file(path: Path, progress: Progress | None = None) -> str:
    """SHA-256 of the file, read once in large chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def claims(info: MediaInfo) -> dict[str, Any]:
    """What the manifest tells the base of a file before its original arrives: timing, size and
    capture time (with the offset the device wrote), never where or on whose phone."""
    size = info.size
    return {
        "kind": info.kind,
        "container": info.container,
        "frame_rate": info.frame_rate,
        "vfr": info.vfr,
        "duration_s": info.duration_s,
        "created_at": info.created_at,
        "width": size.width if size else None,
        "height": size.height if size else None,
        "rotation": size.rotation if size else 0,
    }


def card_path(path: Path, card: Path) -> str:
    """The path on the card as the manifest names it (the file name when CARD is one file).

    Undecodable bytes in a name travel as surrogate escapes, which the base turns back into
    the same bytes."""
    relative = path.name if card == path else path.relative_to(card).as_posix()
    return os.fsdecode(os.fsencode(relative))


class Importer:
    def __init__(self, home: Home, conn: sqlite3.Connection, source: str) -> None:
        self.home, self.conn, self.source = home, conn, source

    def record(
        self, card: Path, found: list[Candidate], hashed: Progress | None = None
    ) -> ImportReport:
        """Hash and record every file: the manifest matters most, so it comes before proxies."""
        return ImportReport([self._record(card, candidate, hashed) for candidate in found])

    def make_proxies(
        self, report: ImportReport, todo: list[tuple[str, Path]], done: Callable[[], None]
    ) -> None:
        """Proxy each content in `todo` (from `needing_proxy`), noting problems in `report`."""
        for sha256, path in todo:
            problem = self._make_proxy(sha256, path)
            if problem is None:
                report.proxies += 1
            elif problem:
                report.proxy_problems.append((os.fsdecode(path), problem))
            done()

    def _record(self, card: Path, candidate: Candidate, hashed: Progress | None) -> Imported:
        shown = os.fsdecode(candidate.path)
        if candidate.problem:
            status = "skipped" if candidate.skipped else "failed"
            return Imported(shown, status, reason=candidate.problem)
        local = os.fsencode(candidate.path.absolute())
        try:
            st = os.stat(candidate.path)
            known = self.conn.execute(
                "SELECT sha256 FROM files WHERE local_path = ? AND size = ? AND mtime_ns = ?",
                (local, st.st_size, st.st_mtime_ns),
            ).fetchone()
            if known:
                if hashed:
                    hashed(st.st_size)
                return Imported(shown, "unchanged", known["sha256"])
            sha256 = hash_file(candidate.path, hashed)
            after = os.stat(candidate.path)
        except OSError as exc:
            return Imported(shown, "failed", reason=os_reason(exc))
        if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            return Imported(shown, "failed", reason=N_("changed while it was being read"))
        with self.conn:
            self.conn.execute(
                "INSERT OR IGNORE INTO blobs (sha256, size, first_seen) VALUES (?, ?, "
                "(SELECT COALESCE(MAX(first_seen), 0) + 1 FROM blobs))",
                (sha256, st.st_size),
            )
            self.conn.execute(
                "INSERT INTO files (source, card_path, local_path, size, mtime_ns, sha256, "
                "imported_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.source,
                    card_path(candidate.path, card),
                    local,
                    st.st_size,
                    st.st_mtime_ns,
                    sha256,
                    now(),
                ),
            )
        return Imported(shown, "new", sha256)

    def needing_proxy(self, report: ImportReport) -> list[tuple[str, Path]]:
        """Contents of this import never looked at for a proxy, each once."""
        return list(self._never_proxied(report))

    def _never_proxied(self, report: ImportReport) -> Iterator[tuple[str, Path]]:
        seen: set[str] = set()
        for outcome in report.outcomes:
            if not outcome.sha256 or outcome.sha256 in seen:
                continue
            seen.add(outcome.sha256)
            row = self.conn.execute(
                "SELECT kind FROM blobs WHERE sha256 = ?", (outcome.sha256,)
            ).fetchone()
            if not row["kind"]:  # an import stopped before its proxies resumes here
                yield outcome.sha256, Path(outcome.path)

    def _make_proxy(self, sha256: str, path: Path) -> str | None:
        """Probe, then proxy a video; the reason there is none ('' when that is expected).

        The proxy is encoded in memory and sealed into the kit's folder. What the probe said
        goes to the base with the manifest (sent again if it went before)."""
        # The decoders load here, not with the module: the kit's other commands (status, sync,
        # notes, wipe) import this one and need none of them.
        from rushes.media.probe import probe
        from rushes.media.proxy import make_proxy

        kind, problem, proxy, media, sealed = "", "", None, None, None
        session = self.home.session()
        making = session.making / f"{sessions.token()}.mp4"
        try:
            info = probe(path)
            kind, media = info.kind, json.dumps(claims(info))
            if kind == "video":
                proxy = make_proxy(path, making, height=PROXY_HEIGHT)
                problem = proxy.problem or ""
                proxy_sha256, proxy_size = hash_file(making), making.stat().st_size
                sealed = self.home.seal_proxy(session, making)
        except ProbeError as exc:
            problem = exc.reason  # the report names the file already
        except OSError as exc:
            problem = os_reason(exc)
        except Exception as exc:  # noqa: BLE001 - a damaged card can make PyAV raise anything
            problem = f"cannot be decoded ({type(exc).__name__}: {exc})"
        finally:
            making.unlink(missing_ok=True)
        with self.conn:
            self.conn.execute(
                "UPDATE blobs SET kind = ?, proxy_problem = ?, media = ? WHERE sha256 = ?",
                (kind or "other", problem, media, sha256),
            )
            if media is not None:
                self.conn.execute(
                    "UPDATE files SET manifest_sent_at = NULL WHERE sha256 = ?", (sha256,)
                )
            if sealed is not None:
                kept = self.conn.execute(
                    "UPDATE blobs SET proxy_path = ?, proxy_sha256 = ?, proxy_size = ? "
                    "WHERE sha256 = ? AND proxy_path IS NULL",
                    (str(sealed), proxy_sha256, proxy_size, sha256),
                ).rowcount
                if not kept:  # another import of the same card made it first
                    sealed.unlink(missing_ok=True)
        if sealed is not None:
            return None
        return problem
