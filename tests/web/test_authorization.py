"""Every route, for every role and for an outsider, with the exact status code expected.

The walk fails when the app has a route this table does not list, so a new route cannot ship
without its row. Columns: anonymous, ada (admin, also site admin), dina (director), ivan
(investigator), karim (crew; the clip under test is rami's, which he may not see, but he is
on the assignment), rami (crew: the clip under test is his, the assignment not), omar (a
director of another project only, where the clip under test's bytes arrived too: see
tests/web/shared_bytes.py, whose cells run on the same world before the walk).
"""

from __future__ import annotations

import itertools
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.base import Base
from rushes.catalog.models import (
    Asset,
    Assignment,
    AssignmentUser,
    Incident,
    IncidentAsset,
    Note,
    Project,
    Redaction,
    Select,
    User,
)
from rushes.exports import bag_jobs, jobs, preview, share_jobs
from rushes.ingest import record_manifest
from rushes.review import accounts
from rushes.review.access import Role
from rushes.web.app import create_app
from tests.web.conftest import PASSWORD, Client, Footage, Team
from tests.web.shared_bytes import share_bytes, walk_shared_bytes

ACTORS = ("anonymous", "ada", "dina", "ivan", "karim", "rami", "omar")
IN_FIELD = "f" * 64  # listed by rami's field kit, bytes not here yet


def row(*codes: int) -> dict[str, int]:
    assert len(codes) == len(ACTORS)
    return dict(zip(ACTORS, codes, strict=True))


PAGE = row(303, 200, 200, 200, 200, 200, 200)  # any signed-in user
PROJECT_PAGE = row(303, 200, 200, 200, 200, 200, 404)
PROJECT_API = row(401, 200, 200, 200, 200, 200, 404)
REVIEWER_PAGE = row(303, 200, 200, 200, 404, 200, 404)  # rami's clip: karim may not see it
REVIEWER_API = row(401, 200, 200, 200, 404, 200, 404)
REVIEWER_POST = row(303, 303, 303, 303, 404, 303, 404)
EDITOR_POST = row(303, 303, 303, 403, 403, 403, 404)  # assignments, selects: admin and director
RECORDER_POST = row(303, 303, 303, 303, 403, 403, 404)  # incidents: admin, director, investigator
RECORDER_API = row(401, 200, 200, 200, 403, 403, 404)
REGISTER_PAGE = row(303, 200, 200, 200, 403, 403, 404)  # incidents, dashboard: not crew
REGISTER_API = row(401, 200, 200, 200, 403, 403, 404)
SITE_ADMIN_PAGE = row(303, 200, 403, 403, 403, 403, 403)
INCIDENT = {
    "title": "Barrel bomb on the market",
    "type": "barrel-bomb",
    "started_at": "2016-04-12T14:30",
    "started_offset": "+03:00",
    "place": "Aleppo",
    "rescued": "12",
}
SITE_ADMIN_POST = row(303, 303, 403, 403, 403, 403, 403)


@dataclass
class Case:
    method: str
    route: str  # as the app declares it
    expect: dict[str, int]
    path: str = ""  # the concrete path; the route when empty
    data: Callable[[World], dict[str, Any]] | dict[str, Any] | None = None
    json: Callable[[World], Any] | None = None
    fresh: Callable[[World, str], dict[str, Any]] | None = None  # new target per actor


@dataclass
class World:
    base: Base
    footage: Footage
    ids: dict[str, Any] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=itertools.count)


def add_select(session: Session, sha: str, author: int, position: int) -> int:
    film = session.scalar(select(Project).where(Project.slug == "film"))
    made = Select(
        project_id=film.id,
        asset_sha256=sha,
        start=0,
        end=30,
        rate="30/1",
        position=position,
        created_by_id=author,
    )
    session.add(made)
    session.flush()
    return made.id


def fresh_select(world: World, _actor: str) -> dict[str, Any]:
    with world.base.catalog.write() as session:
        position = 100 + next(world.counter)
        return {"select_id": add_select(session, world.ids["sha"], world.ids["dina"], position)}


def fresh_redaction(world: World, _actor: str) -> dict[str, Any]:
    with world.base.catalog.write() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        row = Redaction(
            project_id=film.id,
            asset_sha256=world.ids["sha"],
            kind="mute",
            data={"start": 1.0, "end": 2.0},
            label="",
            created_by_id=world.ids["dina"],
        )
        session.add(row)
        session.flush()
        return {"redaction_id": row.id}


def fresh_member(world: World, _actor: str) -> dict[str, Any]:
    name = f"temp{next(world.counter)}"
    with world.base.catalog.write() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        user = accounts.create_user(session, name, PASSWORD)
        accounts.add_member(session, film, user, Role.CREW)
    return {"username": name}


def fresh_token(world: World, _actor: str) -> dict[str, Any]:
    with world.base.catalog.write() as session:
        dina = session.get(User, world.ids["dina"])
        film = session.scalar(select(Project).where(Project.slug == "film"))
        accounts.create_api_token(session, dina, film)
        return {
            "token_id": session.scalar(
                select(accounts.ApiToken.id).order_by(accounts.ApiToken.id.desc())
            )
        }


def fresh_incident(world: World, _actor: str) -> dict[str, Any]:
    """An incident of its own for each actor to delete."""
    code = f"DEL-{next(world.counter)}"
    with world.base.catalog.write() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        session.add(
            Incident(
                project_id=film.id,
                code=code,
                title="Typed twice",
                type="airstrike",
                started_at=datetime(2016, 4, 12, 11, 30, tzinfo=UTC),
                created_by_id=world.ids["dina"],
            )
        )
    return {"doomed": code}


def fresh_link(world: World, _actor: str) -> dict[str, Any]:
    """Rami's clip linked to the incident again, so each actor has a link to remove."""
    with world.base.catalog.write() as session:
        key = (world.ids["incident_id"], world.ids["sha"])
        if session.get(IncidentAsset, key) is None:
            session.add(
                IncidentAsset(
                    incident_id=key[0],
                    asset_sha256=key[1],
                    relation="rescue",
                    added_by_id=world.ids["dina"],
                )
            )
    return {}


def finished_bag(world: World, _actor: str) -> dict[str, Any]:
    """A finished bag job of the incident on disk, as rushes.exports.bag_jobs leaves one."""
    job = f"{next(world.counter):016x}"
    folder = bag_jobs.jobs_dir(world.base.settings) / job
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "bag.zip", "w"):
        pass
    status = {"id": job, "project": "film", "incident": world.ids["incident"], "actor": "ivan"}
    status |= {"state": "done", "done": 1, "total": 1, "error": None, "file": "bag.zip"}
    status |= {"originals": [], "tag_manifest_sha256": "0" * 64, "started_at": "", "bag": "bag"}
    bag_jobs.write_status(folder, status)
    return {"job": job}


def clip_job(world: World, kind: str, **fields: Any) -> dict[str, Any]:
    """A job of rami's clip on disk, as rushes.exports.share_jobs leaves one."""
    job = f"{next(world.counter):016x}"
    folder = share_jobs.group(world.base.settings, kind, world.ids["sha"]) / job
    folder.mkdir(parents=True)
    status = {"id": job, "kind": kind, "project": "film", "asset": world.ids["sha"]}
    status |= {"actor": "dina", "done": 0, "total": 0, "error": None, "finished_at": None}
    jobs.write_status(folder, {**status, "started_at": jobs.now(), **fields})
    return {"job": job}


def rendering_preview(world: World, _actor: str) -> dict[str, Any]:
    """A preview of the clip as it is being rendered: asking again starts no process."""
    with world.base.catalog.read() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        key = preview.key(session, film.id, world.ids["sha"])
    return clip_job(world, "preview", state="rendering", key=key)


def finished_preview(world: World, _actor: str) -> dict[str, Any]:
    return clip_job(world, "preview", state="done", key="0" * 64, file="preview-0.mp4")


def finished_share(world: World, _actor: str) -> dict[str, Any]:
    made = clip_job(world, "share", state="done", file="film-share.zip", to="press", why="x")
    folder = share_jobs.group(world.base.settings, "share", world.ids["sha"]) / made["job"]
    with zipfile.ZipFile(folder / "film-share.zip", "w"):
        pass
    return made


def selects_order(world: World) -> Any:
    with world.base.catalog.read() as session:
        film = session.scalar(select(Project.id).where(Project.slug == "film"))
        ids = session.scalars(
            select(Select.id).where(Select.project_id == film).order_by(Select.position)
        ).all()
    return {"ids": list(reversed(ids))}


def unique_slug(world: World) -> dict[str, Any]:
    return {"slug": f"proj{next(world.counter)}"}


def unique_user(world: World) -> dict[str, Any]:
    return {"username": f"new{next(world.counter)}", "password": PASSWORD}


SHA = "{sha}"
CASES = [
    # Accounts and the base.
    Case("GET", "/", PAGE),
    Case("GET", "/login", row(200, 303, 303, 303, 303, 303, 303)),
    Case(
        "POST", "/login", row(401, 401, 401, 401, 401, 401, 401), data={"password": "wrong-wrong"}
    ),
    Case("POST", "/logout", row(303, 303, 303, 303, 303, 303, 303)),
    Case("GET", "/setup", row(410, 410, 410, 410, 410, 410, 410), path="/setup?token=nope"),
    Case(
        "POST",
        "/setup",
        row(410, 410, 410, 410, 410, 410, 410),
        data={"token": "nope", "username": "x", "password": PASSWORD},
    ),
    Case("GET", "/settings", PAGE),
    Case("POST", "/settings", PAGE, data={"blur_thumbnails": "1"}),
    Case(
        "POST",
        "/settings/password",
        row(303, 400, 400, 400, 400, 400, 400),
        data={"current": "not-the-password", "password": "whatever-long"},
    ),
    Case("POST", "/settings/tokens", PROJECT_PAGE, data={"project": "film"}),
    Case(
        "POST",
        "/settings/tokens/{token_id}/revoke",
        row(303, 404, 303, 404, 404, 404, 404),
        fresh=fresh_token,
    ),
    Case("GET", "/healthz", row(200, 200, 200, 200, 200, 200, 200)),
    Case("GET", "/favicon.ico", row(200, 200, 200, 200, 200, 200, 200)),
    Case("GET", "/api/status", row(401, 200, 403, 403, 403, 403, 403)),
    Case("GET", "/status", SITE_ADMIN_PAGE),
    Case("GET", "/admin", SITE_ADMIN_PAGE),
    Case("POST", "/admin/users", SITE_ADMIN_POST, data=unique_user),
    Case("POST", "/admin/projects", SITE_ADMIN_POST, data=unique_slug),
    Case(
        "GET", "/p/{slug}/members", row(303, 200, 403, 403, 403, 403, 404), path="/p/film/members"
    ),
    Case(
        "POST",
        "/p/{slug}/members",
        row(303, 303, 403, 403, 403, 403, 404),
        path="/p/film/members",
        data={"username": "karim", "role": "crew"},
    ),
    Case(
        "POST",
        "/p/{slug}/time-zone",
        row(303, 303, 403, 403, 403, 403, 404),
        path="/p/film/time-zone",
        data={"time_zone": "Asia/Damascus"},
    ),
    Case(
        "POST",
        "/p/{slug}/members/{username}/remove",
        row(303, 303, 403, 403, 403, 403, 404),
        path="/p/film/members/{username}/remove",
        fresh=fresh_member,
    ),
    # The rushes browser and the player.
    Case("GET", "/p/{slug}/", PROJECT_PAGE, path="/p/film/"),
    Case("GET", "/api/p/{slug}/assets", PROJECT_API, path="/api/p/film/assets"),
    Case("GET", "/p/{slug}/a/{sha256}", REVIEWER_PAGE, path="/p/film/a/{sha}"),
    Case(
        "GET",
        "/p/{slug}/a/{sha256}/media/{name}",
        REVIEWER_API | {"anonymous": 303},
        path="/p/film/a/{sha}/media/proxy-360.mp4",
    ),
    Case(
        "HEAD",
        "/p/{slug}/a/{sha256}/media/{name}",
        REVIEWER_API | {"anonymous": 303},
        path="/p/film/a/{sha}/media/proxy-360.mp4",
    ),
    Case(
        "GET",
        "/p/{slug}/a/{sha256}/original",
        row(303, 200, 403, 200, 404, 403, 404),
        path="/p/film/a/{sha}/original",
    ),
    Case(
        "POST",
        "/p/{slug}/a/{sha256}/graphic",
        row(303, 303, 303, 303, 404, 403, 404),
        path="/p/film/a/{sha}/graphic",
        data={"graphic": "1"},
    ),
    Case(
        "POST",
        "/p/{slug}/a/{sha256}/notes",
        REVIEWER_POST,
        path="/p/film/a/{sha}/notes",
        data={"body": "closer", "category": "framing", "start": "3", "rate": "30/1"},
    ),
    Case(
        "POST",
        "/p/{slug}/notes/{note_id}/replies",
        REVIEWER_POST,
        path="/p/film/notes/{note}/replies",
        data={"body": "ok"},
    ),
    Case(
        "POST", "/p/{slug}/notes/{note_id}/resolve", REVIEWER_POST, "/p/film/notes/{note}/resolve"
    ),
    Case("POST", "/p/{slug}/notes/{note_id}/reopen", REVIEWER_POST, "/p/film/notes/{note}/reopen"),
    Case("GET", "/api/p/{slug}/a/{sha256}/notes", REVIEWER_API, path="/api/p/film/a/{sha}/notes"),
    # Redactions: seen by all who see the clip, drawn and removed by admins and directors.
    Case(
        "GET",
        "/api/p/{slug}/a/{sha256}/redactions",
        REVIEWER_API,
        path="/api/p/film/a/{sha}/redactions",
    ),
    Case(
        "POST",
        "/api/p/{slug}/a/{sha256}/redactions",
        row(401, 201, 201, 403, 404, 403, 404),
        path="/api/p/film/a/{sha}/redactions",
        json=lambda w: {"kind": "mute", "start": 1, "end": 2, "label": "a name"},
    ),
    Case(
        "DELETE",
        "/api/p/{slug}/a/{sha256}/redactions/{redaction_id}",
        row(401, 204, 204, 403, 404, 403, 404),
        path="/api/p/film/a/{sha}/redactions/{redaction_id}",
        fresh=fresh_redaction,
    ),
    # Share previews and copies: admins and directors, who draw the redactions.
    Case(
        "POST",
        "/p/{slug}/a/{sha256}/previews",
        row(303, 303, 303, 403, 404, 403, 404),
        path="/p/film/a/{sha}/previews",
        fresh=rendering_preview,
    ),
    Case(
        "GET",
        "/api/p/{slug}/a/{sha256}/previews/{job}",
        row(401, 200, 200, 403, 404, 403, 404),
        path="/api/p/film/a/{sha}/previews/{job}",
        fresh=finished_preview,
    ),
    Case(
        "POST",
        "/p/{slug}/a/{sha256}/shares",
        row(303, 400, 400, 403, 404, 403, 404),  # to whom and why left out: refused, unmade
        path="/p/film/a/{sha}/shares",
        data={"to": "press"},
    ),
    Case(
        "GET",
        "/api/p/{slug}/a/{sha256}/shares/{job}",
        row(401, 200, 200, 403, 404, 403, 404),
        path="/api/p/film/a/{sha}/shares/{job}",
        fresh=finished_share,
    ),
    Case(
        "GET",
        "/p/{slug}/a/{sha256}/shares/{job}/download",
        row(303, 200, 200, 403, 404, 403, 404),
        path="/p/film/a/{sha}/shares/{job}/download",
        fresh=finished_share,
    ),
    Case(
        "POST",
        "/api/p/{slug}/a/{sha256}/notes",
        row(401, 201, 201, 201, 404, 201, 404),
        path="/api/p/film/a/{sha}/notes",
        json=lambda w: {"body": "tighter", "category": "framing", "start": 1, "rate": "30/1"},
    ),
    # Assignments.
    Case("GET", "/p/{slug}/assignments", PROJECT_PAGE, path="/p/film/assignments"),
    Case(
        "POST",
        "/p/{slug}/assignments",
        EDITOR_POST,
        path="/p/film/assignments",
        data={"title": "Follow Khaled", "assignees": "karim"},
    ),
    Case(
        "GET",
        "/p/{slug}/assignments/{assignment_id}",
        PROJECT_PAGE | {"rami": 404},  # crew see only the assignments they are on
        path="/p/film/assignments/{assignment}",
    ),
    Case(
        "POST",
        "/p/{slug}/assignments/{assignment_id}",
        EDITOR_POST,
        path="/p/film/assignments/{assignment}",
        data={"title": "Follow Khaled home", "assignees": "karim", "status": "open"},
    ),
    Case(
        "POST",
        "/p/{slug}/assignments/{assignment_id}/status",
        row(303, 303, 303, 403, 303, 404, 404),
        path="/p/film/assignments/{assignment}/status",
        data={"status": "in-progress"},
    ),
    Case(
        "POST",
        "/p/{slug}/assignments/{assignment_id}/assets",
        EDITOR_POST,
        path="/p/film/assignments/{assignment}/assets",
        data=lambda w: {"sha256": w.footage.karim[0]},
    ),
    Case(
        "POST",
        "/p/{slug}/assignments/{assignment_id}/assets/{sha256}/remove",
        EDITOR_POST,
        path="/p/film/assignments/{assignment}/assets/{karim_sha}/remove",
    ),
    # Selects.
    Case(
        "POST",
        "/p/{slug}/a/{sha256}/selects",
        EDITOR_POST,
        path="/p/film/a/{sha}/selects",
        data={"start": "0", "end": "15", "rate": "30/1", "rating": "4", "label": "take 1"},
    ),
    Case(
        "POST",
        "/api/p/{slug}/a/{sha256}/selects",
        row(401, 201, 201, 403, 403, 403, 404),
        path="/api/p/film/a/{sha}/selects",
        json=lambda w: {"start": 0, "end": 15, "rate": "30/1", "rating": 3, "label": "take 2"},
    ),
    Case("GET", "/p/{slug}/selects", PROJECT_PAGE, path="/p/film/selects"),
    Case("GET", "/api/p/{slug}/selects", PROJECT_API, path="/api/p/film/selects"),
    Case(
        "POST",
        "/api/p/{slug}/selects/order",
        row(401, 200, 200, 403, 403, 403, 404),
        path="/api/p/film/selects/order",
        json=selects_order,
    ),
    Case(
        "POST",
        "/p/{slug}/selects/{select_id}/move",
        EDITOR_POST,
        path="/p/film/selects/{select}/move",
        data={"to": "1"},
    ),
    Case(
        "POST",
        "/p/{slug}/selects/{select_id}",
        EDITOR_POST,
        path="/p/film/selects/{select}",
        data={"start": "0", "end": "20", "rating": "5", "label": "best"},
    ),
    Case(
        "POST",
        "/p/{slug}/selects/{select_id}/delete",
        EDITOR_POST,
        path="/p/film/selects/{select_id}/delete",
        fresh=fresh_select,
    ),
    # Crew's page and the field kit's API.
    Case("GET", "/me", PAGE),
    Case("GET", "/inbox", PAGE),
    Case("POST", "/inbox/read", row(*[303] * len(ACTORS)), data={"key": "note:1"}),
    Case("POST", "/inbox/read-all", row(*[303] * len(ACTORS))),
    Case("GET", "/api/me/notes", row(401, 200, 200, 200, 200, 200, 200)),
    Case(
        "POST",
        "/api/p/{slug}/field/manifest",
        PROJECT_API,
        path="/api/p/film/field/manifest",
        json=lambda w: {"entries": [{"sha256": "e" * 64, "size": 5, "path": "x.mp4"}]},
    ),
    Case("GET", "/api/p/{slug}/field/wanted", PROJECT_API, path="/api/p/film/field/wanted"),
    Case(
        "POST",
        "/p/{slug}/a/{sha256}/send-original",
        row(303, 303, 303, 303, 403, 403, 404),
        path=f"/p/film/a/{IN_FIELD}/send-original",
    ),
    # The incident register.
    Case("GET", "/p/{slug}/incidents", REGISTER_PAGE, path="/p/film/incidents"),
    Case("GET", "/p/{slug}/search", PROJECT_PAGE, path="/p/film/search?q=rubble"),
    Case("GET", "/p/{slug}/find", PROJECT_PAGE, path="/p/film/find"),
    # Any member may search by a picture; a form without one is a 400.
    Case("POST", "/p/{slug}/find", row(303, 400, 400, 400, 400, 400, 404), path="/p/film/find"),
    Case(
        "POST",
        "/api/p/{slug}/find",
        row(401, 400, 400, 400, 400, 400, 404),
        path="/api/p/film/find",
    ),
    Case("POST", "/p/{slug}/incidents", RECORDER_POST, path="/p/film/incidents", data=INCIDENT),
    Case("GET", "/p/{slug}/incidents.csv", REGISTER_PAGE, path="/p/film/incidents.csv"),
    Case("GET", "/p/{slug}/incidents.geojson", REGISTER_PAGE, path="/p/film/incidents.geojson"),
    Case("GET", "/p/{slug}/incidents.json", REGISTER_PAGE, path="/p/film/incidents.json"),
    Case("GET", "/p/{slug}/incidents/{code}", REGISTER_PAGE, path="/p/film/incidents/{incident}"),
    Case(
        "POST",
        "/p/{slug}/incidents/{code}",
        RECORDER_POST,
        path="/p/film/incidents/{incident}",
        data=INCIDENT,
    ),
    Case(
        "POST",
        "/p/{slug}/incidents/{code}/delete",
        row(303, 303, 403, 403, 403, 403, 404),  # project admins only
        path="/p/film/incidents/{doomed}/delete",
        data={"reason": "typed twice"},
        fresh=fresh_incident,
    ),
    Case(
        "POST",
        "/p/{slug}/incidents/{code}/footage",
        RECORDER_POST,
        path="/p/film/incidents/{incident}/footage",
        data=lambda w: {"sha256": w.ids["sha"], "relation": "rescue"},
    ),
    Case(
        "POST",
        "/p/{slug}/incidents/{code}/footage/{sha256}/delete",
        RECORDER_POST,
        path="/p/film/incidents/{incident}/footage/{sha}/delete",
        fresh=fresh_link,
    ),
    Case(
        "POST",
        "/p/{slug}/incidents/{code}/bag",
        row(303, 303, 403, 303, 403, 403, 404),  # roles that may take originals
        path="/p/film/incidents/{incident}/bag",
        fresh=fresh_link,
    ),
    Case(  # a folder vault cannot hold (nor delete): 400 to the roles that may ask
        "POST",
        "/p/{slug}/incidents/{code}/hold",
        row(303, 400, 403, 400, 403, 403, 404),  # roles that may take originals
        path="/p/film/incidents/{incident}/hold",
    ),
    Case(
        "POST",
        "/p/{slug}/incidents/{code}/hold/release",
        row(303, 400, 403, 403, 403, 403, 404),  # project admins only
        path="/p/film/incidents/{incident}/hold/release",
    ),
    Case(
        "GET",
        "/api/p/{slug}/bags/{job}",
        row(401, 200, 403, 200, 403, 403, 404),
        path="/api/p/film/bags/{job}",
        fresh=finished_bag,
    ),
    Case(
        "GET",
        "/p/{slug}/bags/{job}/download",
        row(303, 200, 403, 200, 403, 403, 404),
        path="/p/film/bags/{job}/download",
        fresh=finished_bag,
    ),
    Case(
        "POST",
        "/p/{slug}/incidents/{code}/related",
        RECORDER_POST,
        path="/p/film/incidents/{incident}/related",
        data=lambda w: {"other": w.ids["second"]},
    ),
    Case(
        "POST",
        "/p/{slug}/incidents/{code}/related/{other}/delete",
        RECORDER_POST,
        path="/p/film/incidents/{incident}/related/{second}/delete",
    ),
    Case(
        "POST",
        "/p/{slug}/incidents/{code}/suggestions/{sha256}",
        RECORDER_POST,
        path="/p/film/incidents/{incident}/suggestions/{sha}",
        data={"decision": "accept", "relation": "aftermath"},
    ),
    Case(
        "POST",
        "/p/{slug}/incident-types",
        row(303, 303, 403, 403, 403, 403, 404),
        path="/p/film/incident-types",
        data=lambda w: {"name": f"type{next(w.counter)}", "label": "A type"},
    ),
    Case(
        "POST",
        "/p/{slug}/incident-types/{name}/retire",
        row(303, 303, 403, 403, 403, 403, 404),
        path="/p/film/incident-types/fire/retire",
    ),
    Case("GET", "/api/p/{slug}/incidents", REGISTER_API, path="/api/p/film/incidents"),
    Case("GET", "/api/p/{slug}/search", PROJECT_API, path="/api/p/film/search?q=rubble"),
    Case(
        "POST",
        "/api/p/{slug}/incidents",
        RECORDER_API | {"ada": 201, "dina": 201, "ivan": 201},
        path="/api/p/film/incidents",
        json=lambda w: {k: v for k, v in INCIDENT.items() if v},
    ),
    Case(
        "GET",
        "/api/p/{slug}/incidents/{code}",
        REGISTER_API,
        path="/api/p/film/incidents/{incident}",
    ),
    Case(
        "PATCH",
        "/api/p/{slug}/incidents/{code}",
        RECORDER_API,
        path="/api/p/film/incidents/{incident}",
        json=lambda w: {"title": "Barrel bomb, second strike"},
    ),
    Case(
        "DELETE",
        "/api/p/{slug}/incidents/{code}",
        row(401, 200, 403, 403, 403, 403, 404),
        path="/api/p/film/incidents/{doomed}",
        json=lambda w: {"reason": "typed twice"},
        fresh=fresh_incident,
    ),
    Case(
        "POST",
        "/api/p/{slug}/incidents/{code}/footage",
        RECORDER_API,
        path="/api/p/film/incidents/{incident}/footage",
        json=lambda w: {"sha256": w.ids["sha"], "relation": "strike"},
    ),
    Case(
        "DELETE",
        "/api/p/{slug}/incidents/{code}/footage/{sha256}",
        RECORDER_API,
        path="/api/p/film/incidents/{incident}/footage/{sha}",
        fresh=fresh_link,
    ),
    Case(
        "POST",
        "/api/p/{slug}/incidents/{code}/related",
        RECORDER_API,
        path="/api/p/film/incidents/{incident}/related",
        json=lambda w: {"code": w.ids["second"]},
    ),
    Case(
        "DELETE",
        "/api/p/{slug}/incidents/{code}/related/{other}",
        RECORDER_API,
        path="/api/p/film/incidents/{incident}/related/{second}",
    ),
    Case(
        "POST",
        "/api/p/{slug}/incidents/{code}/suggestions/{sha256}",
        RECORDER_API,
        path="/api/p/film/incidents/{incident}/suggestions/{sha}",
        json=lambda w: {"accept": True, "relation": "aftermath"},
    ),
    Case(
        "GET",
        "/p/{slug}/selects/timeline.{fmt}",
        row(303, 200, 200, 200, 403, 403, 404),
        path="/p/film/selects/timeline.otio",
    ),
    Case(
        "GET",
        "/p/{slug}/selects/timeline",
        row(303, 200, 200, 200, 403, 403, 404),
        path="/p/film/selects/timeline?format=edl&rate=25",
    ),
    Case("GET", "/p/{slug}/dashboard", REGISTER_PAGE, path="/p/film/dashboard"),
    Case("GET", "/api/p/{slug}/dashboard", REGISTER_API, path="/api/p/film/dashboard"),
    # Another project's ids are as missing as missing ones, whoever asks.
    Case("GET", "", row(303, 404, 404, 404, 404, 404, 404), path="/p/film/a/{foreign}"),
    Case("GET", "", row(303, 404, 404, 404, 404, 404, 404), path="/p/other/a/{karim_sha}"),
    # The clip under test's bytes arrived in "other" too: omar sees his arrival of them.
    Case("GET", "", row(303, 404, 404, 404, 404, 404, 200), path="/p/other/a/{sha}"),
    Case("GET", "", row(401, 404, 404, 404, 404, 404, 404), path="/api/p/film/a/{foreign}/notes"),
    Case("GET", "", row(303, 404, 404, 404, 404, 404, 404), path="/p/film/a/{foreign}/original"),
    Case("GET", "", row(303, 404, 404, 404, 404, 404, 200), path="/p/other/"),
]


def declared_routes(base: Base) -> set[tuple[str, str]]:
    schema = create_app(base).openapi()["paths"]
    return {(method.upper(), route) for route, ops in schema.items() for method in ops}


def test_every_route_has_a_row(base: Base) -> None:
    listed = {(case.method, case.route) for case in CASES if case.route}
    assert declared_routes(base) - listed == set(), "routes with no authorization row"
    assert listed - declared_routes(base) == set(), "rows for routes that no longer exist"


def setup_world(base: Base, footage: Footage, cards: Path) -> World:
    """Rami (crew) owns the clip under test, whose bytes also arrived in project "other"."""
    world = World(base, footage)
    with base.catalog.write() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        accounts.add_member(
            session, film, accounts.create_user(session, "rami", PASSWORD), Role.CREW
        )
    share_bytes(base, footage.others[0], cards)
    with base.catalog.write() as session:
        users = {u.username: u.id for u in session.scalars(select(User))}
        film = session.scalar(select(Project).where(Project.slug == "film"))
        world.ids.update(users)
        note = Note(
            project_id=film.id,
            asset_sha256=footage.others[0],
            author_id=users["dina"],
            body="get closer",
            category="framing",
            start=3,
            rate="30/1",
        )
        assignment = Assignment(
            project_id=film.id, title="Night shift", created_by_id=users["dina"]
        )
        session.add_all([note, assignment])
        session.flush()
        session.add(AssignmentUser(assignment_id=assignment.id, user_id=users["karim"]))
        chosen = add_select(session, footage.others[0], users["dina"], 1)
        incidents = [
            Incident(
                project_id=film.id,
                code=code,
                title="Strike",
                type="airstrike",
                started_at=datetime(2016, 4, 12, 11, 30, tzinfo=UTC),
                created_by_id=users["dina"],
            )
            for code in ("ALP-2016-0412", "ALP-2016-0413")
        ]
        session.add_all(incidents)
        record_manifest(
            session,
            sha256=IN_FIELD,
            size=10,
            project_id=film.id,
            crew="rami",
            source="card",
            raw_path=b"far.mp4",
            mtime_ns=None,
            actor="rami",
        )
        session.flush()
        world.ids.update(
            note=note.id,
            assignment=assignment.id,
            select=chosen,
            incident="ALP-2016-0412",
            incident_id=incidents[0].id,
            second="ALP-2016-0413",
            sha=footage.others[0],
            karim_sha=footage.karim[0],
            foreign=footage.foreign,
            sizes={sha: size for sha, size in session.execute(select(Asset.sha256, Asset.size))},
        )
    return world


@pytest.mark.slow
def test_each_role_gets_exactly_its_status_on_every_route(
    base: Base, team: Team, footage: Footage, login: Callable[..., Client], tmp_path: Path
) -> None:
    world = setup_world(base, footage, tmp_path / "shared")
    clients = {actor: login(None if actor == "anonymous" else actor) for actor in ACTORS}
    wrong = walk_shared_bytes(world, clients)  # first: the status walk changes the world
    for case, actor in itertools.product(CASES, ACTORS):
        client = clients[actor]
        if case.route == "/logout":  # signing out must not end the session the walk uses
            client = login(None if actor == "anonymous" else actor)
        values = {**world.ids, **(case.fresh(world, actor) if case.fresh else {})}
        path = (case.path or case.route).format(**values)
        data = case.data(world) if callable(case.data) else dict(case.data or {})
        if case.route == "/login":
            data["username"] = actor if actor != "anonymous" else "nobody"
        kwargs: dict[str, Any] = {"headers": {"Accept": "text/html"}}
        if case.method != "GET":
            if case.json is not None:
                kwargs["content"] = json.dumps(case.json(world))
                kwargs["headers"] = {
                    "Content-Type": "application/json",
                    "X-CSRF-Token": client.csrf,
                }
            else:
                kwargs["data"] = {**data, "csrf": client.csrf}
        answer = client.request(case.method, path, **kwargs)
        if answer.status_code != case.expect[actor]:
            wrong.append(
                f"{case.method} {path} as {actor}: {answer.status_code}, "
                f"expected {case.expect[actor]} ({answer.text[:120]!r})"
            )
    assert not wrong, "\n".join(wrong)
