"""`rushes backup DEST`: a consistent snapshot of the catalog, with the custody chain's head and
the list of every original's SHA-256 and size, in a new folder `DEST/rushes-backup-<UTC time>`.

The snapshot is one consistent state: SQLite's online backup API copies the database under one
read transaction; on PostgreSQL a REPEATABLE READ transaction exports its snapshot, reads the
head and the originals in it, and `pg_dump --snapshot` dumps exactly that state. The folder is
built under a hidden temporary name, fsynced and renamed into place, so a backup folder is
either whole or absent. Originals are not copied (the vault and its replica keep them; a
restore takes them from either), and derivatives are not evidence: `rushes process` rebuilds
them. Once the folder is in place a `backed-up` event records it with its head and manifest.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.engine import make_url

from rushes import TOOL, custody
from rushes.catalog import Asset, Catalog, CustodyHead
from rushes.custody import Verb
from rushes.errors import BackupError
from rushes.vault.local import fsync_dir

FORMAT = "rushes-backup/1"
MANIFEST = "manifest.json"
CATALOG_FILES = {"sqlite": "catalog.sqlite3", "postgresql": "catalog.dump"}
_README = """\
A rushes backup ({format}), made {created} by {tool}.

{catalog_file}: the catalog ({database}), with the custody log whose head was event {seq}
  {hash}.
manifest.json: that head, the catalog file's SHA-256, and every original's SHA-256 and size.

Not in here: the originals themselves. The vault keeps them, and `rushes vault replicate` keeps
a second copy; `rushes restore` takes them from that replica (or a vault folder you name) and
checks each against this manifest. Not in here either: derivatives (proxies, thumbnails,
fingerprints), which are not evidence; `rushes process` rebuilds them from the originals.

Restore into an empty base:  rushes restore {name} [--vault-from FOLDER]
"""


@dataclass(frozen=True)
class Contents:
    head: tuple[int, str]
    originals: list[tuple[str, int]]  # (sha256, size), sorted
    revision: str


@dataclass(frozen=True)
class Made:
    path: Path
    head: tuple[int, str]
    originals: int
    total_bytes: int
    manifest_sha256: str


def backup(catalog: Catalog, dest: Path, *, actor: str) -> Made:
    """Write one backup folder inside `dest` (made if missing) and log it."""
    dest = dest.absolute()
    try:
        dest.mkdir(parents=True, exist_ok=True)
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        final = _free_name(dest, "rushes-backup-" + created.replace("-", "").replace(":", ""))
        work = dest / f".{final.name}.partial"
        work.mkdir()
    except OSError as exc:
        raise BackupError(f"cannot write a backup in {dest}: {exc.strerror or exc}") from exc
    try:
        file = work / CATALOG_FILES[catalog.dialect]
        snapshot = _snapshot_sqlite if catalog.dialect == "sqlite" else _snapshot_postgresql
        contents = snapshot(catalog, file)
        manifest = {
            "format": FORMAT,
            "created_at": created,
            "tool": TOOL,
            "database": catalog.dialect,
            "revision": contents.revision,
            "catalog_file": file.name,
            "catalog_sha256": sha256_file(file),
            "custody_head": {"seq": contents.head[0], "hash": contents.head[1]},
            "originals_not_included": "kept by the vault and its replica; restore copies them",
            "derivatives_not_included": "not evidence; `rushes process` rebuilds them",
            "originals": [{"sha256": s, "size": n} for s, n in contents.originals],
        }
        body = json.dumps(manifest, indent=1).encode() + b"\n"
        _write(work / MANIFEST, body)
        readme = _README.format(
            format=FORMAT,
            created=created,
            tool=TOOL,
            catalog_file=file.name,
            database=catalog.dialect,
            seq=contents.head[0],
            hash=contents.head[1],
            name=final,
        )
        _write(work / "README.txt", readme.encode())
        _fsync_file(file)
        fsync_dir(work)
        os.rename(work, final)
        fsync_dir(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    made = Made(
        final,
        contents.head,
        len(contents.originals),
        sum(size for _, size in contents.originals),
        hashlib.sha256(body).hexdigest(),
    )
    with catalog.write() as session:
        custody.append(
            session,
            Verb.BACKED_UP,
            actor=actor,
            details={
                "backup": str(final),
                "head": manifest["custody_head"],
                "originals": made.originals,
                "bytes": made.total_bytes,
                "manifest_sha256": made.manifest_sha256,
            },
        )
    return made


def _free_name(dest: Path, name: str) -> Path:
    """`name`, or `name-2`, `name-3` … when backups were made within the same second."""
    candidate, n = dest / name, 1
    while candidate.exists() or (dest / f".{candidate.name}.partial").exists():
        n += 1
        candidate = dest / f"{name}-{n}"
    return candidate


def contents_of(connection: Connection) -> Contents:
    """The head, the originals and the schema revision, as this connection sees them."""
    head = connection.execute(select(CustodyHead.seq, CustodyHead.hash)).one_or_none()
    if head is None:
        raise BackupError("the catalog has no custody chain head: run `rushes verify`")
    originals = connection.execute(
        select(Asset.sha256, Asset.size).where(Asset.in_vault).order_by(Asset.sha256)
    )
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    return Contents((head.seq, head.hash), [(s, n) for s, n in originals], revision)


def _snapshot_sqlite(catalog: Catalog, file: Path) -> Contents:
    source = sqlite3.connect(make_url(catalog.url).database or "", timeout=30)
    target = sqlite3.connect(file)
    try:
        source.backup(target)  # all pages in one step: one read transaction, one state
        target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    finally:
        target.close()
        source.close()
    engine = create_engine(f"sqlite:///{file}")
    try:
        with engine.connect() as connection:
            return contents_of(connection)
    finally:
        engine.dispose()


def _snapshot_postgresql(catalog: Catalog, file: Path) -> Contents:
    pg_dump = pg_tool("pg_dump")
    with catalog.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            contents = contents_of(connection)
            args = ["--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}"]
            run_pg(pg_dump, catalog.url, [*args, f"--file={file}"])
    return contents


def pg_tool(name: str) -> str:
    """`pg_dump` or `pg_restore`: on the PATH, else the newest in Debian's versioned folders."""
    found = shutil.which(name) or max(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
        default=None,
    )
    if found is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools (Debian: apt install "
            f"postgresql-client, the server's major version or newer) or put {name} on the PATH"
        )
    return found


def run_pg(tool: str, url: str, args: list[str]) -> None:
    """Run a PostgreSQL client tool against the catalog's database; the password travels in
    the environment, never on the command line where `ps` shows it."""
    parsed = make_url(url)
    dbname = parsed.set(drivername="postgresql", password=None)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    command = [tool, *args, f"--dbname={dbname.render_as_string(hide_password=False)}"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise BackupError(f"{Path(tool).name} failed: {done.stderr.strip()[-2000:]}")


def read_manifest(folder: Path) -> dict[str, Any]:
    """A backup's manifest, after checking its catalog file is the one it names."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} is not a rushes backup: no readable {MANIFEST}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{folder}: not a {FORMAT} backup")
    file = folder / str(manifest.get("catalog_file"))
    if file.name not in CATALOG_FILES.values() or not file.is_file():
        raise BackupError(f"{folder}: the catalog file {file.name} is missing")
    if sha256_file(file) != manifest.get("catalog_sha256"):
        raise BackupError(f"{file} does not match the SHA-256 in {MANIFEST}: damaged backup")
    return manifest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write(path: Path, data: bytes) -> None:
    with open(path, "xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
