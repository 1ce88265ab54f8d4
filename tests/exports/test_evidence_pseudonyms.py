"""An evidence bag with crew pseudonymised: no crew name anywhere in it, the same pseudonym for a
person throughout the bag and another in the next bag, the bag still verifies offline (links
checked, pseudonymised events counted), and only the base maps a pseudonym back."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import AuditEvent
from rushes.ingest import Ingest
from tests.clips import make_video
from tests.conftest import Env

CREW = {"rahed": "RAHED_0412.MP4", "samer": "C0002.MP4"}  # a name the crew gave their file


def _bag(env: Env, shas: list[str], target: Path) -> dict[str, str]:
    """Make a pseudonymised bag of `shas`; each crew member's pseudonym in it."""
    args = [arg for sha in shas for arg in ("--assets", sha)]
    env.run("export", "evidence", "-p", "film", *args, "-o", str(target), "--pseudonymise-crew")
    shown = {}
    for sha in shas:
        record = json.loads((target / "data" / "assets" / f"{sha}.json").read_text())
        (arrival,) = record["arrivals"]
        assert arrival["crew"] == arrival["actor"] and arrival["crew"].startswith("crew-")
        shown[sha] = arrival["crew"]
    return shown


def test_a_bag_names_no_crew_member_yet_verifies_and_the_base_can_say_who(
    env: Env, base: Base, tmp_path: Path
) -> None:
    shas = []
    for n, (crew, name) in enumerate(CREW.items()):
        card = tmp_path / f"card-{crew}"  # a path that names them: replaced too
        card.mkdir()
        make_video(card / name, seconds=1, seed=n)
        shas.append(hashlib.sha256((card / name).read_bytes()).hexdigest())
        Ingest(base, project="film", crew=crew, source="card 1", actor=crew).run(walk([card]))

    first = tmp_path / "bag-1"
    shown = _bag(env, shas, first)
    assert len(set(shown.values())) == 2
    for path in first.rglob("*"):
        if path.is_file() and "originals" not in path.parts:
            data = path.read_bytes().lower()
            assert b"rahed" not in data and b"samer" not in data, path
    readme = (first / "README.txt").read_text()
    assert all(p in readme for p in shown.values()) and "pseudonyms such as" in readme
    chain = [
        json.loads(line) for line in (first / "data/custody/chain.jsonl").read_text().splitlines()
    ]
    hidden = [e for e in chain if "pseudonymised" in e]
    assert hidden and {e["pseudonymised"]["actor"] for e in hidden} == set(shown.values())

    verified = subprocess.run(
        [sys.executable, str(first / "verify_bag.py"), str(first)], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "VERIFIED" in verified.stdout
    assert f"{len(hidden)} event(s) show crew pseudonyms instead of names" in verified.stdout
    # What a pseudonymised event says is still held to the chain: edited in one place, caught.
    edited = first / "data/custody" / f"{shas[0]}.jsonl"
    lines = edited.read_text().splitlines()
    event = json.loads(lines[0])
    event["pseudonymised"]["at"] = "2001-01-01T00:00:00+00:00"
    edited.write_text("\n".join([json.dumps(event), *lines[1:]]) + "\n")
    broken = subprocess.run(
        [sys.executable, str(first / "verify_bag.py"), str(first)], capture_output=True, text=True
    )
    assert broken.returncode == 1 and "differs from event" in broken.stdout

    export_id = next(
        line.split()[-1]
        for line in (first / "bag-info.txt").read_text().splitlines()
        if line.startswith("Crew-Names:")
    )
    for sha, crew in zip(shas, CREW, strict=True):
        assert env.run("export", "who", "-p", "film", export_id, shown[sha]).stdout.strip() == crew
    unknown = env.run("export", "who", "-p", "film", export_id, "crew-00000000", check=False)
    assert unknown.returncode == 1 and "is no crew member" in unknown.stderr
    made_up = env.run("export", "who", "-p", "film", "0123456789abcdef", "crew-1", check=False)
    assert made_up.returncode == 1 and "no share folder or evidence bag" in made_up.stderr
    with base.catalog.read() as session:
        asked = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "pseudonym-revealed")
        ).all()
    assert len(asked) == 4 and sum(a.details["found"] for a in asked) == 2  # each asking kept

    again = _bag(env, shas, tmp_path / "bag-2")  # another bag: other pseudonyms
    assert not set(again.values()) & set(shown.values())
