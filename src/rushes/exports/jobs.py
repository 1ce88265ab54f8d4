"""Work the web starts and then follows: each job a child process, its state in a file.

A job is a folder ``<data>/jobs/<group>/<id>/`` holding status.json (replaced atomically, so a
reader never sees half of it) and whatever the job makes (a zip). No table holds jobs: they are
working files, like uploads in progress; what matters of their work is recorded where it
belongs (the custody log, the derivatives table). The work runs in a child process
(``python -m MODULE FOLDER``): it may take minutes of CPU (hashing, finding faces) that must not
hold the server's threads or its interpreter, and some libraries change the process's working
directory (bagit). A thread of the server waits for the child and records its death if the
child could not record it itself.

Evidence bags (`bag_jobs`), share copies and their previews (`share_jobs`) are such jobs.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from rushes.errors import NotFoundError, RushesError
from rushes.i18n import N_, Text
from rushes.settings import Settings

STATUS = "status.json"
_ID = re.compile(r"[0-9a-f]{16}")
FINISHED = ("done", "failed")


class Update(Protocol):
    def __call__(self, **changes: Any) -> None: ...


def root(settings: Settings, *group: str) -> Path:
    """The folder of one group of jobs (``bags``, ``shares/<sha256>``)."""
    return settings.data_dir.joinpath("jobs", *group)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_status(folder: Path, status: dict[str, Any]) -> None:
    """Write then rename: the page polling the job reads the old state or the new, never half."""
    temporary = folder / f".{STATUS}.{os.getpid()}"
    temporary.write_text(json.dumps(status, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, folder / STATUS)


def read_status(group: Path, job: str) -> dict[str, Any]:
    """The job's status; a malformed or unknown id is as missing as the other."""
    if not _ID.fullmatch(job):
        raise NotFoundError(N_("no such job: %(job)s"), job=job[:20])
    try:
        return json.loads((group / job / STATUS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(N_("no such job: %(job)s"), job=job) from None


def statuses(group: Path) -> list[dict[str, Any]]:
    """Every job of the group, newest first."""
    found = []
    for path in group.glob(f"*/{STATUS}"):
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue  # removed since the folder was listed
    return sorted(found, key=lambda s: s["started_at"], reverse=True)


def start(settings: Settings, group: Path, fields: dict[str, Any], module: str) -> dict[str, Any]:
    """Record a job of ``module`` as queued (with ``fields`` in its status) and start its
    process, which runs ``module``'s ``__main__`` on the job's folder; returns at once."""
    job = secrets.token_hex(8)
    folder = group / job
    folder.mkdir(parents=True)
    status = {
        "id": job,
        **fields,
        "state": "queued",
        "done": 0,
        "total": 0,
        "error": None,
        "started_at": now(),
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
    command = [sys.executable, "-m", module, str(folder)]
    threading.Thread(target=_watch, args=(command, environ, folder), daemon=True).start()
    return status


def _watch(command: list[str], environ: dict[str, str], folder: Path) -> None:
    """Wait for the child; a child that died without saying why is reported as such."""
    result = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)
    try:
        status = json.loads((folder / STATUS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return  # the job was removed meanwhile
    if result.returncode != 0 and status["state"] != "failed":
        last = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
        failed = {**status, "state": "failed", "error": last, "finished_at": now()}
        if result.returncode < 0:  # killed: the out-of-memory killer, an admin, a shutdown
            text = Text(
                N_(
                    "stopped before it finished: its process was killed (%(signal)s; the "
                    "machine may have run out of memory, or it was stopped); start it again"
                ),
                signal=_signal_name(-result.returncode),
            )
            failed.update(error=str(text), problem=text.stored())
        write_status(folder, failed)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def run(folder: Path, work: Callable[[dict[str, Any], Update], None]) -> int:
    """The child: do ``work`` (which reports its states through ``update``), and keep
    status.json saying how far it got, and why it failed if it did."""
    status = json.loads((folder / STATUS).read_text(encoding="utf-8"))

    def update(**changes: Any) -> None:
        status.update(changes)
        write_status(folder, status)

    try:
        work(status, update)
        update(state="done", done=status["total"], finished_at=now())
    except RushesError as exc:
        update(state="failed", error=str(exc), problem=exc.text.stored(), finished_at=now())
        return 1
    except OSError as exc:
        update(state="failed", error=str(exc), finished_at=now())
        return 1
    return 0


def problem(status: dict[str, Any]) -> Text | str | None:
    """Why the job failed, as a page translates it: the marked message when the job's own
    check refused, the system's words (a full disk) as they are."""
    stored = status.get("problem")
    return Text.restored(stored) if stored else status.get("error")


def pack(made: Path, target: Path, update: Update) -> None:
    """A folder as one zip under its own name (stored: video does not shrink), named .partial
    until whole; progress counted in files."""
    files = sorted(p for p in made.rglob("*") if p.is_file())
    update(state="packing", done=0, total=len(files))
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED, allowZip64=True) as out:
        for done, path in enumerate(files, 1):
            out.write(path, f"{made.name}/{path.relative_to(made).as_posix()}")
            update(done=done)
    os.replace(partial, target)
