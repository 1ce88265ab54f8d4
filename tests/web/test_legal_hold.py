"""The legal hold from the incident page, on a base whose vault is a real S3 store with Object
Lock (SeaweedFS on loopback), through real HTTP: an investigator puts it and the store holds
every linked original; a director may not; only an admin releases it; each original's hold is
a custody event naming who put or released it. On a folder vault the page says none is needed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import CustodyEvent
from rushes.ingest import Ingest
from tests.conftest import Env, vault_on
from tests.s3 import SeaweedFS
from tests.web.conftest import Client, Team

INCIDENT = {"title": "Strike", "type": "airstrike", "started_at": "2016-04-12T09:30:00+03:00"}


@pytest.fixture
def env(tmp_path: Path, db_url: str, s3_server: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> Env:
    return vault_on(s3_server, tmp_path, db_url, monkeypatch)


def _holds(base: Base, server: SeaweedFS, shas: list[str]) -> list[str]:
    """Each original's legal hold as the store reports it ("OFF": never put, or released)."""
    bucket = base.settings.vault_url.removeprefix("s3://").split("/")[0]
    client = server.client()
    found = []
    for sha in shas:
        try:
            asked = client.get_object_legal_hold(Bucket=bucket, Key=f"vault/originals/{sha}")
            found.append(asked["LegalHold"]["Status"])
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "NoSuchObjectLegalHold", exc
            found.append("OFF")
    return found


def _hold_events(base: Base) -> list[tuple[str, str, str]]:
    with base.catalog.read() as session:
        rows = session.scalars(select(CustodyEvent).where(CustodyEvent.verb == "legal-hold"))
        return [(e.asset_sha256, e.actor, json.loads(e.details)["hold"]) for e in rows]


def _post(client: Client, path: str) -> int:
    return client.post(path, data={"csrf": client.csrf}).status_code


def test_an_investigator_holds_an_incident_s_originals_and_only_an_admin_releases_them(
    base: Base,
    team: Team,
    login: Callable[..., Client],
    s3_server: SeaweedFS,
    footage_clips: Path,
    tmp_path: Path,
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copyfile(footage_clips / name, card / name)
    Ingest(base, project="film", crew="karim", actor="karim").run(walk([card]))
    shas = sorted(base.vault.hashes())
    dina, ivan, ada = login("dina"), login("ivan"), login("ada")
    headers = {"X-CSRF-Token": dina.csrf}
    made = dina.post("/api/p/film/incidents", json={**INCIDENT, "code": "ALP-1"}, headers=headers)
    assert made.status_code == 201, made.text
    for sha in shas:
        link = {"csrf": dina.csrf, "sha256": sha, "relation": "strike"}
        assert dina.post("/p/film/incidents/ALP-1/footage", data=link).status_code == 303

    page = ivan.get("/p/film/incidents/ALP-1").text
    assert 'id="hold-form"' in page
    assert 'id="hold"' not in dina.get("/p/film/incidents/ALP-1").text  # takes no originals
    assert _post(dina, "/p/film/incidents/ALP-1/hold") == 403
    assert _holds(base, s3_server, shas) == ["OFF", "OFF"]

    assert _post(ivan, "/p/film/incidents/ALP-1/hold") == 303
    assert _holds(base, s3_server, shas) == ["ON", "ON"]
    page = ivan.get("/p/film/incidents/ALP-1").text
    assert 'class="badge hold-on"' in page and 'id="release-form"' not in page
    assert _post(ivan, "/p/film/incidents/ALP-1/hold/release") == 403  # lets retention run out
    assert _holds(base, s3_server, shas) == ["ON", "ON"]

    assert 'id="release-form"' in ada.get("/p/film/incidents/ALP-1").text
    assert _post(ada, "/p/film/incidents/ALP-1/hold/release") == 303
    assert _holds(base, s3_server, shas) == ["OFF", "OFF"]
    assert 'id="hold-form"' in ada.get("/p/film/incidents/ALP-1").text
    assert sorted(_hold_events(base)) == sorted(
        [(sha, "ivan", "on") for sha in shas] + [(sha, "ada", "off") for sha in shas]
    )
    assert _post(ivan, "/p/film/incidents/NOPE/hold") == 404
