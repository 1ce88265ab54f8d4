"""`rushes backup`, `rushes restore`, `rushes vault replicate` and `rushes vault copy`: the
base's second copies, and moving its vault.

They present and orchestrate; the work lives in rushes.backup, rushes.restore and
rushes.replica. Results go to stdout, progress and summaries to stderr. Exit codes: 0 done,
1 something failed (each named).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from sqlalchemy.exc import DBAPIError

from rushes import settings as settings_module
from rushes.backup import backup as make_backup
from rushes.base import Base
from rushes.cli.common import bytes_progress, opened_base
from rushes.cli.console import err, out
from rushes.errors import RushesError
from rushes.replica import open_replica, replicate
from rushes.restore import restore as restore_base
from rushes.verify import total_bytes


@click.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
def backup(dest: Path) -> None:
    """Snapshot the catalog into a new folder DEST/rushes-backup-<UTC time>: the catalog, its
    custody chain head and every original's SHA-256 and size (not the originals: the vault and
    its replica keep them; not derivatives: they are rebuilt). Logs a backed-up event."""
    with opened_base() as base:
        made = make_backup(base.catalog, dest, actor=base.settings.actor)
    err.print(
        f"{made.originals} originals ({made.total_bytes:,} bytes) listed; chain head: event "
        f"{made.head[0]} {made.head[1]}"
    )
    out.print(escape(str(made.path)))


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--vault-from",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A vault or replica folder to copy the originals from. Default: RUSHES_REPLICA_DIR.",
)
def restore(folder: Path, vault_from: Path | None) -> None:
    """Bring a base back from the backup in FOLDER into the configured data folder and
    database, which must be empty: the catalog, then every original from a replica, each
    checked against its SHA-256. Then run `rushes verify`."""
    try:
        config = settings_module.load()
        target = vault_from or config.replica_dir
        source = open_replica(target, config, create=False) if target else None
        restored = restore_base(
            folder, config.database_url, config.vault_dir, source, actor=config.actor
        )
    except DBAPIError as exc:
        raise click.ClickException(f"cannot reach the catalog: {exc.orig}") from exc
    except (RushesError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    for failure in restored.failures:
        out.print(f"[bold red]FAILED[/] {escape(failure)}")
    out.print(
        f"catalog restored, chain head: event {restored.head[0]} {restored.head[1]}; "
        f"originals restored: {restored.originals}, failed: {len(restored.failures)}"
    )
    if restored.failures:
        sys.exit(1)


@click.group()
def vault() -> None:
    """The vault of originals."""


@vault.command(name="replicate")
@click.option(
    "--to",
    "target",
    default=None,
    help="The replica's folder or s3://bucket/prefix. Default: RUSHES_REPLICA_DIR, which "
    "`rushes verify` checks.",
)
def replicate_command(target: str | None) -> None:
    """Keep a second copy of every original in another folder (a vault of the same layout) or
    S3 bucket. Resumable: copies already made and recorded are skipped. Each copy is kept only
    if its SHA-256 matches, and logged with a replicated event."""
    with opened_base() as base:
        configured = base.settings.replica_dir
        target = target or (str(configured) if configured else None)
        if target is None:
            raise click.UsageError("give --to FOLDER or set RUSHES_REPLICA_DIR")
        name = _copy_all(base, target)
    if configured is None or str(configured) != name:
        err.print(f"note: set RUSHES_REPLICA_DIR={escape(name)} so `rushes verify` checks it")


@vault.command(name="copy")
@click.option("--to", "target", required=True, help="The new vault: s3://bucket/prefix.")
def copy_command(target: str) -> None:
    """Move the vault to an S3 store (or another folder): copy every original there through its
    write-once path, each checked against its SHA-256 and logged with a replicated event.
    Resumable: run it again after an interruption. Then switch RUSHES_VAULT_URL to it; the old
    folder can stay as RUSHES_REPLICA_DIR, a second copy `rushes verify` checks."""
    with opened_base() as base:
        old = base.settings.vault_url or str(base.settings.vault_dir)
        name = _copy_all(base, target)
    setting = "RUSHES_VAULT_URL" if name.startswith("s3://") else "RUSHES_VAULT_DIR"
    err.print(
        f"every original is in {escape(name)}: set {setting}={escape(name)} (and, to keep the "
        f"old copy checked, RUSHES_REPLICA_DIR={escape(old)}), then run `rushes verify`"
    )


def _copy_all(base: Base, target: str) -> str:
    """Copy every original the vault at `target` lacks; exit 1 naming any that failed."""
    replica = open_replica(target, base.settings, create=True)
    with bytes_progress(0) as progress:
        task = progress.add_task("copy", total=total_bytes(base.catalog), files=0)
        report = replicate(
            base.catalog,
            base.vault,
            replica,
            actor=base.settings.actor,
            progress=lambda size: progress.update(task, advance=size),
        )
    for failure in report.failures:
        out.print(f"[bold red]FAILED[/] {escape(failure)}")
    out.print(
        f"{escape(replica.name)}: {report.copied} copied, {report.present} already there, "
        f"{len(report.failures)} failed"
    )
    if report.failures:
        sys.exit(1)
    return replica.name
