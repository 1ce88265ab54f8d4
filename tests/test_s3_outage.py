"""A base whose S3 store stops answering (its SeaweedFS killed, then started again), through
the real `rushes` command: the catalog stays open and `rushes serve` starts, naming the store on
its status page; ingest and verify stop at once with one clear message and finish once it is
back; a store that answers no (no such bucket, no Object Lock) still stops the base at start."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from rushes.cards import walk
from rushes.catalog.models import CustodyEvent
from rushes.ingest import Ingest
from tests.clips import random_bytes_file
from tests.conftest import Env, vault_on
from tests.s3 import SeaweedFS
from tests.upload.test_faults import serving
from tests.web.conftest import Client, sign_in
from tests.web.test_status import free_port

sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def env(tmp_path: Path, db_url: str, own_s3: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> Env:
    """A base whose vault is on a store of the test's own."""
    return vault_on(own_s3, tmp_path, db_url, monkeypatch)


def card(folder: Path, count: int, seed: int = 0) -> list[str]:
    """`count` files of random bytes in `folder`; their SHA-256s."""
    folder.mkdir()
    paths = [random_bytes_file(folder / f"C{n:04}.MP4", 50_000, seed + n) for n in range(count)]
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


@sqlite
def test_with_the_store_down_the_catalog_answers_and_ingest_stops_at_once(
    env: Env, own_s3: SeaweedFS, tmp_path: Path
) -> None:
    [first] = card(tmp_path / "card1", 1)
    with env.open() as base:
        Ingest(base, project="aleppo", actor="tester").run(walk([tmp_path / "card1"]))
    own_s3.stop()

    # What the catalog knows is shown: opening the base does not wait for the store.
    shown = env.run("assets", "--json")
    assert first in shown.stdout and "does not answer" in shown.stderr  # said, not fatal

    # Ingest stops at the first file it cannot store, with one message; the rest are left.
    later = card(tmp_path / "card2", 3, seed=10)
    stopped = env.run("ingest", str(tmp_path / "card2"), "-p", "aleppo", check=False)
    assert stopped.returncode == 1
    assert "3 files: 1 failed, 2 not attempted" in stopped.stdout, stopped.stdout
    assert "does not answer" in stopped.stdout and "cannot store" not in stopped.stdout
    assert "run the same command again once it answers" in stopped.stdout
    # Verify says the store does not answer, and logs no original as failed.
    unchecked = env.run("verify", check=False)
    assert unchecked.returncode == 1 and "does not answer" in unchecked.stderr, unchecked
    with env.open() as base, base.catalog.read() as session:
        verbs = session.scalars(select(CustodyEvent.verb)).all()
    assert verbs == ["received"]

    own_s3.start()
    again = env.run("ingest", str(tmp_path / "card2"), "-p", "aleppo")
    assert "3 files: 3 new" in again.stdout, again.stdout
    with env.open() as base:  # locked as ever: the Object Lock was asked once the store answered
        assert all(base.vault.quick_check(sha, 50_000).ok for sha in [first, *later])


@sqlite
def test_a_store_that_stops_answering_mid_ingest_stops_the_run(
    env: Env, own_s3: SeaweedFS, tmp_path: Path
) -> None:
    """The base opened while the store answered (its Object Lock known), then it stops."""
    card(tmp_path / "card", 3)
    with env.open() as base:
        own_s3.stop()
        report = Ingest(base, project="aleppo", actor="tester").run(walk([tmp_path / "card"]))
    assert [o.status for o in report.outcomes] == ["failed", "not attempted", "not attempted"]
    assert "does not answer" in report.outcomes[0].reason
    assert "does not answer" in report.aborted and not report.ok


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # shared uploads need it
def test_serve_starts_while_the_store_is_down_and_names_it(
    env: Env, own_s3: SeaweedFS, tmp_path: Path
) -> None:
    bucket = env.extra["RUSHES_VAULT_URL"].removeprefix("s3://").split("/")[0]
    env.extra["RUSHES_DERIVATIVES_URL"] = f"s3://{bucket}/derived"
    env.extra["RUSHES_UPLOAD_URL"] = f"s3://{bucket}/up"
    env.run("user", "add", "ada", "--site-admin", "--password-stdin", input="a long password\n")
    own_s3.stop()
    port = free_port()
    with (
        serving(env, port, tmp_path / "serve.log"),
        Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as ada,
    ):
        sign_in(ada, "ada", "a long password")
        stores = ada.get("/api/status").json()["stores"]
        assert [(s["what"], bool(s["problem"])) for s in stores] == [
            ("originals", True),
            ("derivatives", True),
        ]
        assert "does not answer" in ada.get("/status").text
        own_s3.start()
        stores = ada.get("/api/status").json()["stores"]
        assert [s["problem"] for s in stores] == [None, None]


@sqlite
def test_a_store_that_answers_no_still_stops_the_base_at_start(env: Env, own_s3: SeaweedFS) -> None:
    env.extra["RUSHES_VAULT_URL"] = "s3://no-such-bucket/vault"
    made = env.run("user", "add", "ada", "--password-stdin", input="a long password\n", check=False)
    assert made.returncode == 1 and "NoSuchBucket" in made.stderr, made
    env.extra["RUSHES_VAULT_URL"] = f"s3://{own_s3.bucket(lock=False)}/vault"
    refused = env.run("serve", "--port", str(free_port()), check=False, timeout=60)
    assert refused.returncode == 1 and "no Object Lock" in refused.stderr, refused
