"""`rushes assets`: the archive's originals, newest capture first."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from rushes.catalog import Asset
from rushes.catalog.queries import (
    credential_problems,
    failed_steps,
    first_paths,
    list_assets,
    step_notes,
)
from rushes.cli.common import opened_base
from rushes.cli.console import out
from rushes.media.formats import friendly


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
        doubted = credential_problems(session, [asset.sha256 for asset in rows])
        noted = step_notes(session, [asset.sha256 for asset in rows])
        if as_json:
            for asset in rows:
                summary = _asset_summary(asset, paths.get(asset.sha256, ""))
                steps = failed.get(asset.sha256, [])
                summary["failed_steps"] = [{"step": st, "reason": why} for st, why in steps]
                summary["credentials_problem"] = doubted.get(asset.sha256)
                notes = noted.get(asset.sha256, [])
                summary["step_notes"] = [{"step": st, "note": why} for st, why in notes]
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
                escape(_problem(asset, doubted.get(asset.sha256), noted.get(asset.sha256, []))),
                ", ".join(step for step, _ in failed.get(asset.sha256, [])),
            )
        out.print(table)
        if failed:
            out.print("failed steps: `rushes show SHA256` gives each reason")


def _problem(asset: Asset, credentials: str | None, notes: list[tuple[str, str]]) -> str:
    said = [f"{step}: {note}" for step, note in notes if note != asset.probe_error]
    return "; ".join(p for p in (asset.probe_error, credentials, *said) if p)


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
