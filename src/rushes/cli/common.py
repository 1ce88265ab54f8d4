"""What the base's `rushes` command groups share: opening the base, its progress bars."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from rushes.base import Base, open_base
from rushes.catalog import Asset
from rushes.catalog.queries import find_asset
from rushes.cli.console import err
from rushes.errors import RushesError


@contextmanager
def opened_base(create: bool = False) -> Iterator[Base]:
    """Open the base, its errors (and any RushesError inside) as a one-line message; only
    commands that take footage in (`ingest`, `serve`, `user add`) may create one."""
    try:
        base = open_base(create=create)
    except DBAPIError as exc:
        raise click.ClickException(f"cannot reach the catalog: {exc.orig}") from exc
    except (RushesError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        yield base
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        base.close()


def bytes_progress(files: int) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[files]}/" + str(files) + " files"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )


def find_asset_or_fail(session: Session, prefix: str) -> Asset:
    """An asset by its hash or a prefix, or the command stops saying why."""
    try:
        return find_asset(session, prefix)
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc
