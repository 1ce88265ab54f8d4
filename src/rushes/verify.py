"""`rushes verify`: re-hash every original and walk the custody chain.

Each asset's check is itself a custody event (fixity-ok or fixity-failed), committed in small
batches so an interrupted run keeps what it proved. Originals in the vault that the catalog does
not know (left by a run killed between the two) are listed; ingesting the source again files
them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from rushes import custody
from rushes.catalog import Asset, Catalog
from rushes.custody import ChainReport, Verb
from rushes.vault import Fixity, Vault

_BATCH = 50


@dataclass
class VerifyReport:
    checked: int = 0
    failures: list[Fixity] = field(default_factory=list)
    unknown_in_vault: list[str] = field(default_factory=list)
    chain: ChainReport = field(default_factory=ChainReport)

    @property
    def ok(self) -> bool:
        return not self.failures and self.chain.ok


def total_bytes(catalog: Catalog) -> int:
    with catalog.read() as session:
        return session.scalar(select(func.coalesce(func.sum(Asset.size), 0))) or 0


def verify(
    catalog: Catalog, vault: Vault, *, actor: str, progress: Callable[[int], None] | None = None
) -> VerifyReport:
    report = VerifyReport()
    with catalog.read() as session:
        report.chain = custody.verify_chain(session)
        known = list(session.execute(select(Asset.sha256, Asset.size, Asset.sha512)))
    results: list[Fixity] = []
    for sha256, size, sha512 in known:
        result = vault.check(sha256, size, sha512)
        results.append(result)
        report.checked += 1
        if not result.ok:
            report.failures.append(result)
        if progress:
            progress(size)
        if len(results) >= _BATCH:
            _record(catalog, results, actor)
            results = []
    _record(catalog, results, actor)
    known_hashes = {sha for sha, _, _ in known}
    report.unknown_in_vault = sorted(set(vault.hashes()) - known_hashes)
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


def _record(catalog: Catalog, results: list[Fixity], actor: str) -> None:
    if not results:
        return
    with catalog.write() as session:
        for result in results:
            custody.append(
                session,
                Verb.FIXITY_OK if result.ok else Verb.FIXITY_FAILED,
                actor=actor,
                asset=result.sha256,
                details={"algorithm": "sha256+sha512"}
                | ({} if result.ok else {"problem": result.problem}),
            )
