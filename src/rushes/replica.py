"""A second copy of every original in another vault (`rushes vault replicate`), and the
comparison of both copies that lets `rushes verify` repair one from the other.

The replica is a vault like the main one (same layout, same write-once code), so either can
rebuild the other. Each copy is read from one vault and kept by the other only if its SHA-256
and size match as it is written (`Vault.copy_from`); a `replicated` event then records it. A
killed run loses at most the events of its last batch: the next run finds those copies in
place, re-checks them as it stores them again, and records them; copies already recorded and
present are skipped.

A replica is named by its target: a folder or an `s3://bucket/prefix` (the S3 settings
apply); everything else speaks to a `Vault`. `rushes vault copy` uses the same path to move a
local vault into S3.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes import custody
from rushes.catalog import Asset, Catalog, CustodyEvent
from rushes.custody import Verb
from rushes.errors import ConfigError, VaultError, VaultFullError
from rushes.settings import S3_URL, Settings
from rushes.vault import Fixity, Vault, open_local, open_vault

_BATCH = 50

# One custody event waiting to be appended: verb, asset, details.
Event = tuple[Verb, str | None, dict[str, Any]]


@dataclass(frozen=True)
class Replica:
    name: str  # where it is, as custody events name it: an absolute folder path
    vault: Vault


def open_replica(target: str | Path, settings: Settings, *, create: bool) -> Replica:
    """Open the replica at `target`. `create=False` (verify) refuses a folder that is not there,
    so an unmounted disk is named rather than silently refilled at its mount point."""
    if "://" in str(target) and not S3_URL.fullmatch(str(target)):
        raise ConfigError(
            f"{target!r} is neither a folder nor an s3://bucket/prefix address (bucket names "
            "are lower case)"
        )
    if str(target).startswith("s3://"):
        if str(target).rstrip("/") == settings.vault_url.rstrip("/"):
            raise ConfigError(f"{target} is the vault itself; a replica must be another place")
        return Replica(str(target), open_vault(settings, str(target)))
    root = Path(target).expanduser().absolute()
    if not settings.vault_url and root.resolve() == settings.vault_dir.resolve():
        raise ConfigError(f"{root} is the vault itself; a replica must be another folder")
    if not create and not (root / "originals").is_dir():
        raise ConfigError(
            f"the replica at {root} is not there (disk not mounted?); mount it, or run "
            f"`rushes vault replicate --to {root}` to make it again"
        )
    return Replica(str(root), open_local(root))


def configured_replica(settings: Settings) -> Replica | None:
    """The replica `RUSHES_REPLICA_DIR` names, which `rushes verify` checks; None if unset."""
    if settings.replica_dir is None:
        return None
    return open_replica(settings.replica_dir, settings, create=False)


def replicated(session: Session, replica: Replica) -> set[str]:
    """Hashes whose copy in this replica a `replicated` event records."""
    query = select(CustodyEvent.asset_sha256, CustodyEvent.details).where(
        CustodyEvent.verb == Verb.REPLICATED.value
    )
    return {sha for sha, details in session.execute(query) if _to(details) == replica.name}


def _to(details: str) -> object:
    try:
        return json.loads(details).get("to")
    except (ValueError, AttributeError):
        return None


@dataclass
class ReplicateReport:
    copied: int = 0
    present: int = 0  # recorded earlier and still there: skipped
    failures: list[str] = field(default_factory=list)


def replicate(
    catalog: Catalog,
    vault: Vault,
    replica: Replica,
    *,
    actor: str,
    progress: Callable[[int], None] | None = None,
) -> ReplicateReport:
    """Copy every original the replica lacks; a damaged or missing one in the vault is named
    (run `rushes verify`), never copied."""
    with catalog.read() as session:
        known = list(session.execute(select(Asset.sha256, Asset.size).where(Asset.in_vault)))
        done = replicated(session, replica)
    there = set(replica.vault.hashes())
    report = ReplicateReport()
    pending: list[Event] = []
    try:
        for sha256, size in known:
            if sha256 in done and sha256 in there:
                report.present += 1
            elif problem := copy_original(vault, replica.vault, sha256, size):
                report.failures.append(f"{sha256}: {problem}")
            else:
                report.copied += 1
                pending.append((Verb.REPLICATED, sha256, {"to": replica.name, "size": size}))
            if progress:
                progress(size)
            if len(pending) >= _BATCH:
                append_events(catalog, pending, actor)
                pending = []
    finally:
        append_events(catalog, pending, actor)  # what was copied is recorded, even on a stop
    return report


def copy_original(source: Vault, target: Vault, sha256: str, size: int) -> str:
    """Copy one original; "" or what went wrong. A full disk stops the whole run."""
    try:
        target.copy_from(source, sha256, size)
    except FileNotFoundError:
        return f"missing from {source.backend.locate(sha256)}"
    except VaultFullError:
        raise
    except (VaultError, OSError) as exc:
        return str(exc)
    return ""


@dataclass
class Reconciled:
    """What comparing one original's two copies found and did."""

    events: list[Event] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    failure: Fixity | None = None
    unreplicated: bool = False


def reconcile(
    vault: Vault, replica: Replica, found: Fixity, size: int, sha512: str | None, copied: bool
) -> Reconciled:
    """Check the replica's copy of an original whose vault copy was checked as `found`, and
    repair whichever copy is bad from the good one. `copied`: the replica holds it or once did
    (one never copied there is not damage, only not replicated yet)."""
    sha256, outcome = found.sha256, Reconciled()
    if not copied:
        outcome.unreplicated = True
        outcome.failure = None if found.ok else found
        return outcome
    copy = replica.vault.check(sha256, size, sha512)
    outcome.events.append(fixity_event(copy, replica.name))
    if found.ok and copy.ok:
        return outcome
    if not found.ok and not copy.ok:
        outcome.failure = Fixity(
            sha256,
            False,
            f"no good copy left: vault: {found.problem}; replica: {copy.problem}",
        )
        return outcome
    if copy.ok:  # the vault's copy is bad: bring it back from the replica
        bad, good, place, source, problem = vault, replica.vault, "vault", replica.name, found
    else:
        bad, good, place, source, problem = replica.vault, vault, replica.name, "vault", copy
    label = "vault" if copy.ok else "replica"
    if failed := copy_original(good, bad, sha256, size):
        outcome.failure = Fixity(
            sha256, False, f"{label} copy {problem.problem}; repair failed: {failed}"
        )
        return outcome
    details = {"problem": problem.problem, "restored_from": source, "copy": place}
    outcome.events.append((Verb.REPAIRED, sha256, details))
    outcome.repairs.append(f"{sha256}: {label} copy {problem.problem}; restored from {source}")
    return outcome


def fixity_event(result: Fixity, copy: str = "") -> Event:
    """The custody event of one fixity check; `copy` names a replica (the vault's own copy has
    none, as before replicas existed)."""
    details: dict[str, Any] = {"algorithm": "sha256+sha512"}
    if copy:
        details["copy"] = copy
    if not result.ok:
        details["problem"] = result.problem
    return (Verb.FIXITY_OK if result.ok else Verb.FIXITY_FAILED, result.sha256, details)


def append_events(catalog: Catalog, events: list[Event], actor: str) -> None:
    if not events:
        return
    with catalog.write() as session:
        custody.append_many(session, events, actor=actor)
