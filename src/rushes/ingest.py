"""Take files from a card or a drive into the vault and the catalog.

Order matters for crash safety: the original is durable in the vault before the catalog hears
of it, and the catalog records the arrival and its custody event in one transaction. A run
killed at any point leaves nothing partial; running the same command again finishes the job.
A file already ingested from the same card label and path, with the same size, time and the
same first and last 64 KiB, is not read again (re-running over a large drive is cheap), unless
the vault's copy of it failed its last check or is gone: storing it again repairs the vault.
One file is stored and recorded while the next is read and hashed: sending to a remote store
overlaps with the hashing, and the order of the records is the order of the files.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from rushes import custody
from rushes.base import Base
from rushes.cards import Candidate
from rushes.catalog import Arrival, Asset, Catalog, Project
from rushes.custody import Verb
from rushes.errors import (
    ConfigError,
    InvalidInput,
    RushesError,
    StoreUnavailable,
    VaultFullError,
    os_reason,
)
from rushes.media.capture import captured
from rushes.media.probe import FIELD_KIT
from rushes.pipeline.runner import queue, run_inline
from rushes.vault import Stored, display_path
from rushes.vault.store import Read
from rushes.waiting import waited

Progress = Callable[[int], None]
_SAMPLE = 64 << 10


@dataclass(frozen=True)
class Outcome:
    path: str
    status: str  # new | duplicate | repaired | unchanged | skipped | failed | not attempted
    sha256: str = ""
    size: int = 0
    reason: str = ""


@dataclass(frozen=True)
class _Reading:
    """A file read and hashed, to be stored and recorded."""

    candidate: Candidate
    raw_path: bytes
    sample: str
    read: Read


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    aborted: str = ""  # why the run stopped before its last file
    interrupted: bool = False  # stopped by Ctrl-C

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return not self.aborted and self.count("failed") == 0


def _stopped(exc: Exception) -> str:
    """Why a run stopped, and what to do."""
    if isinstance(exc, DBAPIError):
        return f"catalog error: {exc.orig}"
    if isinstance(exc, StoreUnavailable):
        return f"{exc}; run the same command again once it answers (what was stored is kept)"
    return str(exc)


def sample_digest(path: Path, size: int) -> str:
    """SHA-256 of the size and the first and last 64 KiB: cheap evidence that a file at a
    path is still the one ingested from there, not another card's file of the same name."""
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        digest.update(f.read(_SAMPLE))
        if size > 2 * _SAMPLE:
            f.seek(size - _SAMPLE)
        digest.update(f.read(_SAMPLE))
    return digest.hexdigest()


def path_key(raw_path: bytes) -> str:
    """Source paths can be longer than an index allows; look them up by their hash."""
    return hashlib.sha256(raw_path).hexdigest()


class Ingest:
    """One ingest run: a project, a crew member, a source label and who is acting."""

    def __init__(
        self,
        base: Base,
        *,
        project: str,
        crew: str = "",
        source: str = "",
        actor: str,
    ) -> None:
        self.base, self.catalog, self.vault = base, base.catalog, base.vault
        self.crew, self.source, self.actor = crew, source, actor
        self.project_id = ensure_project(self.catalog, project)

    def run(self, candidates: Iterable[Candidate], progress: Progress | None = None) -> Report:
        report = Report()
        pending = list(candidates)
        with ThreadPoolExecutor(1, thread_name_prefix="ingest-store") as storing:
            try:
                for outcome in self._outcomes(pending, storing):
                    report.outcomes.append(outcome)
                    if progress:
                        progress(pending[len(report.outcomes) - 1].size)
            except KeyboardInterrupt:
                # Ctrl-C: the file being sent gives up at its next part and is not recorded, so
                # the run stops in a moment, not when a big upload ends; a rerun sends it again.
                # The crew still learn what was stored before they stopped it.
                self.vault.stop()
                report.interrupted = True
                report.aborted = (
                    "Ctrl-C; run the same command again to send the rest (what was stored is kept)"
                )
                report.outcomes += [
                    Outcome(display_path(c.path), "not attempted", size=c.size)
                    for c in pending[len(report.outcomes) :]
                ]
            except (VaultFullError, StoreUnavailable, ConfigError, DBAPIError) as exc:
                report.aborted = _stopped(exc)
                stopped = len(report.outcomes)
                report.outcomes.append(self._failed(pending[stopped], str(exc)))
                report.outcomes += [
                    Outcome(display_path(c.path), "not attempted", size=c.size)
                    for c in pending[stopped + 1 :]
                ]
        # Probed at once where the original is a file here; from a remote vault the pipeline
        # probes it where it decodes (on a worker, perhaps), not this machine after a download.
        if not report.aborted and not self.vault.backend.remote:
            run_inline(
                self.base, ["probe", "provenance"], {o.sha256 for o in report.outcomes if o.sha256}
            )
        return report

    def _outcomes(self, pending: list[Candidate], storing: Executor) -> Iterator[Outcome]:
        """Each file's outcome, in order. A file is stored and recorded by `storing` while the
        next one is read and hashed here: sending to a remote store and hashing then overlap.
        A full vault, a silent store or a failing catalog is raised where its file's outcome
        would be."""
        sent: Future[Outcome] | None = None
        for candidate in pending:
            try:
                step = self._read(candidate)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    self.vault.stop()  # not to wait for the whole of the file before
                if sent is not None:
                    yield waited(sent)  # the file before, first
                raise
            if sent is not None:
                try:
                    yield waited(sent)
                except BaseException:
                    if isinstance(step, _Reading):
                        self.vault.discard(step.read)
                    raise
                sent = None
            if isinstance(step, Outcome):
                yield step
            else:
                sent = storing.submit(self._store, step)
        if sent is not None:
            yield waited(sent)

    def _read(self, candidate: Candidate) -> Outcome | _Reading:
        """A file's outcome if it need not be stored (skipped, unchanged, unreadable), else
        the file read and hashed. Raises a full vault, a silent store or a failing catalog."""
        shown = display_path(candidate.path)
        if candidate.problem:
            status = "skipped" if candidate.skipped else "failed"
            return Outcome(shown, status, reason=candidate.problem)
        raw_path = os.fsencode(candidate.path.absolute())
        try:
            st = os.stat(candidate.path)
            sample = sample_digest(candidate.path, st.st_size)
            if self._unchanged(raw_path, st, sample):
                return Outcome(shown, "unchanged", size=candidate.size)
            return _Reading(candidate, raw_path, sample, self.vault.read_file(candidate.path))
        except (RushesError, OSError) as exc:
            return self._refused(candidate, exc)

    def _store(self, reading: _Reading) -> Outcome:
        """Store what was read, then record its arrival: the original is durable first."""
        try:
            stored, source = self.vault.store(reading.read)
            with self.catalog.write() as session:
                status = record_arrival(
                    session,
                    stored,
                    project_id=self.project_id,
                    crew=self.crew,
                    source=self.source,
                    raw_path=reading.raw_path,
                    mtime_ns=source.mtime_ns,
                    sample=reading.sample,
                    actor=self.actor,
                )
        except (RushesError, OSError) as exc:
            return self._refused(reading.candidate, exc)
        return Outcome(display_path(reading.candidate.path), status, stored.sha256, stored.size)

    def _refused(self, candidate: Candidate, exc: RushesError | OSError) -> Outcome:
        """A failed outcome, except for a full vault or a store that does not answer (or
        turned out misconfigured), which stop the run: every file after would fail alike."""
        if isinstance(exc, VaultFullError | StoreUnavailable | ConfigError):
            raise exc
        reason = str(exc) if isinstance(exc, RushesError) else f"cannot read: {os_reason(exc)}"
        return self._failed(candidate, reason)

    def _failed(self, candidate: Candidate, reason: str) -> Outcome:
        return Outcome(display_path(candidate.path), "failed", size=candidate.size, reason=reason)

    def _unchanged(self, raw_path: bytes, st: os.stat_result, sample: str) -> bool:
        """Ingested before from this card and path, still the same file, and its original
        still sound: one whose vault copy failed its last check, or is gone, is read again so
        that storing it repairs the vault (the card may be the only good copy left)."""
        with self.catalog.read() as session:
            sha256 = session.scalar(
                select(Arrival.asset_sha256)
                .where(
                    Arrival.project_id == self.project_id,
                    Arrival.path_key == path_key(raw_path),
                    Arrival.source == self.source,
                    Arrival.size == st.st_size,
                    Arrival.mtime_ns == st.st_mtime_ns,
                    Arrival.sample == sample,
                    Arrival.via == "ingest",
                )
                .limit(1)
            )
            if sha256 is None or custody.copy_failed(session, sha256):
                return False
        # A folder is asked at the cost of a stat; a remote store is not asked for each file
        # (slow over a big drive): an original lost there is a failed check in the log.
        return self.vault.backend.remote or self.vault.contains(sha256)


def record_arrival(
    session: Session,
    stored: Stored,
    *,
    project_id: int,
    crew: str,
    source: str,
    raw_path: bytes,
    mtime_ns: int | None,
    sample: str | None,
    actor: str,
    via: str = "ingest",
) -> str:
    """Record bytes already durable in the vault; returns "new", "duplicate" or "repaired" (a
    duplicate whose bytes replaced a damaged or missing stored copy).

    Bytes of an original known so far only from a field kit's manifest count as new: this is
    their first arrival, and the manifest's entry is now backed by the original.
    """
    custody.lock_head(session)  # one writer at a time, on PostgreSQL as on SQLite
    asset = session.get(Asset, stored.sha256)
    new = asset is None or not asset.in_vault
    if asset is None:
        asset = Asset(sha256=stored.sha256, sha512=stored.sha512, size=stored.size)
        session.add(asset)
        session.flush()
    if new:
        asset.sha512, asset.in_vault = stored.sha512, True
        queue(session, stored.sha256)
    shown = _log_arrival(
        session,
        Arrival(
            asset=asset,
            project_id=project_id,
            crew=crew,
            source=source,
            path_bytes=raw_path,
            size=stored.size,
            mtime_ns=mtime_ns,
            sample=sample,
            actor=actor,
            duplicate=not new,
            via=via,
        ),
        Verb.RECEIVED if new else Verb.DUPLICATE_RECEIVED,
        sha512=stored.sha512,
    )
    repair = stored.repair or ("missing from the vault" if stored.created and not new else "")
    if repair:
        custody.append(
            session,
            Verb.REPAIRED,
            actor=actor,
            asset=stored.sha256,
            details={"problem": repair, "restored_from": shown},
        )
        return "repaired"
    return "new" if new else "duplicate"


def ensure_project(catalog: Catalog, slug: str) -> int:
    """The project's id, creating it on first use (a laptop base needs no setup step)."""
    with catalog.read() as session:
        found = session.scalar(select(Project.id).where(Project.slug == slug))
    if found is not None:
        return found
    with catalog.write() as session:
        custody.lock_head(session)
        found = session.scalar(select(Project.id).where(Project.slug == slug))
        if found is None:
            project = Project(slug=slug, name=slug)
            session.add(project)
            session.flush()
            found = project.id
        return found


def record_manifest(
    session: Session,
    *,
    sha256: str,
    size: int,
    project_id: int,
    crew: str,
    source: str,
    raw_path: bytes,
    mtime_ns: int | None,
    actor: str,
    claims: dict[str, Any] | None = None,
) -> str:
    """Record one entry of a field kit's manifest: an original hashed on the card, whose bytes
    are still in the field. Custody starts here, before any byte leaves the city.

    `claims` is what the kit's own probe said (a probe result marked `from` the field kit): kept
    as the asset's media until the base probes the original itself, so the player counts
    frames at the real rate and the capture day is known while the original is still away.

    Returns "new" (first word of this original from this crew in this project), "known" (this
    crew brought it or listed it here before) or "listed" (this very entry came before: a
    manifest sent again after a cut link).
    """
    custody.lock_head(session)
    asset = session.get(Asset, sha256)
    own = session.scalar(
        select(Arrival.id)
        .where(
            Arrival.asset_sha256 == sha256,
            Arrival.project_id == project_id,
            Arrival.crew == crew,
        )
        .limit(1)
    )
    if asset is not None and own is None:
        # Known only from another crew or project: a hash and a size prove nothing (anyone may
        # have read them), so record nothing and answer as for a file the base lacks, its size
        # unsaid. The bytes themselves, once uploaded or ingested, bring the asset to this crew.
        return "new"
    if asset is not None and asset.size != size:
        raise InvalidInput(
            f"{display_path(raw_path)}: the base holds {sha256[:12]} with {asset.size} bytes, "
            f"the manifest says {size}; hash the file again"
        )
    key = path_key(raw_path)
    repeat = session.scalar(
        select(Arrival.id).where(
            Arrival.project_id == project_id,
            Arrival.path_key == key,
            Arrival.asset_sha256 == sha256,
            Arrival.crew == crew,
            Arrival.via == "manifest",
        )
    )
    if repeat is not None:
        _claim(asset, claims)
        return "listed"
    new = asset is None
    if asset is None:
        asset = Asset(sha256=sha256, sha512=None, size=size, in_vault=False)
        session.add(asset)
        session.flush()
    _claim(asset, claims)
    arrival = Arrival(
        asset=asset,
        project_id=project_id,
        crew=crew,
        source=source,
        path_bytes=raw_path,
        size=size,
        mtime_ns=mtime_ns,
        actor=actor,
        duplicate=not new,
        via="manifest",
    )
    _log_arrival(session, arrival, Verb.MANIFESTED, sha512=None)
    return "new" if new else "known"


def _claim(asset: Asset | None, claims: dict[str, Any] | None) -> None:
    """Keep the kit's probe as the asset's media unless the base has probed the original."""
    if claims is None or asset is None or asset.in_vault or asset.probe_error:
        return
    if asset.media is not None and asset.media.get("from") != FIELD_KIT:
        return
    asset.kind, asset.media = claims["kind"], {**claims, "from": FIELD_KIT}
    asset.captured_at, asset.captured_offset = captured(claims)


def _log_arrival(session: Session, arrival: Arrival, verb: Verb, *, sha512: str | None) -> str:
    """Add the arrival (its printable path and lookup key filled in) with its custody event,
    in the caller's transaction; returns the printable path."""
    arrival.path = display_path(arrival.path_bytes)
    arrival.path_key = path_key(arrival.path_bytes)
    session.add(arrival)
    project = session.get(Project, arrival.project_id)
    custody.append(
        session,
        verb,
        actor=arrival.actor,
        asset=arrival.asset.sha256,
        details={
            "project": project.slug if project else None,
            "crew": arrival.crew,
            "source": arrival.source,
            "path": arrival.path,
            "size": arrival.size,
            "sha512": sha512,
            "via": arrival.via,
        },
    )
    return arrival.path
