"""`rushes restore BACKUP`: bring a base back from a backup into an empty catalog and vault.

Nothing is overwritten: a catalog with any table in it, or a vault with any original, is
refused before anything is written. The catalog comes back first (SQLite: copied through the
online backup API into a temporary file, then renamed into place; PostgreSQL: `pg_restore` in
one transaction), is brought to the current schema, and must hold the chain head the backup
names. Then every original the manifest lists is copied from a replica or another vault folder
through the vault's write-once path, each checked against its SHA-256 and size; a `restored`
event records the base's restore, then one per original.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from rushes.backup import pg_tool, read_manifest, run_pg
from rushes.catalog import Catalog, CustodyHead, open_catalog
from rushes.custody import Verb
from rushes.errors import BackupError
from rushes.replica import Event, Replica, append_events, copy_original
from rushes.vault import Vault, open_local
from rushes.vault.local import fsync_dir

_BATCH = 50


@dataclass
class Restored:
    head: tuple[int, str]
    originals: int = 0
    failures: list[str] = field(default_factory=list)


def restore(
    folder: Path, database_url: str, vault_dir: Path, source: Replica | None, *, actor: str
) -> Restored:
    manifest = read_manifest(folder)
    dialect = make_url(database_url).get_backend_name()
    if manifest["database"] != dialect:
        raise BackupError(
            f"{folder} holds a {manifest['database']} catalog; the base is configured for "
            f"{dialect} (RUSHES_DATABASE_URL)"
        )
    originals: list[dict[str, Any]] = manifest["originals"]
    if originals and source is None:
        raise BackupError(
            "a backup holds no originals: give --vault-from FOLDER (a vault or replica) or set "
            "RUSHES_REPLICA_DIR"
        )
    vault = open_local(vault_dir)
    if next(vault.hashes(), None) is not None:
        raise BackupError(
            f"the vault at {vault_dir} holds originals: restore only into an empty one"
        )
    _refuse_a_catalog(database_url)
    file = folder / manifest["catalog_file"]
    if dialect == "sqlite":
        _restore_sqlite(file, Path(make_url(database_url).database or ""))
    else:
        args = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        run_pg(pg_tool("pg_restore"), database_url, [*args, str(file)])
    catalog = open_catalog(database_url)
    try:
        return _fill(catalog, vault, manifest, folder, source, actor)
    finally:
        catalog.close()


def _fill(
    catalog: Catalog,
    vault: Vault,
    manifest: dict[str, Any],
    folder: Path,
    source: Replica | None,
    actor: str,
) -> Restored:
    """Check the restored chain head, log the restore, then copy the originals."""
    expected = (manifest["custody_head"]["seq"], manifest["custody_head"]["hash"])
    with catalog.read() as session:
        head = session.get(CustodyHead, 1)
        if head is None or (head.seq, head.hash) != expected:
            raise BackupError(f"the restored catalog's chain head is not event {expected[0]}")
    report = Restored(expected)
    origin = source.name if source else ""
    details = {"backup": str(folder), "head": manifest["custody_head"], "vault_from": origin}
    pending: list[Event] = [(Verb.RESTORED, None, details)]
    try:
        for entry in manifest["originals"]:
            if source is None:
                break  # restore() refused a backup with originals and nowhere to take them from
            sha256, size = entry["sha256"], entry["size"]
            if problem := copy_original(source.vault, vault, sha256, size):
                report.failures.append(f"{sha256}: {problem}")
                continue
            report.originals += 1
            pending.append((Verb.RESTORED, sha256, {"from": origin, "size": size}))
            if len(pending) >= _BATCH:
                append_events(catalog, pending, actor)
                pending = []
    finally:
        append_events(catalog, pending, actor)
    return report


def _refuse_a_catalog(url: str) -> None:
    """Raise unless the configured catalog is empty (or not there yet)."""
    if make_url(url).get_backend_name() == "sqlite":
        path = Path(make_url(url).database or "")
        if any(p.is_file() and p.stat().st_size for p in (path, Path(f"{path}-wal"))):
            raise BackupError(f"{path} holds a catalog: restore only into an empty base")
        return
    catalog = Catalog(url)
    try:
        tables = inspect(catalog.engine).get_table_names()
    finally:
        catalog.close()
    if tables:
        raise BackupError(
            f"the database {make_url(url).render_as_string()} has tables "
            f"({', '.join(sorted(tables)[:5])}…): restore only into an empty database"
        )


def _restore_sqlite(file: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        stale.unlink(missing_ok=True)  # empty (checked): left by an empty catalog's opening
    work = target.with_name(target.name + ".restoring")
    work.unlink(missing_ok=True)
    source, copy = sqlite3.connect(file), sqlite3.connect(work)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    fd = os.open(work, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(work, target)
    fsync_dir(target.parent)
