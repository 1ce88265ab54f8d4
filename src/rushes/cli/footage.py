"""The base's footage commands: ingest, assets, verify, process and the custody log's export."""

from __future__ import annotations

import json
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from rushes import custody
from rushes.cards import walk
from rushes.catalog import Asset
from rushes.catalog.queries import (
    failed_steps,
    first_paths,
    list_assets,
)
from rushes.cli.common import bytes_progress, err, opened_base, out
from rushes.cli.common import find_asset_or_fail as _find
from rushes.errors import ConfigError
from rushes.ingest import Ingest
from rushes.media.formats import friendly
from rushes.pipeline.runner import (
    Result,
    executor_for,
    pending_count,
    process,
    queue_missing,
    requeue,
)
from rushes.pipeline.steps import STEPS
from rushes.replica import configured_replica
from rushes.stamps import StampError, stamp, stamp_quietly, verify_stamps
from rushes.verify import total_bytes, verify, verify_derivatives

_LIMITS = {"project": 100, "crew": 200, "source": 500}


def _label(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Labels go into the custody log: valid text of a sane length, or a usage error."""
    limit = _LIMITS[param.name or ""]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise click.BadParameter("is not valid UTF-8 text") from exc
    if len(value) > limit:
        raise click.BadParameter(f"is longer than {limit} characters")
    if any(not c.isprintable() for c in value):
        raise click.BadParameter("contains control characters")
    return value


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--project", "-p", required=True, callback=_label, help="Project slug; created on first use."
)
@click.option("--crew", default="", callback=_label, help="Who filmed it.")
@click.option(
    "--source", default="", callback=_label, help='Where it came from, e.g. "card 3, Rahed".'
)
def ingest(paths: tuple[Path, ...], project: str, crew: str, source: str) -> None:
    """Copy files and folders into the vault, hash them and record their custody."""
    with opened_base(create=True) as base:
        candidates = list(walk(paths))
        runner = Ingest(
            base,
            project=project,
            crew=crew,
            source=source,
            actor=base.settings.actor,
        )
        total = sum(c.size for c in candidates)
        with bytes_progress(len(candidates)) as progress:
            task = progress.add_task("ingest", total=total, files=0)

            def advance(size: int) -> None:
                progress.update(task, advance=size, files=progress.tasks[task].fields["files"] + 1)

            report = runner.run(candidates, progress=advance)
        stamped = stamp_quietly(base)
    table = Table(title="ingest", show_lines=False)
    for column in ("status", "file", "sha256", "reason"):
        table.add_column(column, overflow="fold")
    for outcome in report.outcomes:
        if outcome.status in ("new", "duplicate") or outcome.reason:
            table.add_row(
                outcome.status, escape(outcome.path), outcome.sha256[:16], escape(outcome.reason)
            )
    out.print(table)
    counts = ", ".join(
        f"{report.count(s)} {s}"
        for s in ("new", "duplicate", "unchanged", "skipped", "failed", "not attempted")
        if report.count(s)
    )
    out.print(f"{len(report.outcomes)} files: {counts or 'nothing to do'}")
    if report.count("new"):
        out.print("new originals are queued for the pipeline: run `rushes process`")
    if report.aborted:
        out.print(f"[bold red]stopped:[/] {escape(report.aborted)}")
    if stamped:
        out.print(escape(stamped))
    if not report.ok:
        sys.exit(1)


@click.command()
@click.option("--project", "-p", default=None, help="Only this project's assets.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def assets(project: str | None, limit: int, offset: int, as_json: bool) -> None:
    """List assets, newest capture first. The `failed` column names pipeline steps that failed
    (`rushes show` gives their reasons)."""
    with opened_base() as base, base.catalog.read() as session:
        rows = list_assets(session, project=project, limit=limit, offset=offset)
        paths = first_paths(session, [asset.sha256 for asset in rows])
        failed = failed_steps(session, [asset.sha256 for asset in rows])
        if as_json:
            for asset in rows:
                summary = _asset_summary(asset, paths.get(asset.sha256, ""))
                steps = failed.get(asset.sha256, [])
                summary["failed_steps"] = [{"step": st, "reason": why} for st, why in steps]
                out.print_json(json.dumps(summary), indent=None)
            return
        table = Table()
        columns = ("sha256", "kind", "format", "size", "captured", "duration", "problem", "failed")
        for column in columns:
            table.add_column(column)
        for asset in rows:
            summary = _asset_summary(asset, paths.get(asset.sha256, ""))
            table.add_row(
                asset.sha256[:16],
                asset.kind,
                escape(summary["format"]),
                f"{asset.size:,}",
                summary["captured_at"] or "",
                f"{summary['duration_s']:.1f} s" if summary["duration_s"] else "",
                escape(asset.probe_error or ""),
                ", ".join(step for step, _ in failed.get(asset.sha256, [])),
            )
        out.print(table)
        if failed:
            out.print("failed steps: `rushes show SHA256` gives each reason")


def _asset_summary(asset: Asset, path: str) -> dict[str, Any]:
    media = asset.media or {}
    return {
        "sha256": asset.sha256,
        "kind": asset.kind,
        "format": friendly(media.get("container"), path),
        "size": asset.size,
        "captured_at": media.get("created_at"),
        "duration_s": media.get("duration_s"),
        "probe_error": asset.probe_error,
    }


@click.command(name="verify")
def verify_command() -> None:
    """Re-hash every original and check the custody chain; exit 1 naming any failure. Re-hash
    the derivatives (proxies, posters, strips) too: a damaged one is not served and is queued
    to be rebuilt (not evidence, no custody event, but exit 1 as well). With
    RUSHES_REPLICA_DIR set, check the replica's copies too and repair a missing or damaged copy
    from the other one (each repair logged); an original bad in both is a failure."""
    with opened_base() as base, bytes_progress(0) as progress:
        replica = configured_replica(base.settings)
        task = progress.add_task("verify", total=total_bytes(base.catalog), files=0)
        report = verify(
            base.catalog,
            base.vault,
            actor=base.settings.actor,
            progress=lambda size: progress.update(task, advance=size),
            replica=replica,
        )
        made = verify_derivatives(base.catalog, base.derivatives)
        with base.catalog.read() as session:
            stamps = verify_stamps(session, base.settings)
    chain = report.chain
    out.print(
        f"originals checked: {report.checked}, failed: {len(report.failures)}"
        + (f", still in the field: {report.in_field}" if report.in_field else "")
    )
    for repair in report.repairs:
        out.print(f"[yellow]REPAIRED[/] {escape(repair)}")
    for failure in report.failures:
        out.print(f"[bold red]FAILED[/] {failure.sha256}: {escape(failure.problem)}")
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


@click.command(name="process")
@click.option(
    "--step",
    "steps",
    multiple=True,
    type=click.Choice([s.name for s in STEPS]),
    help="Only this step (repeatable). Default: every step.",
)
@click.option("--redo", is_flag=True, help="Run the steps again even where they are done.")
@click.option("--outdated", is_flag=True, help="Run again where an older version made them.")
def process_command(steps: tuple[str, ...], redo: bool, outdated: bool) -> None:
    """Run the media pipeline over the archive: thumbnails, fingerprints, near-duplicates,
    shots, proxies. Resumes where a killed run stopped."""
    names = list(steps) or [s.name for s in STEPS]
    with opened_base() as base:
        queue_missing(base)
        if redo or outdated:
            requeue(base, names, outdated_only=outdated and not redo)
        total = pending_count(base, names)
        failed: list[Result] = []
        ran: list[Result] = []
        progress = Progress(
            TextColumn("[bold]process"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not err.is_terminal,
        )
        with progress:
            task = progress.add_task("process", total=total)

            def show(result: Result) -> None:
                if result.status != "pending":
                    progress.advance(task)
                if result.status == "failed":
                    failed.append(result)

            while True:
                try:
                    with executor_for(base.settings) as executor:
                        ran += process(base, executor, steps=names, on_result=show)
                    break
                except BrokenProcessPool:
                    continue  # a worker crashed; its job is retried or failed, the rest go on
        waiting = pending_count(base, names)
    for result in failed:
        out.print(
            f"[bold red]FAILED[/] {result.step} {result.sha256[:16]}: {escape(result.note or '')}"
        )
    done = sum(1 for r in ran if r.status != "pending")
    out.print(f"{done} steps run, {len(failed)} failed")
    if waiting:
        out.print(f"{waiting} steps wait for steps not run here: run `rushes process` for all")
    if failed:
        sys.exit(1)


@click.group(name="custody")
def custody_group() -> None:
    """The custody log."""


@custody_group.command(name="export")
@click.option("--asset", default=None, help="Only this asset's events (hash or prefix).")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
def custody_export(asset: str | None, output: Any) -> None:
    """Write custody events as JSON Lines."""
    with opened_base() as base, base.catalog.read() as session:
        sha = _find(session, asset).sha256 if asset else None
        count = custody.export_jsonl(session, output, sha)
    err.print(f"{count} events")


@custody_group.command(name="stamp")
def custody_stamp() -> None:
    """Have the chain head timestamped now by a TSA of RUSHES_TSA_URLS (RFC 3161); `ingest`,
    exports and the server do it on their own. Exit 1 if none gave a valid token."""
    with opened_base() as base:
        try:
            made = stamp(base)
        except (StampError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from exc
    if made is None:
        out.print("nothing to stamp: no TSA configured, or nothing logged since the last stamp")
    else:
        out.print(f"custody chain timestamped at event {made.seq} by {made.tsa}")
