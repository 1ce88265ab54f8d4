"""`rushes process`: the media pipeline over the archive, resumable."""

from __future__ import annotations

import sys
from concurrent.futures.process import BrokenProcessPool

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rushes.cli.common import opened_base
from rushes.cli.console import err, out
from rushes.pipeline.runner import (
    Result,
    executor_for,
    pending_count,
    process,
    queue_missing,
    requeue,
)
from rushes.pipeline.steps import STEPS, check_signing


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
        check_signing(base.settings)
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
                if result.status not in ("pending", "waiting"):
                    progress.advance(task)
                if result.status in ("failed", "waiting"):
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
        label = "[bold red]FAILED[/]" if result.status == "failed" else "[bold yellow]WAITING[/]"
        out.print(f"{label} {result.step} {result.sha256[:16]}: {escape(result.note or '')}")
    done = sum(1 for r in ran if r.status not in ("pending", "waiting"))
    out.print(f"{_steps(done)} run, {sum(r.status == 'failed' for r in failed)} failed")
    if waiting and steps:
        waits = _steps(waiting, "waits", "wait")
        out.print(f"{waits} for steps not run here: run `rushes process` for all")
    elif waiting:
        out.print(
            f"{_steps(waiting, 'is', 'are')} still pending: under way in another process "
            "(`rushes serve`, a cluster's worker) or waiting for the store; "
            "`rushes show HASH` says which"
        )
    if failed:
        sys.exit(1)


def _steps(count: int, one: str = "", many: str = "") -> str:
    """'1 step waits', '2 steps wait'."""
    verb = one if count == 1 else many
    return f"{count} step{'' if count == 1 else 's'}{' ' + verb if verb else ''}"
