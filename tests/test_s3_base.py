"""A base whose vault is an S3 store with Object Lock (SeaweedFS on loopback), through the real
`rushes` command on both databases: footage from a card to the store, through the pipeline
(which fetches what it decodes), checked in full and quickly; and a local vault moved to S3
by `rushes vault copy`, killed half-way and resumed, its old folder then the replica; and an
incident's originals put under legal hold and released."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from rushes.catalog import utcnow
from rushes.catalog.models import Arrival, User
from rushes.holds import reconcile
from rushes.review import accounts
from rushes.review.access import Role, viewer_for
from rushes.review.incidents import create_incident, link_asset
from rushes.review.projects import find_project
from tests.clips import random_bytes_file
from tests.conftest import RUSHES, Env
from tests.processes import read_to
from tests.s3 import SeaweedFS


def custody_verbs(env: Env) -> list[tuple[str, str | None, dict]]:
    lines = env.run("custody", "export").stdout.splitlines()
    return [(e["verb"], e["asset"], e["details"]) for e in map(json.loads, lines)]


def on_s3(env: Env, server: SeaweedFS) -> str:
    """Point `env` at a new bucket with Object Lock; returns the vault's address."""
    url = f"s3://{server.bucket()}/vault"
    env.extra.update({**server.env, "RUSHES_VAULT_URL": url})
    return url


# An organisation's setup (the S3 tests on SQLite: Ctrl-C here, the outages in test_s3_outage)
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_footage_goes_from_a_card_to_s3_through_the_pipeline_and_verifies(
    env: Env, s3_server: SeaweedFS, fixtures_dir: Path, tmp_path: Path
) -> None:
    url = on_s3(env, s3_server)
    card = tmp_path / "card"
    card.mkdir()
    shutil.copy(fixtures_dir / "doorknob-hd-no-bar.mp4", card / "C0001.MP4")
    (card / "broken.mp4").write_bytes(os.urandom(70_000))  # kept, though nothing decodes it
    shas = {hashlib.sha256(p.read_bytes()).hexdigest() for p in card.iterdir()}
    env.run("ingest", str(card), "-p", "aleppo", "--source", "card 1")
    assert not (env.vault / "originals").exists()  # nothing went to the local folder
    shutil.rmtree(env.data_dir / "vault-cache")  # the pipeline must fetch what it decodes
    env.run("process")
    for sha in shas - {hashlib.sha256((card / "broken.mp4").read_bytes()).hexdigest()}:
        shown = env.run("show", sha).stdout
        assert "proxy" in shown and "failed" not in shown, shown
        assert f"{url}/originals/{sha}" in shown

    full = env.run("verify")
    assert "originals checked: 2, failed: 0" in full.stdout
    quick = env.run("verify", "--quick")
    assert "originals checked (store checksums and retention, bytes not read): 2, failed: 0" in (
        quick.stdout
    )
    verbs = custody_verbs(env)
    assert {a for v, a, _ in verbs if v == "fixity-ok"} == shas
    assert {a for v, a, _ in verbs if v == "store-check-ok"} == shas

    # An original stored without retention (RUSHES_VAULT_RETENTION_DAYS=0 for one ingest) is
    # named by the full check too, though its bytes are intact.
    later = tmp_path / "card2"
    later.mkdir()
    (later / "C0002.MP4").write_bytes(os.urandom(5_000))
    unlocked = hashlib.sha256((later / "C0002.MP4").read_bytes()).hexdigest()
    zero = {**env.vars, "RUSHES_VAULT_RETENTION_DAYS": "0"}
    subprocess.run([*RUSHES, "ingest", str(later), "-p", "aleppo"], env=zero, check=True)
    named = env.run("verify", check=False)
    assert named.returncode == 1 and "failed: 1" in named.stdout
    assert f"FAILED {unlocked}: the bytes are intact, but not under a COMPLIANCE" in named.stdout

    # Someone with the store's keys puts other bytes over one original without the condition:
    # the locked original survives as an older version, and the check names the key.
    forged = sorted(shas)[0]
    bucket = url.removeprefix("s3://").split("/")[0]
    s3_server.client().put_object(Bucket=bucket, Key=f"vault/originals/{forged}", Body=b"x")
    failed = env.run("verify", "--quick", check=False)  # the full check: tests/vault/test_s3.py
    assert failed.returncode == 1
    assert f"FAILED {forged}" in failed.stdout and "failed: 2" in failed.stdout
    assert "is still stored: delete the newer version(s)" in failed.stdout  # how to undo it
    full = env.run("verify", check=False)
    assert f"FAILED {forged}: size is 1 bytes" in full.stdout and "is still stored" in full.stdout
    key = f"vault/originals/{forged}"
    listed = s3_server.client().list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    (newer,) = (v["VersionId"] for v in listed if v["IsLatest"])
    s3_server.client().delete_object(Bucket=bucket, Key=key, VersionId=newer)  # as it says
    assert f"FAILED {forged}" not in env.run("verify", "--quick", check=False).stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ctrl_c_during_a_big_upload_stops_it_and_keeps_nothing_half_sent(
    env: Env, s3_server: SeaweedFS, tmp_path: Path
) -> None:
    """Ctrl-C while an original is sent in parts: the run stops at the next part instead of
    sending the rest first (minutes for a big file on a slow link), the upload is aborted,
    nothing is recorded, the crew are told so, and the same command later stores it."""
    url = on_s3(env, s3_server)
    bucket = url.removeprefix("s3://").split("/")[0]
    card = tmp_path / "card"
    card.mkdir()
    big = random_bytes_file(card / "C0001.MOV", 256 << 20, seed=7)
    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    args = [*RUSHES, "ingest", str(card), "-p", "aleppo"]
    proc = subprocess.Popen(args, env=env.vars, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    client = s3_server.client()
    deadline = time.monotonic() + 60

    # Caught with the card open and read 16 MiB or more, not to its end, then stopped
    # (SIGSTOP) while the store is asked whether the upload is under way (else it is still
    # being hashed): a busy store answers late, and the signal must come before the last part,
    # however loaded the machine.
    def midway() -> bool:
        return any(16 << 20 <= at < big.stat().st_size for at in read_to(proc.pid, big))

    while True:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        if midway():
            proc.send_signal(signal.SIGSTOP)
            if client.list_multipart_uploads(Bucket=bucket).get("Uploads") and midway():
                break
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.001)
    proc.send_signal(signal.SIGCONT)  # then Ctrl-C to the running command, as a user's comes:
    proc.send_signal(signal.SIGINT)  # sent while stopped, it would wait for any thread to wake
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)  # a summary, not a traceback
    assert b"1 file: 1 not attempted" in out and b"stopped: Ctrl-C" in out, out
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert [o["Key"] for o in listed if sha in o["Key"]] == []  # the rest was never sent
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert env.run("assets", "--json").stdout.strip() == ""  # nothing recorded
    again = env.run("ingest", str(card), "-p", "aleppo")
    assert "1 file: 1 new" in again.stdout, again.stdout
    assert env.run("verify", "--quick").returncode == 0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # an organisation's catalog
def test_a_local_vault_moves_to_s3_resumably_then_its_old_folder_is_the_replica(
    env: Env, s3_server: SeaweedFS, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    for n in range(6):
        (card / f"C{n:04}.MXF").write_bytes(os.urandom(8 << 20))
    env.run("ingest", str(card), "-p", "aleppo", "--source", "card 1")
    refused = env.run("verify", "--quick", check=False)  # a folder keeps no checksums
    assert refused.returncode == 2 and "can only be re-hashed" in refused.stderr
    shas = {hashlib.sha256(p.read_bytes()).hexdigest() for p in card.iterdir()}
    url = f"s3://{s3_server.bucket()}/vault"
    bucket = url.removeprefix("s3://").split("/")[0]
    env.extra.update(s3_server.env)

    # Killed once the first original is in the store.
    copying = subprocess.Popen(
        [*RUSHES, "vault", "copy", "--to", url],
        env=env.vars,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = s3_server.client()
    while not client.list_objects_v2(Bucket=bucket, Prefix="vault/originals/")["KeyCount"]:
        assert copying.poll() is None, "vault copy ended before it was interrupted"
        time.sleep(0.01)
    copying.send_signal(signal.SIGKILL)
    copying.wait()
    there = client.list_objects_v2(Bucket=bucket, Prefix="vault/originals/")["KeyCount"]
    assert 1 <= there < len(shas)

    resumed = env.run("vault", "copy", "--to", url)
    assert "0 failed" in resumed.stdout and f"RUSHES_VAULT_URL={url}" in resumed.stderr
    copied = {a for v, a, d in custody_verbs(env) if v == "replicated" and d["to"] == url}
    assert copied == shas

    old = env.vault
    env.extra.update({"RUSHES_VAULT_URL": url, "RUSHES_REPLICA_DIR": str(old)})
    assert "originals checked: 6, failed: 0" in env.run("verify").stdout
    assert "failed: 0" in env.run("verify", "--quick").stdout
    again = env.run("vault", "copy", "--to", url, check=False)
    assert again.returncode != 0 and "is the vault itself" in again.stderr


@pytest.fixture(autouse=True)
def _no_aws_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The test identity only: no credentials file of the machine's may answer instead."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # an organisation's catalog
def test_an_incident_s_originals_are_held_past_their_retention_and_released(
    env: Env, s3_server: SeaweedFS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = on_s3(env, s3_server)
    for name, value in s3_server.env.items():  # this process opens the base too
        monkeypatch.setenv(name, value)
    card = tmp_path / "card"
    card.mkdir()
    for n in range(3):
        (card / f"C{n:04}.MP4").write_bytes(os.urandom(10_000))
    env.run("ingest", str(card), "-p", "aleppo")
    with env.open() as base, base.catalog.write() as session:
        user = accounts.create_user(session, "ivan", "correct horse battery")
        project = find_project(session, "aleppo")
        accounts.add_member(session, project, user, Role.INVESTIGATOR)
        viewer = viewer_for(session, user, "aleppo")
        raw = {"title": "Strike", "type": "airstrike", "started_at": "2016-04-12T09:30:00+03:00"}
        create_incident(session, viewer, {**raw, "code": "ALP-1"})
        all_shas = sorted(session.scalars(select(Arrival.asset_sha256)).all())
        linked = all_shas[:2]
        for sha in linked:
            link_asset(session, viewer, "ALP-1", sha, "strike")
    bucket = url.removeprefix("s3://").split("/")[0]
    client = s3_server.client()

    def holds() -> dict[str, str]:
        return {
            sha: client.get_object_legal_hold(Bucket=bucket, Key=f"vault/originals/{sha}")[
                "LegalHold"
            ]["Status"]
            for sha in linked
        }

    held = env.run("incidents", "hold", "ALP-1", "--project", "aleppo")
    assert "legal hold on for 2 original(s)" in held.stdout
    assert holds() == dict.fromkeys(linked, "ON")
    # Linked after the hold: held by the next look (rushes serve's, every minute, asks about
    # what was linked since; rushes verify about everything).
    later = sorted(set(all_shas) - set(linked))[0]
    mark = utcnow()
    with env.open() as base, base.catalog.write() as session:
        viewer = viewer_for(session, session.scalars(select(User)).one(), "aleppo")
        link_asset(session, viewer, "ALP-1", later, "rescue")
        raw = {**raw, "code": "ALP-2"}
        create_incident(session, viewer, raw)
        link_asset(session, viewer, "ALP-2", linked[0], "strike")
    with env.open() as base:
        assert reconcile(base, "ivan", since=mark) == [later]
    linked.append(later)
    assert holds() == dict.fromkeys(linked, "ON")
    env.run("incidents", "hold", "ALP-2", "--project", "aleppo")
    assert "HELD" not in env.run("verify", "--quick").stdout
    env.run("incidents", "hold", "ALP-1", "--project", "aleppo", "--release")
    assert holds() == {linked[0]: "ON", linked[1]: "OFF", later: "OFF"}  # ALP-2 still holds one
    events = [(a, d["hold"]) for v, a, d in custody_verbs(env) if v == "legal-hold"]
    on = [(s, "on") for s in linked] + [(linked[0], "on")]
    assert sorted(events) == sorted([*on, (linked[1], "off"), (later, "off")])
    missing = env.run("incidents", "hold", "NOPE", "--project", "aleppo", check=False)
    assert missing.returncode == 1 and "no incident 'NOPE'" in missing.stderr
