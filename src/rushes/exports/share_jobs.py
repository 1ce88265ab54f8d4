"""Share copies and share previews started from the player: each a job of one clip
(`rushes.exports.jobs`), under <data>/jobs/shares/<sha256>/<id>/ and
<data>/jobs/previews/<sha256>/<id>/, so the player finds a clip's jobs without reading every
other clip's.

A share job runs `rushes.exports.share.share` on the whole clip (which records the `shared`
custody event) and zips the share folder (the copy and share.json), as evidence bags are
zipped; the zip and its folder are named ``share-<day>-<random>``, after neither the clip nor
the project. A preview job renders `rushes.exports.preview`. Both run in a child process:
``python -m rushes.exports.share_jobs FOLDER``.
"""

from __future__ import annotations

import re
import secrets
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rushes.base import open_base
from rushes.errors import NotFoundError
from rushes.exports import jobs, preview
from rushes.exports.share import Piece, share
from rushes.i18n import N_
from rushes.settings import Settings

KINDS = ("share", "preview")
MODULE = "rushes.exports.share_jobs"
# A preview job not finished after this long is taken for dead (its process killed with the
# machine): a new request for the same preview starts afresh rather than waiting on it.
ABANDONED = timedelta(hours=1)
_SHA = re.compile(r"[0-9a-f]{64}")


def group(settings: Settings, kind: str, sha256: str) -> Path:
    if kind not in KINDS or not _SHA.fullmatch(sha256):
        raise NotFoundError(N_("no such clip: %(sha256)s"), sha256=sha256[:12])
    return jobs.root(settings, f"{kind}s", sha256)


def of_clip(settings: Settings, kind: str, project: str, sha256: str) -> list[dict[str, Any]]:
    """The project's jobs of this kind for the clip, newest first."""
    return [s for s in jobs.statuses(group(settings, kind, sha256)) if s["project"] == project]


def read(settings: Settings, kind: str, project: str, sha256: str, job: str) -> dict[str, Any]:
    """One job, if it is this project's: another project's is as missing as a typo."""
    status = jobs.read_status(group(settings, kind, sha256), job)
    if status["project"] != project:
        raise NotFoundError(N_("no such job: %(job)s"), job=job)
    return status


def zip_path(settings: Settings, status: dict[str, Any]) -> Path:
    return group(settings, "share", status["asset"]) / status["id"] / status["file"]


def start_share(
    settings: Settings,
    project: str,
    sha256: str,
    actor: str,
    *,
    to: str,
    why: str,
    faces: bool = True,
    pseudonymise_crew: bool = False,
    span: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Start making the clip's share copy (of `span` seconds only, if given); returns at once.
    `share` refuses, in the job, a copy that does not say to whom and why."""
    # Named by the day and chance alone, the zip and the folder in it: the original's SHA-256
    # in a published file's name would lead a seized card's hash to it, and a project's name
    # may be a place's.
    name = f"share-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    fields = {
        "kind": "share",
        "project": project,
        "asset": sha256,
        "actor": actor,
        "to": to.strip(),
        "why": why.strip(),
        "faces": faces,
        "pseudonymise_crew": pseudonymise_crew,
        "span": list(span) if span else None,
        "folder": name,
        "file": f"{name}.zip",
    }
    return jobs.start(settings, group(settings, "share", sha256), fields, MODULE)


def start_preview(
    settings: Settings, project: str, sha256: str, actor: str, key: str
) -> dict[str, Any]:
    """Start rendering the project's preview of the clip, whose redactions are now ``key``
    (`preview.key`); a job already rendering that key is returned instead (a second click
    makes no second job). Finished preview jobs of the clip are removed: a job is only needed
    while it runs, or to say why it failed until the next one starts."""
    folder = group(settings, "preview", sha256)
    earliest = (datetime.now(UTC) - ABANDONED).isoformat(timespec="seconds")
    earlier = of_clip(settings, "preview", project, sha256)
    for status in earlier:
        running = status["state"] not in jobs.FINISHED and status["started_at"] > earliest
        if running and status["key"] == key:
            return status
    for status in earlier:
        if status["state"] in jobs.FINISHED:
            shutil.rmtree(folder / status["id"], ignore_errors=True)
    fields = {"kind": "preview", "project": project, "asset": sha256, "actor": actor, "key": key}
    return jobs.start(settings, folder, fields, MODULE)


def _share(folder: Path, status: dict[str, Any], update: jobs.Update) -> None:
    update(state="making")
    with open_base(create=False) as base:
        made = share(
            base,
            status["project"],
            [Piece(status["asset"], tuple(status["span"]) if status.get("span") else None)],
            folder / status["folder"],
            actor=status["actor"],
            to=status["to"],
            why=status["why"],
            faces=status["faces"],
            pseudonymise_crew=status["pseudonymise_crew"],
            progress=_percent(update),
        )
    update(export=made.export_id, copy_sha256=made.copies[0]["sha256"])
    jobs.pack(made.folder, folder / status["file"], update)
    shutil.rmtree(made.folder)  # the zip is the copy now


def _preview(folder: Path, status: dict[str, Any], update: jobs.Update) -> None:
    update(state="rendering")
    with open_base(create=False) as base:
        made = preview.render(
            base, status["project"], status["asset"], folder, progress=_percent(update)
        )
    update(file=made.name, key=made.details["key"])


def _percent(update: jobs.Update) -> Callable[[float], None]:
    """A copy's progress as the job's done/total, in hundredths."""
    return lambda share: update(done=round(share * 100), total=100)


def run(folder: Path) -> int:
    """The child: make the copy or the preview the job's status names."""
    work = {"share": _share, "preview": _preview}
    return jobs.run(folder, lambda status, update: work[status["kind"]](folder, status, update))


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
