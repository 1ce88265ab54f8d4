"""Near-duplicate copies say nothing a viewer may not see: cluster labels name no hash, links
through another project's (or another crew's) clip stay unsaid, in the JSON API, the incident
suggestions and `rushes dups --project`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Incident, IncidentAsset, NearDuplicate, Project
from rushes.catalog.queries import relabel_clusters
from rushes.ingest import record_manifest
from tests.conftest import Env
from tests.web.conftest import Client, Footage, Team, user_id

HIDDEN = "0" * 64  # listed in project "other" only: the smallest hash, so the base's label


def link_copies(base: Base, footage: Footage) -> tuple[str, str, str]:
    """rami's clip ~ karim's first clip directly; rami's clip ~ HIDDEN ~ karim's second clip."""
    rami, karim_a, karim_b = footage.others[0], *footage.karim
    with base.catalog.write() as session:
        other = session.scalar(select(Project).where(Project.slug == "other"))
        record_manifest(
            session,
            sha256=HIDDEN,
            size=5,
            project_id=other.id,
            crew="omar",
            source="card",
            raw_path=b"x.mp4",
            mtime_ns=None,
            actor="omar",
        )
        for a, b in ((HIDDEN, rami), (rami, karim_a), (HIDDEN, karim_b)):
            a, b = sorted((a, b))
            session.add(
                NearDuplicate(
                    asset_a=a, asset_b=b, score=0.9, segments={"segments": [], "mirrored": False}
                )
            )
        session.flush()
        relabel_clusters(session, rami)
    return rami, karim_a, karim_b


def test_cluster_labels_and_suggestions_reveal_no_hidden_clip(
    base: Base, team: Team, footage: Footage, login: Callable[..., Client], env: Env
) -> None:
    rami, karim_a, karim_b = link_copies(base, footage)
    every_sha = {*footage.all, footage.foreign, HIDDEN}
    labels: dict[str, dict[str, str | None]] = {}
    for name in ("dina", "karim"):
        answer = login(name).get("/api/p/film/assets")
        assert answer.status_code == 200
        cards = answer.json()["assets"]
        for card in cards:  # no hash but the card's own, anywhere in it
            found = set(re.findall(r"[0-9a-f]{64}", json.dumps(card)))
            assert found <= {card["sha256"]}, (name, found & every_sha)
        labels[name] = {c["sha256"]: c["cluster"] for c in cards}
    # The director sees rami's clip and karim's first one as copies of each other; karim's
    # second is linked to them only through the hidden clip, so it stands alone.
    assert labels["dina"][rami] == labels["dina"][karim_a] is not None
    assert labels["dina"][karim_b] is None
    # Karim sees neither rami's clip nor the hidden one: his clips are copies of nothing.
    assert labels["karim"] == {karim_a: None, karim_b: None}

    with base.catalog.write() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        incident = Incident(
            project_id=film.id,
            code="ALP-2016-0412",
            title="Strike",
            type="airstrike",
            started_at=datetime(2016, 4, 12, 11, 30, tzinfo=UTC),
            created_by_id=user_id(base, "dina"),
        )
        session.add(incident)
        session.flush()
        session.add(
            IncidentAsset(
                incident_id=incident.id,
                asset_sha256=rami,
                relation="strike",
                added_by_id=user_id(base, "dina"),
            )
        )
    page = login("dina").get("/p/film/incidents/ALP-2016-0412").text
    suggested = set(re.findall(r'class="suggestion" data-sha="([0-9a-f]{64})"', page))
    assert suggested == {karim_a}

    shown = env.run("dups", rami, "--project", "film", "--json").stdout
    assert json.loads(shown)["cluster"] == sorted([rami, karim_a])
    assert HIDDEN not in shown and karim_b not in shown
    hidden = env.run("dups", HIDDEN, "--project", "film", check=False)
    assert hidden.returncode == 1 and "no asset" in hidden.stderr
