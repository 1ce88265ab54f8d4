"""Trusted timestamps of the custody chain (issue 15), against a real TSA on loopback.

`tests/tsa.py` runs `openssl ts -reply` with a CA and TSA certificate made here; the base asks
it over HTTP as it would a public TSA, and `openssl ts -verify` checks what it kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from rushes import custody
from rushes.catalog.models import CustodyEvent, CustodyHead, Timestamp
from rushes.stamps import QUIET, due, summary
from tests.conftest import Env
from tests.tsa import TSA, make_ca
from tests.upload.test_faults import serving
from tests.web.conftest import PASSWORD, Client, sign_in
from tests.web.test_status import free_port


def stamping(env: Env, tsa: TSA, ca: Path | None = None) -> Env:
    """The base with the loopback TSA configured (and `ca` as the root, if given)."""
    extra = {"RUSHES_TSA_URLS": tsa.url, "RUSHES_TSA_CA": str(ca or tsa.ca)}
    return dataclasses.replace(env, extra=extra)


def card(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_bytes(f"{folder.name}/{name}".encode() * 100)
    return folder


def stamps(env: Env) -> list[Timestamp]:
    with env.open() as base, base.catalog.read() as session:
        rows = session.scalars(select(Timestamp).order_by(Timestamp.seq)).all()
        session.expunge_all()
        return list(rows)


def head(env: Env) -> int:
    with env.open() as base, base.catalog.read() as session:
        return session.get(CustodyHead, 1).seq


def test_ingest_stamps_the_head_and_openssl_verifies_the_token(
    env: Env, tsa: TSA, tmp_path: Path
) -> None:
    stamped = stamping(env, tsa)
    ingested = stamped.run("ingest", str(card(tmp_path / "card", "a.txt", "b.txt")), "-p", "p")
    last = head(stamped) - 1  # the ingest's last event; the stamp's own follows it
    assert f"custody chain timestamped at event {last} by {tsa.url}" in ingested.stdout
    (row,) = stamps(stamped)
    with stamped.open() as base, base.catalog.read() as session:
        assert row.head_hash == session.get(CustodyEvent, last).hash
        logged = session.scalars(
            select(CustodyEvent).where(CustodyEvent.verb == "timestamped")
        ).one()
    assert (logged.seq, custody.as_record(logged)["details"]["seq"]) == (last + 1, last)
    # Nothing logged since but the stamp itself: nothing to stamp again.
    assert "nothing to stamp" in stamped.run("custody", "stamp").stdout

    verified = stamped.run("verify")
    assert "trusted timestamps checked: 1, all hold" in verified.stdout

    # The token is a standard one: openssl checks it from a plain shell, knowing only the hash.
    reply = tmp_path / "event-2.tsr"
    reply.write_bytes(row.response)
    command = ["openssl", "ts", "-verify", "-digest", row.head_hash, "-in", str(reply)]
    checked = subprocess.run([*command, "-CAfile", str(tsa.ca)], capture_output=True, text=True)
    assert "Verification: OK" in checked.stdout, checked
    other = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            "00" * 32,
            "-in",
            str(reply),
            "-CAfile",
            str(tsa.ca),
        ],
        capture_output=True,
        text=True,
    )
    assert "Verification: OK" not in other.stdout


# the token's check, whatever the catalog
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_tampered_token_or_another_root_fails_verify(env: Env, tsa: TSA, tmp_path: Path) -> None:
    stamped = stamping(env, tsa)
    stamped.run("ingest", str(card(tmp_path / "card", "a.txt")), "-p", "p")
    seq = head(stamped) - 1
    # Checked where no root is set (another machine): said, not called a failure.
    rootless = env.run("verify")
    assert "FAILED" not in rootless.stdout, rootless.stdout
    assert "trusted timestamps: 1 not checked: RUSHES_TSA_CA is not set" in rootless.stdout, (
        rootless.stdout
    )
    other_root = make_ca(tmp_path, "another root")[0]
    wrong = stamping(env, tsa, other_root).run("verify", check=False)
    assert wrong.returncode == 1
    assert (
        f"FAILED timestamp: timestamp of event {seq} by {tsa.url}: the token does not verify"
        in (wrong.stdout)
    )

    (row,) = stamps(stamped)
    tampered = bytearray(row.response)
    tampered[-10] ^= 0x01  # inside the signature
    with stamped.open() as base, base.catalog.write() as session:
        session.execute(update(Timestamp).values(response=bytes(tampered)))
    result = stamped.run("verify", check=False)
    assert result.returncode == 1
    assert f"FAILED timestamp: timestamp of event {seq} by" in result.stdout

    # A genuine token of another event, put in this one's place.
    with stamped.open() as base, base.catalog.write() as session:
        session.execute(update(Timestamp).values(response=row.response))
    stamped.run("ingest", str(card(tmp_path / "more", "b.txt")), "-p", "p")
    first, second = stamps(stamped)
    with stamped.open() as base, base.catalog.write() as session:
        session.execute(
            update(Timestamp).where(Timestamp.id == second.id).values(response=first.response)
        )
    result = stamped.run("verify", check=False)
    assert result.returncode == 1
    assert (
        f"timestamp of event {second.seq} by {tsa.url}: the token vouches for hash "
        f"{first.head_hash[:16]}…, not for this event's {second.head_hash[:16]}…"
    ) in result.stdout


def rewrite_from(env: Env, seq: int) -> None:
    """Edit event `seq` and recompute every hash after it and the head, as someone with write
    access to the database would: the chain alone stays consistent."""
    with env.open() as base, base.catalog.write() as session:
        events = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)).all()
        prev = custody.GENESIS
        for event in events:
            if event.seq == seq:
                event.actor = "someone else"
            event.prev_hash = prev
            event.hash = custody.event_hash(custody.as_record(event))
            prev = event.hash
        head = session.get(CustodyHead, 1)
        head.hash = prev


def test_a_consistently_rewritten_chain_is_caught_by_its_stamps(
    env: Env, tsa: TSA, tmp_path: Path
) -> None:
    stamped = stamping(env, tsa)
    stamped.run("ingest", str(card(tmp_path / "one", "a.txt", "b.txt")), "-p", "p")
    first = head(stamped)  # the first stamp's own event
    stamped.run("ingest", str(card(tmp_path / "two", "c.txt", "d.txt")), "-p", "p")
    events = head(stamped)
    assert [row.seq for row in stamps(stamped)] == [first - 1, events - 1]
    rewrite_from(stamped, first + 1)  # the second card's first arrival
    result = stamped.run("verify", check=False)
    assert result.returncode == 1
    assert f"custody chain: {events} events, intact" in result.stdout  # the hashes agree
    assert f"FAILED timestamp: event {events - 1} is not the event a TSA stamped at" in (
        result.stdout
    )
    assert f"rewritten at or before it; event {first - 1} still matches its stamp" in (
        result.stdout
    )


def test_a_tsa_down_or_answering_garbage_blocks_nothing_and_is_tried_again(
    env: Env, tsa: TSA, tmp_path: Path
) -> None:
    stamped = stamping(env, tsa)
    tsa.stop()
    ingested = stamped.run("ingest", str(card(tmp_path / "card", "a.txt")), "-p", "p")
    assert "1 file: 1 new" in ingested.stdout
    assert "not timestamped (tried again later)" in ingested.stdout
    assert "unreachable" in ingested.stdout
    with stamped.open() as base, base.catalog.read() as session:
        state = summary(session, base.settings)
    events = head(stamped)
    assert state["unstamped_events"] == events and "unreachable" in state["error"]

    tsa.garbage = True
    tsa.start()
    refused = stamped.run("custody", "stamp", check=False)
    assert refused.returncode == 1 and "not a timestamp reply" in refused.stderr

    tsa.garbage = False
    assert f"timestamped at event {events}" in stamped.run("custody", "stamp").stdout
    with stamped.open() as base, base.catalog.read() as session:
        state = summary(session, base.settings)
    assert (state["error"], state["last_seq"], state["unstamped_events"]) == ("", events, 1)
    assert "trusted timestamps checked: 1, all hold" in stamped.run("verify").stdout


def test_a_tsa_signing_with_an_expired_certificate_is_refused_and_blocks_nothing(
    env: Env, tmp_path: Path
) -> None:
    (tmp_path / "old").mkdir()
    old = TSA(tmp_path / "old", expired=True)
    try:
        stamped = stamping(env, old)
        ingested = stamped.run("ingest", str(card(tmp_path / "card", "a.txt")), "-p", "p")
    finally:
        old.stop()
    assert "1 file: 1 new" in ingested.stdout
    assert "not timestamped (tried again later)" in ingested.stdout
    assert "the token does not verify" in ingested.stdout
    assert not stamps(stamped)  # nothing kept that a court would reject


def test_the_server_stamps_after_a_batch_and_hourly(env: Env, tsa: TSA, tmp_path: Path) -> None:
    stamped = stamping(env, tsa)
    stamped.run("ingest", str(card(tmp_path / "card", "a.txt")), "-p", "p")
    with stamped.open() as base, base.catalog.write() as session:
        last = session.get(CustodyEvent, session.get(CustodyHead, 1).seq)
        logged = datetime.fromisoformat(last.at.replace("Z", "+00:00"))
        assert not due(session, logged + QUIET)  # the ingest's own stamp covers it
        exported = custody.append(session, custody.Verb.EXPORTED, actor="tester")
        at = datetime.fromisoformat(exported.at.replace("Z", "+00:00"))
    with stamped.open() as base, base.catalog.read() as session:
        assert not due(session, at + timedelta(seconds=5))  # the batch may go on
        assert due(session, at + QUIET)  # it has ended
    with stamped.open() as base, base.catalog.write() as session:  # the last stamp is old
        session.execute(update(Timestamp).values(gen_time=at - timedelta(hours=1)))
    with stamped.open() as base, base.catalog.read() as session:
        assert due(session, at + timedelta(seconds=5))  # events keep coming: hourly anyway


# the server's keeper on an organisation's catalog (the CLI's stamps run on both)
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_rushes_serve_stamps_a_head_nobody_stamped_yet(env: Env, tsa: TSA, tmp_path: Path) -> None:
    env.run("ingest", str(card(tmp_path / "card", "a.txt")), "-p", "p")  # no TSA configured
    stamped = stamping(env, tsa)
    events = head(stamped)
    port = free_port()
    with serving(stamped, port, tmp_path / "serve.log"):
        deadline = time.monotonic() + 60  # a bound: the server looks every 5 s
        while not stamps(stamped):
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
    (row,) = stamps(stamped)
    assert row.seq == events and row.tsa == tsa.url


def test_a_bag_carries_its_tokens_and_checks_them_with_or_without_openssl(
    env: Env, tsa: TSA, tmp_path: Path
) -> None:
    stamped = stamping(env, tsa)
    stamped.run("ingest", str(card(tmp_path / "card", "a.txt")), "-p", "p")
    sha = hashlib.sha256((tmp_path / "card" / "a.txt").read_bytes()).hexdigest()
    bag = tmp_path / "bag"
    made = stamped.run("export", "evidence", "-p", "p", "--assets", sha, "-o", str(bag))
    assert "custody chain timestamped" in made.stderr  # the export itself, after the bag
    tokens = json.loads((bag / "data" / "timestamps" / "timestamps.json").read_text())
    assert "TRUSTED TIMESTAMPS" in (bag / "README.txt").read_text(encoding="utf-8")
    assert [entry["seq"] for entry in tokens] == [row.seq for row in stamps(stamped)][:-1]

    plain = subprocess.run(
        [sys.executable, "-I", str(bag / "verify_bag.py")], capture_output=True, text=True
    )
    assert plain.returncode == 0, plain.stdout
    assert f"{len(tokens)} trusted timestamp(s) vouch for the chain's hashes; openssl checked" in (
        plain.stdout
    )
    no_openssl = {"PATH": str(tmp_path / "empty"), "HOME": str(tmp_path)}
    bare = subprocess.run(
        [sys.executable, "-I", str(bag / "verify_bag.py")],
        capture_output=True,
        text=True,
        env=no_openssl,
    )
    assert bare.returncode == 0, bare.stdout
    first = tokens[0]
    assert (
        f"openssl ts -verify -digest {first['hash']} -in data/timestamps/{first['file']} "
        "-CAfile data/timestamps/tsa-roots.pem"
    ) in bare.stdout


# the page's reading of stamps made on both above
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_status_page_shows_the_last_stamp_and_a_failed_try(
    env: Env, tsa: TSA, tmp_path: Path
) -> None:
    stamped = stamping(env, tsa)
    stamped.run("ingest", str(card(tmp_path / "card", "a.txt")), "-p", "film")
    stamped.run("user", "add", "ada", "--site-admin", "--password-stdin", input=PASSWORD + "\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving(stamped, port, tmp_path / "serve.log"), Client(base_url=url, timeout=30) as admin:
        sign_in(admin, "ada")
        page = admin.get("/status").text
        assert "1 stamp; the last at event" in page and tsa.url in page
        tsa.stop()
        stamped.run("ingest", str(card(tmp_path / "more", "b.txt")), "-p", "film")
        page = admin.get("/status").text
        assert 'id="timestamp-error"' in page and "unreachable" in page
