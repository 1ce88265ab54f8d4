"""Evidence bags made from the web: each a job (`rushes.exports.jobs`) under
<data>/jobs/bags/<id>/, holding once done the bag as one zip. The custody log already records
each bag made. bagit changes the process's working directory while it works: one more reason
the bag is made in a child process (`python -m rushes.exports.bag_jobs FOLDER`).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

from rushes.base import open_base
from rushes.exports import jobs
from rushes.exports.evidence import Request, make_evidence_bag
from rushes.settings import Settings

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
write_status = jobs.write_status


def jobs_dir(settings: Settings) -> Path:
    return jobs.root(settings, "bags")


def read_status(settings: Settings, job: str) -> dict[str, Any]:
    return jobs.read_status(jobs_dir(settings), job)


def jobs_of(settings: Settings, project: str, incident: str) -> list[dict[str, Any]]:
    """The incident's bag jobs, newest first."""
    return [
        status
        for status in jobs.statuses(jobs_dir(settings))
        if status["project"] == project and status["incident"] == incident
    ]


def zip_path(settings: Settings, status: dict[str, Any]) -> Path:
    return jobs_dir(settings) / status["id"] / status["file"]


def start(
    settings: Settings,
    project: str,
    incident: str,
    actor: str,
    *,
    no_location: bool = False,
    pseudonymise_crew: bool = False,
) -> dict[str, Any]:
    """Record the job as queued and start its process; returns at once."""
    name = _UNSAFE.sub("-", f"{project}-{incident}-evidence")
    fields = {
        "project": project,
        "incident": incident,
        "actor": actor,
        "no_location": no_location,
        "pseudonymise_crew": pseudonymise_crew,
        "bag": name,
        "file": f"{name}.zip",
        "originals": [],
    }
    return jobs.start(settings, jobs_dir(settings), fields, "rushes.exports.bag_jobs")


def _make(folder: Path, status: dict[str, Any], update: jobs.Update) -> None:
    """Make the bag, then zip it: the zip is the bag; the vault keeps the originals."""
    update(state="making")
    with open_base(create=False) as base:
        request = Request(
            project=status["project"],
            target=folder / status["bag"],
            actor=status["actor"],
            incident=status["incident"],
            no_location=status.get("no_location", False),
            pseudonymise_crew=status.get("pseudonymise_crew", False),
        )
        made = make_evidence_bag(base, request, lambda d, t: update(done=d, total=t))
    update(originals=made.originals, tag_manifest_sha256=made.tag_manifest_sha256)
    jobs.pack(made.path, folder / status["file"], update)
    shutil.rmtree(made.path)


def run(folder: Path) -> int:
    """The child: make the bag and keep status.json saying how far it got."""
    return jobs.run(folder, lambda status, update: _make(folder, status, update))


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
