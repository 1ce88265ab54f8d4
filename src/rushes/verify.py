"""`rushes verify`: re-hash every original and walk the custody chain.

Each asset's check is itself a custody event (fixity-ok or fixity-failed), committed in small
batches so an interrupted run keeps what it proved. Originals are checked several at a time
(an object store answers each request slowly, but many at once). `quick` asks a store that
keeps its own SHA-256 checksums (S3) for them and for the retention instead of reading the
bytes: a different check, logged as store-check-ok or store-check-failed. The full check of
such a store asks for them too, so an original whose bytes are intact but whose retention is
gone (or was never set) fails it as well.

Originals in the vault that the catalog does not know (left by a run killed between the two)
are listed; ingesting the source again files them. With a replica, both copies are checked and
a bad one is restored from the good one (`replica.reconcile`); only an original with no good
copy left is a failure.

Derivatives (proxies, posters, strips) are re-hashed too, against the SHA-256 recorded when
they were made. They are not evidence, so a damaged one is no custody event: it is marked
damaged (the web app stops serving it) and its step is sent back to the queue, so the next
`rushes process` (or the server's pipeline) rebuilds it. One made before hashes were recorded
has its hash recorded on its first check, if its size is still the recorded one.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from rushes import custody
from rushes.catalog import Asset, Catalog, CustodyEvent
from rushes.catalog.models import Derivative, StepState
from rushes.custody import ChainReport, Verb
from rushes.derivatives import MADE_BY, Derivatives
from rushes.errors import StoreUnavailable
from rushes.replica import Event, Replica, append_events, fixity_event, reconcile, replicated
from rushes.vault import Fixity, Vault
from rushes.waiting import waited

_BATCH = 50
_READERS = 2  # originals re-hashed at once (each holds up to 64 MiB in flight)
_ASKERS = 16  # store checksums asked for at once


@dataclass
class VerifyReport:
    checked: int = 0
    failures: list[Fixity] = field(default_factory=list)  # originals with no good copy left
    repairs: list[str] = field(default_factory=list)  # copies restored from the other copy
    unreplicated: int = 0  # originals not copied to the replica yet
    unknown_in_vault: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)  # assets with no matching arrival event
    in_field: int = 0  # listed by a field kit's manifest; bytes not here yet, nothing to check
    chain: ChainReport = field(default_factory=ChainReport)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.unrecorded and self.chain.ok


@dataclass(frozen=True)
class Damaged:
    sha256: str  # the asset it was made from
    name: str
    problem: str
    rebuild: bool  # its step is queued again; False: sent by a field kit, only the crew has it


@dataclass
class DerivativeReport:
    checked: int = 0
    damaged: list[Damaged] = field(default_factory=list)
    first_hashed: int = 0  # made before hashes were recorded: hash recorded now


def total_bytes(catalog: Catalog) -> int:
    with catalog.read() as session:
        query = select(func.coalesce(func.sum(Asset.size), 0)).where(Asset.in_vault)
        return session.scalar(query) or 0


def verify(
    catalog: Catalog,
    vault: Vault,
    *,
    actor: str,
    progress: Callable[[int], None] | None = None,
    replica: Replica | None = None,
    quick: bool = False,
) -> VerifyReport:
    report = VerifyReport()
    with catalog.snapshot() as session:
        report.chain = custody.verify_chain(session)
        known = list(
            session.execute(select(Asset.sha256, Asset.size, Asset.sha512).where(Asset.in_vault))
        )
        in_field = list(
            session.execute(select(Asset.sha256, Asset.size, Asset.sha512).where(~Asset.in_vault))
        )
        report.in_field = len(in_field)
        report.unrecorded = _unrecorded(session, known, Verb.RECEIVED) + _unrecorded(
            session, in_field, Verb.MANIFESTED
        )
        copied = replicated(session, replica) if replica else set()
    record = not report.chain.head_missing
    if replica and record and not quick:  # a repair must be logged: none on a chain that
        copied |= set(replica.vault.hashes())  # cannot be appended to
    else:
        replica = None
    events: list[Event] = []

    def check(row: Row[tuple[str, int, str | None]]) -> Fixity:
        sha256, size, sha512 = row
        if quick:
            return vault.quick_check(sha256, size)
        result = vault.check(sha256, size, sha512)
        if result.ok and vault.backend.store_checksums:  # the full check covers the store's too
            stored = vault.quick_check(sha256, size)
            if not stored.ok:
                return Fixity(sha256, False, f"the bytes are intact, but {stored.problem}")
        return result

    with ThreadPoolExecutor(_ASKERS if quick else _READERS) as pool:
        checks = [pool.submit(check, row) for row in known]
        try:
            for (sha256, size, sha512), future in zip(known, checks, strict=True):
                result = waited(future)
                events.append(_store_event(result) if quick else fixity_event(result))
                report.checked += 1
                failure = None if result.ok else result
                if replica:
                    outcome = reconcile(vault, replica, result, size, sha512, sha256 in copied)
                    events += outcome.events
                    report.repairs += outcome.repairs
                    report.unreplicated += outcome.unreplicated
                    failure = outcome.failure
                if failure:
                    report.failures.append(failure)
                if progress:
                    progress(size)
                if record and len(events) >= _BATCH:
                    append_events(catalog, events, actor)
                    events = []
        except (KeyboardInterrupt, StoreUnavailable):
            # Ctrl-C, or a store that stopped answering: the originals being re-hashed give up
            # at their next chunk, the rest are not started, and the checks already done are
            # logged before the run stops (an unanswered check proves nothing either way).
            vault.stop()
            for future in checks:
                future.cancel()
            if record:
                append_events(catalog, events, actor)
            raise
    if record:
        append_events(catalog, events, actor)
    report.unknown_in_vault = sorted(set(vault.hashes()) - {sha for sha, _, _ in known})
    if report.chain.head_missing:
        return report  # nothing can be appended to a chain without a head; the report says so
    with catalog.write() as session:
        custody.append(
            session,
            Verb.CHAIN_VERIFIED,
            actor=actor,
            details={
                "ok": report.chain.ok,
                "events": report.chain.events,
                "head": report.chain.head_hash,
                "problems": report.chain.problems[:10],
            },
        )
    return report


def _store_event(result: Fixity) -> Event:
    details: dict[str, Any] = {"algorithm": "store sha256 checksum + retention"}
    if not result.ok:
        details["problem"] = result.problem
    verb = Verb.STORE_CHECK_OK if result.ok else Verb.STORE_CHECK_FAILED
    return (verb, result.sha256, details)


def _unrecorded(
    session: Session, known: list[Row[tuple[str, int, str | None]]], verb: Verb
) -> list[str]:
    """Assets whose arrival (or, still in the field, whose manifest entry) is not in the custody
    log with the same size and SHA-512: rows written into the catalog behind the log's back."""
    received: dict[str, list[dict[str, object]]] = {}
    for event in session.scalars(select(CustodyEvent).where(CustodyEvent.verb == verb.value)):
        with contextlib.suppress(ValueError):
            received.setdefault(event.asset_sha256 or "", []).append(json.loads(event.details))
    return [
        sha
        for sha, size, sha512 in known
        if not any(
            d.get("sha512") == sha512 and d.get("size") == size for d in received.get(sha, [])
        )
    ]


def verify_derivatives(
    catalog: Catalog, derivatives: Derivatives, progress: Callable[[int], None] | None = None
) -> DerivativeReport:
    """Re-hash every derivative; mark a damaged or missing one and queue its step again."""
    report = DerivativeReport()
    with catalog.read() as session:
        rows = list(session.execute(select(Derivative.asset_sha256, Derivative.name)))
    for sha256, name in rows:
        with catalog.write() as session:
            row = session.get(Derivative, (sha256, name))
            if row is None:
                continue  # rebuilt or removed since the list was read
            report.checked += 1
            details = dict(row.details or {})
            problem = _damage(derivatives, sha256, name, row.size, details)
            if problem is None and "sha256" not in details:
                details["sha256"] = derivatives.digest(sha256, name)
                report.first_hashed += 1
            if problem is None:
                details.pop("damaged", None)
            else:
                details["damaged"] = problem
                report.damaged.append(Damaged(sha256, name, problem, _requeue(session, row)))
            if details != (row.details or {}):
                row.details = details
        if progress:
            progress(row.size if row is not None else 0)
    return report


def _damage(
    derivatives: Derivatives, sha256: str, name: str, size: int, details: dict[str, object]
) -> str | None:
    actual = derivatives.size(sha256, name)
    if actual is None:
        return "missing"
    if actual != size:
        return f"size is {actual} bytes, recorded {size}"
    recorded = details.get("sha256")
    if recorded and derivatives.digest(sha256, name) != recorded:
        return "content does not match its recorded SHA-256"
    return None


def _requeue(session: Session, row: Derivative) -> bool:
    """Send the step that made this derivative back to the queue, where the base can make it."""
    asset = session.get(Asset, row.asset_sha256)
    step = session.get(StepState, (row.asset_sha256, MADE_BY.get(row.kind, "")))
    if asset is None or not asset.in_vault or step is None:
        return False
    if step.status != "running":
        step.status, step.error = "pending", None
    return True
