"""Evidence bags made from the web: each a job run in its own process, its state on disk.

A job is a folder <data>/jobs/bags/<id>/ holding status.json (replaced atomically, so a reader
never sees half of it) and, once done, the bag as one zip. No table holds jobs: they are
working files, like uploads in progress, and the custody log already records each bag made.
The bag is made by a child process (`python -m rushes.exports.bag_jobs FOLDER`) because bagit
changes the process's working directory while it works; a thread of the server waits for the
child and records its death if the child could not record it itself.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rushes.base import open_base
from rushes.errors import NotFoundError, RushesError
from rushes.exports.evidence import Request, make_evidence_bag
from rushes.settings import Settings

STATUS = "status.json"
_ID = re.compile(r"[0-9a-f]{16}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def jobs_dir(settings: Settings) -> Path:
    return settings.data_dir / "jobs" / "bags"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_status(folder: Path, status: dict[str, Any]) -> None:
    """Write then rename: the page polling the job reads the old state or the new, never half."""
    temporary = folder / f".{STATUS}.{os.getpid()}"
    temporary.write_text(json.dumps(status, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, folder / STATUS)


def read_status(settings: Settings, job: str) -> dict[str, Any]:
    if not _ID.fullmatch(job):
        raise NotFoundError(f"no bag job {job!r}")
    try:
        return json.loads((jobs_dir(settings) / job / STATUS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"no bag job {job!r}") from None


def jobs_of(settings: Settings, project: str, incident: str) -> list[dict[str, Any]]:
    """The incident's bag jobs, newest first."""
    found = []
    for path in jobs_dir(settings).glob(f"*/{STATUS}"):
        status = json.loads(path.read_text(encoding="utf-8"))
        if status["project"] == project and status["incident"] == incident:
            found.append(status)
    return sorted(found, key=lambda s: s["started_at"], reverse=True)


def zip_path(settings: Settings, status: dict[str, Any]) -> Path:
    return jobs_dir(settings) / status["id"] / status["file"]


def start(settings: Settings, project: str, incident: str, actor: str) -> dict[str, Any]:
    """Record the job as queued and start its process; returns at once."""
    job = secrets.token_hex(8)
    folder = jobs_dir(settings) / job
    folder.mkdir(parents=True)
    name = _UNSAFE.sub("-", f"{project}-{incident}-evidence")
    status = {
        "id": job,
        "project": project,
        "incident": incident,
        "actor": actor,
        "state": "queued",
        "done": 0,
        "total": 0,
        "error": None,
        "bag": name,
        "file": f"{name}.zip",
        "originals": [],
        "started_at": _now(),
        "finished_at": None,
    }
    write_status(folder, status)
    environ = {
        **os.environ,
        "RUSHES_DATA_DIR": str(settings.data_dir),
        "RUSHES_DATABASE_URL": settings.database_url,
        "RUSHES_VAULT_DIR": str(settings.vault_dir),
        "RUSHES_VAULT_URL": settings.vault_url,
        "RUSHES_DERIVATIVES_DIR": str(settings.derivatives_dir),
        "RUSHES_DERIVATIVES_URL": settings.derivatives_url,
    }
    command = [sys.executable, "-m", "rushes.exports.bag_jobs", str(folder)]
    threading.Thread(target=_watch, args=(command, environ, folder), daemon=True).start()
    return status


def _watch(command: list[str], environ: dict[str, str], folder: Path) -> None:
    """Wait for the child; a child that died without saying why is reported as such."""
    result = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)
    status = json.loads((folder / STATUS).read_text(encoding="utf-8"))
    if result.returncode != 0 and status["state"] != "failed":
        last = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
        write_status(folder, {**status, "state": "failed", "error": last, "finished_at": _now()})


def run(folder: Path) -> int:
    """The child: make the bag, zip it, and keep status.json saying how far it got."""
    status = json.loads((folder / STATUS).read_text(encoding="utf-8"))

    def update(**changes: Any) -> None:
        status.update(changes)
        write_status(folder, status)

    try:
        update(state="making")
        with open_base(create=False) as base:
            request = Request(
                project=status["project"],
                target=folder / status["bag"],
                actor=status["actor"],
                incident=status["incident"],
            )
            made = make_evidence_bag(base, request, lambda d, t: update(done=d, total=t))
        update(originals=made.originals, tag_manifest_sha256=made.tag_manifest_sha256)
        _pack(made.path, folder / status["file"], update)
        shutil.rmtree(made.path)  # the zip is the bag now; the vault keeps the originals
        update(state="done", finished_at=_now())
    except (RushesError, OSError) as exc:
        update(state="failed", error=str(exc), finished_at=_now())
        return 1
    return 0


def _pack(bag: Path, target: Path, update: Any) -> None:
    """The bag's folder as one zip (stored: video does not shrink), named .partial until whole."""
    files = sorted(p for p in bag.rglob("*") if p.is_file())
    update(state="packing", done=0, total=len(files))
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED, allowZip64=True) as out:
        for done, path in enumerate(files, 1):
            out.write(path, f"{bag.name}/{path.relative_to(bag).as_posix()}")
            update(done=done)
    os.replace(partial, target)


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
