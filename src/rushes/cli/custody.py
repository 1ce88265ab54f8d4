"""`rushes custody`: the custody log exported, its head timestamped on demand."""

from __future__ import annotations

from typing import Any

import click

from rushes import custody
from rushes.cli.common import find_asset_or_fail as _find
from rushes.cli.common import opened_base
from rushes.cli.console import err, out
from rushes.errors import ConfigError
from rushes.stamps import StampError, stamp


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
