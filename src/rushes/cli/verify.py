"""`rushes verify`: every original re-hashed, the custody chain and its timestamps checked."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from rushes.cli.common import bytes_progress, opened_base
from rushes.cli.console import out
from rushes.holds import reconcile
from rushes.replica import configured_replica
from rushes.stamps import verify_stamps
from rushes.verify import total_bytes, verify, verify_derivatives


@click.command(name="verify")
@click.option(
    "--quick",
    is_flag=True,
    help="S3 vault: compare the store's own SHA-256 checksum, size and Object Lock retention "
    "of each original instead of reading its bytes (logged as store-check events).",
)
def verify_command(quick: bool) -> None:
    """Re-hash every original and check the custody chain; exit 1 naming any failure. Re-hash
    the derivatives (proxies, posters, strips) too: a damaged one is not served and is queued
    to be rebuilt (not evidence, no custody event, but exit 1 as well). With
    RUSHES_REPLICA_DIR set, check the replica's copies too and repair a missing or damaged copy
    from the other one (each repair logged); an original bad in both is a failure. An original
    linked to an incident under legal hold that the store does not hold yet is held (logged)."""
    with opened_base() as base, bytes_progress(0) as progress:
        if quick and not base.vault.backend.store_checksums:
            raise click.UsageError(
                "--quick needs a store that keeps its own checksums (an S3 vault); "
                "a folder's originals can only be re-hashed: run `rushes verify`"
            )
        replica = None if quick else configured_replica(base.settings)
        task = progress.add_task("verify", total=total_bytes(base.catalog), files=0)
        report = verify(
            base.catalog,
            base.vault,
            actor=base.settings.actor,
            progress=lambda size: progress.update(task, advance=size),
            replica=replica,
            quick=quick,
        )
        made = verify_derivatives(base.catalog, base.derivatives)
        held = reconcile(base, base.settings.actor)  # linked to held incidents, not yet held
        with base.catalog.read() as session:
            stamps = verify_stamps(session, base.settings)
    chain = report.chain
    how = " (store checksums and retention, bytes not read)" if quick else ""
    out.print(
        f"originals checked{how}: {report.checked}, failed: {len(report.failures)}"
        + (f", still in the field: {report.in_field}" if report.in_field else "")
    )
    for sha in held:
        out.print(f"[yellow]HELD[/] {sha}: linked to an incident under legal hold")
    for repair in report.repairs:
        out.print(f"[yellow]REPAIRED[/] {escape(repair)}")
    for failure in report.failures:
        out.print(f"[bold red]FAILED[/] {failure.sha256}: {escape(failure.problem)}")
    if report.failures and not quick:
        out.print(_remedy(replica is not None))
    if replica:
        out.print(
            f"replica {escape(replica.name)}: {len(report.repairs)} copies repaired"
            + (
                f", {report.unreplicated} not copied yet (run `rushes vault replicate`)"
                if report.unreplicated
                else ""
            )
        )
    for sha in report.unrecorded:
        out.print(f"[bold red]FAILED[/] {sha}: in the catalog with no matching arrival in the log")
    for sha in report.unknown_in_vault:
        out.print(f"[yellow]not in the catalog[/] {sha}: ingest its source again to file it")
    state = "[green]intact[/]" if chain.ok else "[bold red]BROKEN[/]"
    out.print(
        f"custody chain: {chain.events} events, {state}, "
        f"head: event {chain.head_seq} {chain.head_hash or '(missing)'}"
    )
    for problem in chain.problems:
        out.print(f"[bold red]FAILED[/] custody: {escape(problem)}")
    if stamps.checked:
        state = "[green]all hold[/]" if not stamps.problems else "[bold red]FAILED[/]"
        out.print(f"trusted timestamps checked: {stamps.checked}, {state}")
    for problem in stamps.problems:
        out.print(f"[bold red]FAILED[/] timestamp: {escape(problem)}")
    if stamps.unchecked:
        out.print(
            f"[yellow]trusted timestamps[/]: {escape(stamps.unchecked)} (set it to the file of "
            "the authority's root certificates, as on the base that stamped them)"
        )
    out.print(
        f"derivatives checked: {made.checked}, damaged: {len(made.damaged)}"
        + (f", hash recorded for the first time: {made.first_hashed}" if made.first_hashed else "")
    )
    for damaged in made.damaged:
        remedy = (
            "queued again: `rushes process` rebuilds it"
            if damaged.rebuild
            else "sent by a field kit: the crew sends it again"
        )
        out.print(
            f"[bold red]DAMAGED[/] derivative {damaged.sha256[:16]}/{damaged.name}: "
            f"{escape(damaged.problem)}; not served, {remedy}"
        )
    if not report.ok or made.damaged or stamps.problems:
        sys.exit(1)


def _remedy(replicated: bool) -> str:
    """How to bring a failed original back: from its card, or from a replica's good copy (with
    a replica set, verify has tried it already: both copies failed)."""
    remedy = (
        "to repair: run the same `rushes ingest PATH -p PROJECT` again on the card or file it "
        "came from (`rushes show SHA256` lists its arrivals)"
    )
    if replicated:
        return remedy
    return (
        f"{remedy}, or set RUSHES_REPLICA_DIR to a replica with a good copy and run `rushes verify`"
    )
