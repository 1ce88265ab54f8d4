"""The same bytes in two projects: what each project's people see of the other's arrival.

The authorization walk's clip under test (rami's, in "film") arrives a second time in "film",
from rami's card 3, and once in "other", from omar's card 7 with his own crew label, source and
card path. Each cell is a request by one account and what its answer must show and must never
show: the other project's crew, source, card path and notes, and a location for a role that may
not see one. GPS comes from the bytes themselves, so both arrivals carry the same position;
only admins and investigators of a project see it there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rushes.base import Base
from rushes.cards import walk
from rushes.ingest import Ingest
from tests.web.conftest import Client

if TYPE_CHECKING:
    from tests.web.test_authorization import World

FILM_CARD, FILM_SOURCE, FILM_NAME = "RAHED_CARD3", "card 3, Rahed", "market-rami.mp4"
OTHER_CARD, OTHER_SOURCE, OTHER_NAME = "SAIF_SD7", "card 7, Saif", "MVI_0042.MP4"
FILM_NOTE, OTHER_NOTE = "film side: the minaret at 0:03", "other side: check the shopfront"
# Everything of film's arrivals (the fixture's first card is card-film-rami) and of other's.
FILM_MARKS = (r"\brami\b", FILM_SOURCE, FILM_CARD, FILM_NAME, "card-film-rami", FILM_NOTE)
OTHER_MARKS = (r"\bomar\b", OTHER_SOURCE, OTHER_CARD, OTHER_NAME, OTHER_NOTE)
# The clips' GPS position, as written by make_video; never a clock's seconds ("07:37:36.25").
LOCATION = (r"(?<!\d)(?<!\d:)36\.2\d*", r"(?<!\d)(?<!\d:)37\.1\d*")


def arrive(
    base: Base, sha: str, card: Path, name: str, project: str, crew: str, source: str
) -> None:
    """Ingest the original's bytes again, from a card of its own, into `project`."""
    (card / "DCIM").mkdir(parents=True)
    with base.vault.open(sha) as original:
        (card / "DCIM" / name).write_bytes(original.read())
    Ingest(base, project=project, crew=crew, source=source, actor=crew).run(walk([card]))


def share_bytes(base: Base, sha: str, cards: Path) -> None:
    arrive(base, sha, cards / FILM_CARD, FILM_NAME, "film", "rami", FILM_SOURCE)
    arrive(base, sha, cards / OTHER_CARD, OTHER_NAME, "other", "omar", OTHER_SOURCE)


def manifest(sha_key: str) -> Callable[[World], Any]:
    def entries(world: World) -> Any:
        sha = world.ids[sha_key]
        return {"entries": [{"sha256": sha, "size": world.ids["sizes"][sha], "path": "c.mp4"}]}

    return entries


def answered(status: str, in_vault: bool) -> tuple[str, ...]:
    return (f'"status":"{status}"', f'"in_vault":{json.dumps(in_vault)}')


@dataclass
class Cell:
    actor: str
    method: str
    path: str  # formatted with the world's ids
    shows: tuple[str, ...] = ()  # patterns the answer must contain
    hides: tuple[str, ...] = ()  # patterns it must never contain
    status: int = 200
    json: Callable[[World], Any] | None = None


INCIDENT = {
    "title": "Market strike",
    "type": "airstrike",
    "started_at": "2016-04-12T14:30",
    "started_offset": "+03:00",
}
SHA = r"{sha}"
CELLS = [
    # Notes on each side first, so every later answer could leak them.
    Cell(
        "dina",
        "POST",
        "/api/p/film/a/{sha}/notes",
        status=201,
        json=lambda w: {"body": FILM_NOTE, "category": "framing", "start": 3, "rate": "30/1"},
    ),
    Cell(
        "omar",
        "POST",
        "/api/p/other/a/{sha}/notes",
        status=201,
        json=lambda w: {"body": OTHER_NOTE, "category": "framing", "start": 1, "rate": "30/1"},
    ),
    Cell(
        "omar",
        "POST",
        "/api/p/other/a/{sha}/selects",
        status=201,
        json=lambda w: {"start": 0, "end": 15, "rate": "30/1", "rating": 3, "label": "take"},
    ),
    Cell(
        "dina",
        "POST",
        "/api/p/film/incidents/{incident}/footage",
        json=lambda w: {"sha256": w.ids["sha"], "relation": "strike"},
    ),
    Cell("omar", "POST", "/api/p/other/incidents", status=201, json=lambda w: INCIDENT),
    # Film's side: its own arrivals, never other's.
    Cell("ivan", "GET", "/p/film/a/{sha}", ("crew rami", FILM_SOURCE, *LOCATION), OTHER_MARKS),
    Cell("dina", "GET", "/p/film/a/{sha}", ("crew rami", FILM_SOURCE), OTHER_MARKS + LOCATION),
    Cell("rami", "GET", "/p/film/a/{sha}", ("crew rami", FILM_SOURCE), OTHER_MARKS + LOCATION),
    Cell("dina", "GET", "/api/p/film/assets", (SHA, r'"crew":\["rami"\]'), OTHER_MARKS),
    Cell("dina", "GET", "/api/p/film/assets?crew=omar", ('"assets":\\[\\]',), (SHA,)),
    Cell("rami", "GET", "/api/p/film/a/{sha}/notes", (FILM_NOTE,), OTHER_MARKS),
    Cell("rami", "GET", "/api/me/notes", (FILM_NOTE,), OTHER_MARKS),
    Cell("dina", "GET", "/p/film/selects/timeline.otio", ("card-film-rami",), OTHER_MARKS),
    Cell("ivan", "GET", "/p/film/incidents/{incident}", ("{sha:.12}",), OTHER_MARKS),
    Cell("ivan", "GET", "/api/p/film/incidents/{incident}", (SHA,), OTHER_MARKS),
    Cell("ivan", "GET", "/p/film/dashboard", (), OTHER_MARKS),
    # The field kit: rami's own clip is known; a hash alone is new to anyone else.
    Cell(
        "rami", "POST", "/api/p/film/field/manifest", answered("known", True), json=manifest("sha")
    ),
    Cell(
        "karim", "POST", "/api/p/film/field/manifest", answered("new", False), json=manifest("sha")
    ),
    Cell(
        "dina", "POST", "/api/p/film/field/manifest", answered("new", False), json=manifest("sha")
    ),
    Cell("karim", "GET", "/p/film/a/{sha}", status=404),
    Cell("karim", "GET", "/api/p/film/a/{sha}/notes", status=404),
    # Other's side: omar's arrival, never film's.
    Cell("omar", "GET", "/p/other/a/{sha}", ("crew omar", OTHER_SOURCE), FILM_MARKS + LOCATION),
    Cell("omar", "GET", "/api/p/other/assets", (SHA, r'"crew":\["omar"\]'), FILM_MARKS),
    Cell("omar", "GET", "/api/p/other/assets?crew=rami", ('"assets":\\[\\]',), (SHA,)),
    Cell("omar", "GET", "/api/p/other/a/{sha}/notes", (OTHER_NOTE,), FILM_MARKS),
    Cell("omar", "GET", "/api/me/notes", (), FILM_MARKS),
    Cell("omar", "GET", "/p/other/selects/timeline.otio", (OTHER_NAME,), FILM_MARKS),
    Cell("omar", "GET", "/p/other/incidents", (), FILM_MARKS),
    Cell("omar", "GET", "/p/other/dashboard", (), FILM_MARKS),
    Cell("omar", "GET", "/p/other/a/{sha}/media/proxy-360.mp4"),
    Cell("omar", "GET", "/p/other/a/{sha}/original", status=403),
    Cell(
        "omar", "POST", "/api/p/other/field/manifest", answered("known", True), json=manifest("sha")
    ),
    Cell(
        "omar",
        "POST",
        "/api/p/other/field/manifest",
        answered("new", False),
        json=manifest("karim_sha"),
    ),
    Cell("omar", "GET", "/p/other/a/{karim_sha}", status=404),
    Cell("rami", "GET", "/p/other/a/{sha}", status=404),
]


def walk_shared_bytes(world: World, clients: dict[str, Client]) -> list[str]:
    """Every cell in order; what is off, one line each."""
    wrong = []
    for cell in CELLS:
        client = clients[cell.actor]
        path = cell.path.format(**world.ids)
        sent: dict[str, Any] = {"headers": {"Accept": "text/html"}}
        if cell.json is not None:
            sent = {
                "content": json.dumps(cell.json(world)),
                "headers": {"Content-Type": "application/json", "X-CSRF-Token": client.csrf},
            }
        answer = client.request(cell.method, path, **sent)
        said = f"{cell.method} {path} as {cell.actor}"
        if answer.status_code != cell.status:
            wrong.append(f"{said}: {answer.status_code}, expected {cell.status}")
            continue
        text = answer.text
        for pattern in cell.shows:
            if not re.search(pattern.format(**world.ids), text):
                wrong.append(f"{said}: {pattern!r} missing")
        for pattern in cell.hides:
            if found := re.search(pattern.format(**world.ids), text):
                wrong.append(f"{said}: shows {found.group(0)!r}")
    return wrong
