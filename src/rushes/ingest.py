"""Take files from a card or a drive into the vault and the catalog.

Order matters for crash safety: the original is durable in the vault before the catalog hears
of it, and the catalog records the arrival and its custody event in one transaction. A run
killed at any point leaves nothing partial; running the same command again finishes the job.
A file already ingested from the same path with the same size and time is not read again, so
re-running over a large drive is cheap.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes import custody
from rushes.catalog import Arrival, Asset, Catalog, Project
from rushes.custody import Verb
from rushes.errors import ProbeError, RushesError, VaultFullError
from rushes.media import probe
from rushes.vault import Stored, Vault, display_path

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Candidate:
    """A file found under the given paths, or a reason it cannot be taken."""

    path: Path
    size: int = 0
    problem: str = ""
    skipped: bool = False  # not a failure: a FIFO, a folder symlink


@dataclass(frozen=True)
class Outcome:
    path: str
    status: str  # new | duplicate | unchanged | skipped | failed | not attempted
    sha256: str = ""
    size: int = 0
    reason: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    aborted: str = ""

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return not self.aborted and self.count("failed") == 0


def walk(paths: Iterable[Path]) -> Iterator[Candidate]:
    """Every regular file under `paths`. Folder symlinks are not followed (no loops)."""
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            yield Candidate(path, problem=_os_reason(exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(path)
        else:
            yield _candidate(path, st)


def _walk_dir(folder: Path) -> Iterator[Candidate]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        yield Candidate(folder, problem=f"cannot list folder: {_os_reason(exc)}")
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk_dir(path)
                continue
            st = os.stat(path)  # follows a file symlink to what it names
        except OSError as exc:
            yield Candidate(path, problem=_os_reason(exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield Candidate(path, skipped=True, problem="symlink to a folder, not followed")
        else:
            yield _candidate(path, st)


def _candidate(path: Path, st: os.stat_result) -> Candidate:
    if not stat.S_ISREG(st.st_mode):
        return Candidate(path, skipped=True, problem="not a regular file (device, FIFO, socket)")
    return Candidate(path, size=st.st_size)


def _os_reason(exc: OSError) -> str:
    if exc.errno == 40:  # ELOOP
        return "symlink loop"
    if isinstance(exc, FileNotFoundError):
        return "does not exist (or a broken symlink)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


class Ingest:
    """One ingest run: a project, a crew member, a source label and who is acting."""

    def __init__(
        self,
        catalog: Catalog,
        vault: Vault,
        *,
        project: str,
        crew: str = "",
        source: str = "",
        actor: str,
    ) -> None:
        self.catalog, self.vault = catalog, vault
        self.crew, self.source, self.actor = crew, source, actor
        self.project_id = ensure_project(catalog, project)

    def run(self, candidates: Iterable[Candidate], progress: Progress | None = None) -> Report:
        report = Report()
        pending = list(candidates)
        for index, candidate in enumerate(pending):
            try:
                report.outcomes.append(self.take(candidate))
            except VaultFullError as exc:
                report.aborted = str(exc)
                report.outcomes.append(self._failed(candidate, str(exc)))
                report.outcomes += [
                    Outcome(display_path(c.path), "not attempted", size=c.size)
                    for c in pending[index + 1 :]
                ]
                break
            if progress:
                progress(candidate.size)
        probe_pending(self.catalog, self.vault, self.actor)
        return report

    def take(self, candidate: Candidate) -> Outcome:
        """Ingest one file; every problem becomes a failed outcome except a full vault."""
        shown = display_path(candidate.path)
        if candidate.problem:
            status = "skipped" if candidate.skipped else "failed"
            return Outcome(shown, status, reason=candidate.problem)
        raw_path = os.fsencode(candidate.path.absolute())
        try:
            if self._unchanged(raw_path, candidate.path):
                return Outcome(shown, "unchanged", size=candidate.size)
            stored, source = self.vault.put_file(candidate.path)
            status = self._record(stored, raw_path, source.mtime_ns)
        except VaultFullError:
            raise
        except (RushesError, OSError) as exc:
            return self._failed(candidate, str(exc))
        return Outcome(shown, status, stored.sha256, stored.size)

    def _failed(self, candidate: Candidate, reason: str) -> Outcome:
        return Outcome(display_path(candidate.path), "failed", size=candidate.size, reason=reason)

    def _unchanged(self, raw_path: bytes, path: Path) -> bool:
        st = os.stat(path)
        with self.catalog.read() as session:
            return (
                session.scalar(
                    select(Arrival.id).where(
                        Arrival.project_id == self.project_id,
                        Arrival.path_bytes == raw_path,
                        Arrival.size == st.st_size,
                        Arrival.mtime_ns == st.st_mtime_ns,
                    )
                )
                is not None
            )

    def _record(self, stored: Stored, raw_path: bytes, mtime_ns: int) -> str:
        with self.catalog.write() as session:
            return record_arrival(
                session,
                stored,
                project_id=self.project_id,
                crew=self.crew,
                source=self.source,
                raw_path=raw_path,
                mtime_ns=mtime_ns,
                actor=self.actor,
            )


def record_arrival(
    session: Session,
    stored: Stored,
    *,
    project_id: int,
    crew: str,
    source: str,
    raw_path: bytes,
    mtime_ns: int | None,
    actor: str,
) -> str:
    """Record bytes already durable in the vault; returns "new" or "duplicate"."""
    asset = session.get(Asset, stored.sha256)
    new = asset is None
    if asset is None:
        asset = Asset(sha256=stored.sha256, sha512=stored.sha512, size=stored.size)
        session.add(asset)
    shown = display_path(raw_path)
    session.add(
        Arrival(
            asset=asset,
            project_id=project_id,
            crew=crew,
            source=source,
            path=shown,
            path_bytes=raw_path,
            size=stored.size,
            mtime_ns=mtime_ns,
            actor=actor,
            duplicate=not new,
        )
    )
    project = session.get(Project, project_id)
    custody.append(
        session,
        Verb.RECEIVED if new else Verb.DUPLICATE_RECEIVED,
        actor=actor,
        asset=stored.sha256,
        details={
            "project": project.slug if project else None,
            "crew": crew,
            "source": source,
            "path": shown,
            "size": stored.size,
            "sha512": stored.sha512,
        },
    )
    return "new" if new else "duplicate"


def ensure_project(catalog: Catalog, slug: str) -> int:
    """The project's id, creating it on first use (a laptop base needs no setup step)."""
    with catalog.read() as session:
        found = session.scalar(select(Project.id).where(Project.slug == slug))
    if found is not None:
        return found
    with catalog.write() as session:
        found = session.scalar(select(Project.id).where(Project.slug == slug))
        if found is None:
            project = Project(slug=slug, name=slug)
            session.add(project)
            session.flush()
            found = project.id
        return found


def probe_pending(catalog: Catalog, vault: Vault, actor: str) -> int:
    """Probe every asset not yet described, including those a killed run left behind."""
    with catalog.read() as session:
        pending = session.scalars(
            select(Asset.sha256).where(Asset.media.is_(None), Asset.probe_error.is_(None))
        ).all()
    for sha256 in pending:
        probe_asset(catalog, vault, sha256, actor)
    return len(pending)


def probe_asset(catalog: Catalog, vault: Vault, sha256: str, actor: str) -> None:
    """Describe a stored original. A file we cannot decode stays preserved, with the reason."""
    try:
        info = probe(vault.local_path(sha256))
    except ProbeError as exc:
        with catalog.write() as session:
            asset = session.get(Asset, sha256)
            if asset is not None:
                asset.kind, asset.probe_error = "other", str(exc)
            custody.append(
                session, Verb.PROBE_FAILED, actor=actor, asset=sha256, details={"reason": str(exc)}
            )
        return
    media = info.as_dict()
    captured = _captured(media)
    with catalog.write() as session:
        asset = session.get(Asset, sha256)
        if asset is None:
            return
        asset.kind, asset.media, asset.probe_error = info.kind, media, None
        asset.captured_at, asset.captured_offset = captured
        custody.append(
            session,
            Verb.PROBED,
            actor=actor,
            asset=sha256,
            details={"kind": info.kind, "container": media.get("container")},
        )


def _captured(media: dict[str, Any]) -> tuple[datetime | None, str | None]:
    """Capture time in UTC, and the local offset the device wrote ("+03:00"), if it wrote one.

    A file that only carries UTC (most MP4 writers) has no local offset to keep.
    """
    utc, local = media.get("created_at_utc"), media.get("created_at")
    if not utc:
        return None, None
    moment = datetime.fromisoformat(utc)
    if not local or local.endswith("Z"):
        return moment, None
    offset = datetime.fromisoformat(local).strftime("%z")
    return moment, f"{offset[:3]}:{offset[3:]}"
