"""Evidence bags, end to end: real clips ingested and processed, `rushes export evidence` run
as a command, each bag checked by `bagit.py --validate` and by its own verify_bag.py run by a
plain system Python from a copy elsewhere, then tampered with in each way the issue names."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import bagit
import pytest
from sqlalchemy import select

from rushes import custody
from rushes.base import Base
from rushes.cards import walk
from rushes.catalog import Project
from rushes.catalog.models import CustodyEvent, Incident, IncidentAsset, IncidentChange, Note, User
from rushes.exports import bag_verifier
from rushes.ingest import Ingest
from rushes.pipeline.runner import run_inline
from rushes.review.projects import create_project
from tests.clips import make_video
from tests.conftest import Env

PYTHON = shutil.which("python3", path="/usr/bin:/usr/local/bin") or sys.executable
BAGIT = Path(sys.executable).with_name("bagit.py")
LONGITUDE = -71.1625  # digits no timestamp, size or hash in a bag can hold by chance
CODE = "ALP-2016-0412"


@dataclass
class Shot:
    clips: list[str]  # a.mp4 (GPS, make, model) and b.mp4: the incident's footage
    other: str  # c.mp4: same card, not in the incident


@pytest.fixture
def shot(base: Base, tmp_path: Path) -> Shot:
    """Three real clips from one card, an incident with two of them, an evidence note with a
    reply and a story note; all probed, a.mp4 with its poster and proxies."""
    with base.catalog.write() as session:
        create_project(session, "film", "The Rescue")
    card = tmp_path / "card"
    card.mkdir()
    make_video(card / "a.mp4", seed=1, gps=(-36.2136, LONGITUDE), make="Acme", model="ZPhone 9")
    make_video(card / "b.mp4", seed=2)
    make_video(card / "c.mp4", seed=3)
    sha = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in card.iterdir()}
    Ingest(base, project="film", crew="karim", source="card 3, Rahed", actor="karim").run(
        walk([card])
    )
    with base.catalog.write() as session:
        film = session.scalar(select(Project.id).where(Project.slug == "film"))
        investigator = User(username="ivan", password_hash="!")  # never signs in here
        session.add(investigator)
        session.flush()
        ivan = investigator.id
        incident = Incident(
            project_id=film,
            code=CODE,
            title="Strike on the market",
            type="airstrike",
            started_at=datetime(2016, 4, 12, 9, 30, tzinfo=UTC),
            started_offset="+03:00",
            place="Old market",
            latitude=-36.2136,
            longitude=LONGITUDE,
            killed=3,
            created_by_id=ivan,
        )
        session.add(incident)
        session.flush()
        for field, old, new in (("killed", 2, 3), ("longitude", None, LONGITUDE)):
            session.add(
                IncidentChange(
                    incident_id=incident.id,
                    user_id=ivan,
                    field=field,
                    old=json.dumps(old) if old is not None else None,
                    new=json.dumps(new),
                )
            )
        for name in ("a.mp4", "b.mp4"):
            session.add(
                IncidentAsset(
                    incident_id=incident.id,
                    asset_sha256=sha[name],
                    relation="strike",
                    added_by_id=ivan,
                )
            )
        note = Note(
            project_id=film,
            asset_sha256=sha["a.mp4"],
            author_id=ivan,
            category="evidence",
            body="Aircraft visible",
            start=10,
            end=20,
            rate="30/1",
        )
        session.add(note)
        session.flush()
        session.add_all(
            [
                Note(
                    project_id=film,
                    asset_sha256=sha["a.mp4"],
                    author_id=ivan,
                    parent_id=note.id,
                    category="evidence",
                    body="Confirmed by a witness",
                ),
                Note(
                    project_id=film,
                    asset_sha256=sha["a.mp4"],
                    author_id=ivan,
                    category="story",
                    body="Nice framing",
                ),
            ]
        )
    run_inline(base, ["probe"], list(sha.values()))
    run_inline(base, ["thumbnails", "proxy"], [sha["a.mp4"]])
    return Shot([sha["a.mp4"], sha["b.mp4"]], sha["c.mp4"])


def verify_copy(bag: Path, tmp_path: Path, tamper: Callable[[Path], None] | None = None) -> str:
    """Copy the bag elsewhere, perhaps tamper with the copy, and run its own verify_bag.py with
    a plain system Python from yet another folder; returns its output (exit code checked)."""
    copy = tmp_path / f"copy-{len(list(tmp_path.glob('copy-*')))}"
    shutil.copytree(bag, copy)
    if tamper:
        tamper(copy)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    result = subprocess.run(
        [PYTHON, "-I", str(copy / "verify_bag.py"), str(copy)],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == (1 if tamper else 0), result.stdout + result.stderr
    return result.stdout


def export(env: Env, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return env.run("export", "evidence", "--project", "film", *args, check=check)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def exported_events(base: Base) -> list[CustodyEvent]:
    with base.catalog.read() as session:
        return list(session.scalars(select(CustodyEvent).where(CustodyEvent.verb == "exported")))


def test_incident_bag_holds_the_record_and_verifies_anywhere(
    env: Env, base: Base, shot: Shot, tmp_path: Path
) -> None:
    bag = tmp_path / "bag"
    result = export(env, "--incident", CODE, "-o", str(bag), "--actor", "lawyer-desk")
    assert result.stdout.strip() == str(bag)
    assert not bag.with_name("bag.partial").exists()
    data = bag / "data"

    # Originals byte-exact, named by hash, a copy and not a link to the vault.
    for sha in shot.clips:
        original = data / "originals" / f"{sha}.mp4"
        assert (
            original.read_bytes()
            == (env.vault / "originals").joinpath(sha[:2], sha[2:4], sha).read_bytes()
        )
        assert original.stat().st_nlink == 1
    assert not list((data / "originals").glob(f"{shot.other}*")), "not in the incident"

    record = json.loads((data / "assets" / f"{shot.clips[0]}.json").read_text())
    assert [(a["crew"], a["source"], Path(a["path"]).name) for a in record["arrivals"]] == [
        ("karim", "card 3, Rahed", "a.mp4")
    ]
    assert record["media"]["location"]["longitude"] == LONGITUDE
    assert record["media"]["device"]["model"] == "ZPhone 9"
    kinds = {d["kind"] for d in record["derivatives"]}
    assert kinds == {"proxy", "poster"}
    for derivative in record["derivatives"]:
        assert (bag / derivative["file"]).is_file()

    # Custody exactly as the log exports it, up to the head the bag records (the `exported`
    # events come after); the chain withholds the other clip's events.
    chain = lines(data / "custody" / "chain.jsonl")
    for sha in shot.clips:
        logged = io.StringIO()
        with base.catalog.read() as session:
            custody.export_jsonl(session, logged, sha)
        before = [
            line
            for line in logged.getvalue().splitlines(keepends=True)
            if json.loads(line)["seq"] <= chain[-1]["seq"]
        ]
        assert (data / "custody" / f"{sha}.jsonl").read_text(encoding="utf-8") == "".join(before)
    assert [e["seq"] for e in chain] == list(range(chain[0]["seq"], chain[-1]["seq"] + 1))
    withheld = [e for e in chain if "asset" not in e]
    assert withheld and all(set(e) == {"seq", "prev_hash", "body_hash", "hash"} for e in withheld)
    assert shot.other not in (data / "custody" / "chain.jsonl").read_text()
    info = bagit.Bag(str(bag)).info
    assert info["Custody-Chain-Head"] == f"{chain[-1]['seq']} {chain[-1]['hash']}"
    assert info["Source-Organization"] == "The Rescue"
    assert {"Bagging-Date", "External-Description", "Payload-Oxum"} <= set(info)

    incident = json.loads((data / "incidents" / f"{CODE}.json").read_text())
    assert incident["killed"] == 3 and incident["longitude"] == LONGITUDE
    assert [(h["field"], h["old"], h["new"], h["user"]) for h in incident["history"]] == [
        ("killed", 2, 3, "ivan"),
        ("longitude", None, LONGITUDE, "ivan"),
    ]
    assert sorted(a["sha256"] for a in incident["assets"]) == sorted(shot.clips)

    notes = json.loads((data / "notes" / f"{shot.clips[0]}.json").read_text())
    assert [(n["body"], [r["body"] for r in n["replies"]]) for n in notes] == [
        ("Aircraft visible", ["Confirmed by a witness"])
    ]
    assert json.loads((data / "notes" / f"{shot.clips[1]}.json").read_text()) == []

    readme = (bag / "README.txt").read_text()
    assert "python3 verify_bag.py ." in readme and "NOT evidence" in readme
    assert (bag / "verify_bag.py").read_bytes() == Path(bag_verifier.__file__).read_bytes()
    tag_lines = (bag / "tagmanifest-sha512.txt").read_text()
    assert "verify_bag.py" in tag_lines and "README.txt" in tag_lines

    validated = subprocess.run(
        [str(BAGIT), "--validate", str(bag)], capture_output=True, text=True, timeout=60
    )
    assert validated.returncode == 0, validated.stderr
    assert "is valid" in validated.stderr
    verdict = verify_copy(bag, tmp_path)
    assert verdict.startswith("VERIFIED: ")
    tag_digest = hashlib.sha256((bag / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    assert tag_digest in verdict

    # The export is itself a custody event per original, after the head the bag records.
    events = exported_events(base)
    assert sorted(e.asset_sha256 for e in events) == sorted(shot.clips)
    for event in events:
        details = json.loads(event.details)
        assert event.actor == "lawyer-desk" and event.seq > chain[-1]["seq"]
        assert details["bag"] == "bag" and details["incident"] == CODE
        assert details["payload_oxum"] == info["Payload-Oxum"]
        assert details["tag_manifest_sha256"] == tag_digest
    with base.catalog.snapshot() as session:
        assert custody.verify_chain(session).ok

    # --no-location: no position or device left in anything the bag's records say.
    bag = tmp_path / "private"
    export(env, "--incident", CODE, "--no-location", "-o", str(bag))
    leaks = [b"71.16", b"Acme", b"ZPhone", b'"location"', b'"device"', b'"latitude"']
    for path in sorted(p for p in bag.rglob("*") if p.is_file()):
        if path.parent.name == "originals":
            continue  # untouched originals keep the camera's own tags, as README.txt says
        found = [leak for leak in leaks if leak in path.read_bytes()]
        assert not found, f"{path.relative_to(bag)} holds {found}"
    assert b"71.16" in (bag / "data" / "originals" / f"{shot.clips[0]}.mp4").read_bytes()
    incident = json.loads((bag / "data" / "incidents" / f"{CODE}.json").read_text())
    assert incident["location_removed"] and incident["place"] == "Old market"
    assert [h["field"] for h in incident["history"]] == ["killed"]
    assert bagit.Bag(str(bag)).info["Location-And-Device-Metadata"] == "removed"
    assert "INSIDE" in (bag / "README.txt").read_text()
    assert verify_copy(bag, tmp_path).startswith("VERIFIED: ")


def _edit_event(copy: Path, sha: str, rehash: bool) -> None:
    path = copy / "data" / "custody" / f"{sha}.jsonl"
    events = lines(path)
    events[0]["details"]["crew"] = "someone else"
    if rehash:
        events[0]["hash"] = bag_verifier.event_hash(events[0])
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    if rehash:  # a careful forger fixes the manifests too: the chain still tells
        bagit.Bag(str(copy)).save(manifests=True)


def _rewrite_history(copy: Path, sha: str) -> None:
    """What a forger holding the bag would do: edit this original's first event, re-hash it and
    the whole events after it, and give the first withheld event after them the new link,
    keeping its hash (and so every hash after it, the head's and the timestamps' too)."""
    chain_path = copy / "data" / "custody" / "chain.jsonl"
    chain = lines(chain_path)
    start = next(i for i, e in enumerate(chain) if e.get("asset") == sha)
    chain[start]["details"]["crew"] = "someone else"
    previous = chain[start]["prev_hash"]
    for event in chain[start:]:
        event["prev_hash"] = previous
        if "asset" not in event:
            break  # withheld: its hash kept
        event["hash"] = previous = bag_verifier.event_hash(event)
    else:
        raise AssertionError("no withheld event after the edited one")
    chain_path.write_text("".join(json.dumps(e) + "\n" for e in chain), encoding="utf-8")
    for path in (copy / "data" / "custody").glob("*.jsonl"):
        if path != chain_path:
            seqs = [e["seq"] for e in lines(path)]
            whole = [e for e in chain if e["seq"] in seqs]
            path.write_text("".join(json.dumps(e) + "\n" for e in whole), encoding="utf-8")
    bagit.Bag(str(copy)).save(manifests=True)


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


# a bag's check reads files only, whatever the catalog
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_each_tampering_is_named_and_no_bag_overwrites(
    env: Env, base: Base, shot: Shot, tmp_path: Path
) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = export(env, "--assets", shot.clips[0], "-o", str(target), check=False)
    assert result.returncode == 1
    assert f"{target} already exists" in result.stderr
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert not target.with_name("taken.partial").exists()
    stopped = tmp_path / "stopped.partial"  # a killed export's leftover
    stopped.mkdir()
    result = export(env, "--assets", shot.clips[0], "-o", str(tmp_path / "stopped"), check=False)
    assert result.returncode == 1 and "stopped before it finished" in result.stderr
    assert "remove it, then export again" in result.stderr
    assert exported_events(base) == []
    nested = tmp_path / "bags" / "2026" / "one"  # folders made as needed
    export(env, "--assets", shot.clips[0], "-o", str(nested))
    assert (nested / "bagit.txt").is_file()

    bag = tmp_path / "bag"
    export(env, "--assets", shot.clips[0], "--assets", shot.other[:12], "-o", str(bag))
    a, c = shot.clips[0], shot.other
    original = f"data/originals/{a}.mp4"
    first = lines(bag / "data" / "custody" / f"{a}.jsonl")[0]["seq"]
    cases: dict[str, tuple[Callable[[Path], None], list[str]]] = {
        "changed byte": (
            lambda copy: _flip_byte(copy / original),
            [
                f"FAILED: {original}: SHA-256 does not match manifest-sha256.txt",
                f"FAILED: {original}: SHA-512 does not match manifest-sha512.txt",
                f"FAILED: {original}: its SHA-256 is",
            ],
        ),
        "removed file": (
            lambda copy: (copy / "data" / "notes" / f"{c}.json").unlink(),
            [f"FAILED: data/notes/{c}.json: missing (listed in manifest-sha256.txt"],
        ),
        "edited custody line": (
            lambda copy: _edit_event(copy, a, rehash=False),
            [
                f"FAILED: data/custody/{a}.jsonl line 1 (event {first}): content does not match "
                "its hash (edited)",
                f"FAILED: data/custody/{a}.jsonl: SHA-256 does not match",
            ],
        ),
        "edited and rehashed custody line": (
            lambda copy: _edit_event(copy, a, rehash=True),
            [
                f"FAILED: data/custody/{a}.jsonl line 1 (event {first}): differs from event "
                f"{first} in "
                "data/custody/chain.jsonl"
            ],
        ),
        "history rewritten up to a withheld event": (
            lambda copy: _rewrite_history(copy, a),
            ["its hash does not cover its link (edited)"],
        ),
        "added file": (
            lambda copy: (copy / "data" / "originals" / "extra.mp4").write_bytes(b"x"),
            [
                "FAILED: data/originals/extra.mp4: added (in the bag but not listed in "
                "manifest-sha256.txt)",
                "FAILED: bag-info.txt: Payload-Oxum says",
            ],
        ),
        "added tag file": (
            lambda copy: (copy / "notes.txt").write_text("x"),
            ["FAILED: notes.txt: added (in the bag but not listed in tagmanifest-sha256.txt)"],
        ),
    }
    for name, (tamper, expected) in cases.items():
        output = verify_copy(bag, tmp_path, tamper)
        for problem in expected:
            assert problem in output, f"{name}: {problem!r} not in\n{output}"
        assert output.rstrip().splitlines()[-1].startswith("FAILED: "), name
    broken = tmp_path / "copy-0"  # the changed byte, through the installed tool
    result = env.run("verify-bag", str(broken), check=False)
    assert result.returncode == 1 and f"FAILED: {original}" in result.stdout


def test_a_bag_tells_nothing_of_another_project_holding_the_same_bytes(
    env: Env, base: Base, shot: Shot, tmp_path: Path
) -> None:
    """The same card arrives in a second project too (another crew, another source): film's
    bag shows only film's arrivals and events, and still verifies end to end."""
    with base.catalog.write() as session:
        create_project(session, "hidden", "Another investigation")
    again = tmp_path / "again"
    shutil.copytree(tmp_path / "card", again)
    Ingest(base, project="hidden", crew="omar", source="SECRET-SOURCE", actor="omar").run(
        walk([again])
    )
    bag = tmp_path / "bag"
    export(env, "--assets", shot.clips[0], "-o", str(bag))
    verify_copy(bag, tmp_path)
    everything = "".join(p.read_text(errors="replace") for p in bag.rglob("*") if p.is_file())
    for secret in ("hidden", "omar", "SECRET-SOURCE", str(again)):
        assert secret not in everything, secret
    own = lines(bag / "data" / "custody" / f"{shot.clips[0]}.jsonl")
    assert {e["details"].get("project") for e in own} <= {"film", None}
    assert any(e["verb"] == "received" for e in own)


def test_names_with_line_breaks_forge_no_tag_line(
    env: Env, base: Base, shot: Shot, tmp_path: Path
) -> None:
    forged = "Custody-Chain-Head: 1 " + "0" * 64
    with base.catalog.write() as session:
        session.scalar(select(Incident).where(Incident.code == CODE)).title = f"Strike\r\n{forged}"
        session.scalar(select(Project).where(Project.slug == "film")).name = f"Rescue\n{forged}"
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    shutil.copy(tmp_path / "card" / "c.mp4", hostile / "evil\n\u202emp4.exe")
    make_video(tmp_path / "matroska.mkv", seed=9)
    mkv = hashlib.sha256((tmp_path / "matroska.mkv").read_bytes()).hexdigest()
    (tmp_path / "matroska.mkv").rename(hostile / "run.exe")  # a video, whatever its name says
    Ingest(base, project="film", crew="karim", source="card 4", actor="karim").run(walk([hostile]))
    bag = tmp_path / "bag"
    export(env, "--incident", CODE, "--assets", shot.other, "--assets", mkv, "-o", str(bag))
    assert (bag / "data" / "originals" / f"{mkv}.mkv").is_file()  # named by what it is
    info = (bag / "bag-info.txt").read_text(encoding="utf-8").splitlines()
    assert sum(line.startswith("Custody-Chain-Head:") for line in info) == 1
    readme = (bag / "README.txt").read_text(encoding="utf-8")
    assert not any(line.startswith("Custody-Chain-Head") for line in readme.splitlines())
    assert "c.mp4, evil\\n\\u202emp4.exe" in readme  # the name as the custody log shows it
    assert "VERIFIED" in verify_copy(bag, tmp_path)


def test_incident_and_assets_combine_and_the_readme_lists_the_originals(
    env: Env, base: Base, shot: Shot, tmp_path: Path
) -> None:
    bag = tmp_path / "union"
    export(env, "--incident", CODE, "--assets", shot.other[:12], "-o", str(bag), "--actor", "ivan")
    held = sorted(p.name[:64] for p in (bag / "data" / "originals").iterdir())
    assert held == sorted([*shot.clips, shot.other])
    incident = json.loads((bag / "data" / "incidents" / f"{CODE}.json").read_text())
    assert sorted(a["sha256"] for a in incident["assets"]) == sorted(shot.clips)

    readme = (bag / "README.txt").read_text(encoding="utf-8")
    table = readme.split("THE ORIGINALS", 1)[1]
    rows = {line.split()[0]: line.split() for line in table.splitlines() if ".mp4  " in line}
    assert sorted(rows) == ["a.mp4", "b.mp4", "c.mp4"]
    a = rows["a.mp4"]
    assert a[1] == "karim" and "-36.21360," in a and "-71.16250" in a
    assert a[-2:] == ["ingest", shot.clips[0]]
    assert "Filmed by" in table and "Place" in table and "Captured" in table
    assert f"incident {CODE} (Strike on the market) and footage chosen one by one" in readme
    assert "and footage chosen by hash" in bagit.Bag(str(bag)).info["External-Description"]
    assert re.search(r"Made by: ivan, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", readme)
    assert verify_copy(bag, tmp_path).startswith("VERIFIED: ")

    private = tmp_path / "private"
    export(env, "--incident", CODE, "--no-location", "-o", str(private))
    readme = (private / "README.txt").read_text(encoding="utf-8")
    assert "a.mp4" in readme and "karim" in readme
    assert "Place" not in readme.split("THE ORIGINALS", 1)[1].split("WHAT IS INSIDE")[0]
    assert "36.21" not in readme and "71.16" not in readme


# the chain's format is the subject, not the catalog
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_chain_begun_before_events_were_salted_still_verifies_and_the_bag_says_what_it_cannot(
    env: Env, base: Base, shot: Shot, tmp_path: Path
) -> None:
    """A base whose log began in the old format (no salt, each hash over the whole event): its
    events stay as they were, new ones are salted after them, `rushes verify` checks both, and
    a bag verifies but says the links of old events shown without content are taken on trust."""
    with base.catalog.write() as session:
        prev = custody.GENESIS
        for event in session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)):
            event.salt, event.prev_hash = None, prev
            event.hash = prev = custody.event_hash(custody.as_record(event))
        head = custody.lock_head(session)
        head.hash = prev
        last = head.seq
    bag = tmp_path / "bag"
    export(env, "--assets", shot.clips[0], "-o", str(bag))  # its `exported` events: salted
    with base.catalog.read() as session:
        report = custody.verify_chain(session)
        assert report.ok, report.problems
        salted = [e.seq for e in custody.events(session) if e.salt is not None]
    assert salted and min(salted) == last + 1
    chain = lines(bag / "data" / "custody" / "chain.jsonl")
    assert any(set(e) == {"seq", "prev_hash", "hash"} for e in chain)
    output = verify_copy(bag, tmp_path)
    assert output.startswith("VERIFIED: ") and "format used before 2026-12" in output, output
