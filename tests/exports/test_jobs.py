"""Jobs the web starts and follows: a child that dies without a word is named for what it was."""

from __future__ import annotations

import time
from pathlib import Path

from rushes.exports import jobs
from rushes.i18n import Text
from rushes.settings import load


def test_a_job_whose_process_is_killed_says_so_and_to_start_it_again(tmp_path: Path) -> None:
    settings = load({"RUSHES_DATA_DIR": str(tmp_path / "data")})  # no catalog: the job's files
    group = tmp_path / "jobs"
    job = jobs.start(settings, group, {"kind": "bag"}, "tests.exports.killed_job")["id"]
    deadline = time.monotonic() + 60
    while (status := jobs.read_status(group, job))["state"] != "failed":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert "its process was killed (SIGKILL" in status["error"], status
    assert "start it again" in status["error"]
    shown = jobs.problem(status)
    assert isinstance(shown, Text) and str(shown) == status["error"]  # translated where shown
