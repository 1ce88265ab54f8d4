"""Clips are shown by the file name they had on the card, from this project's arrivals only,
escaped, with their hash beside it; the player lists each arrival once, with how it came."""

from __future__ import annotations

import re

from markupsafe import escape
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Asset, Project, User
from rushes.ingest import record_arrival, record_manifest
from rushes.review import selects
from rushes.review.access import viewer_for
from rushes.review.names import file_name
from rushes.vault.store import Stored
from tests.web.conftest import Footage

HOSTILE = b'DCIM/<script>"\x1b[31m\xff.MP4'  # markup, a control character, a non-UTF-8 byte
SHOWN = str(escape('<script>"\\x1b[31m\\xff.MP4'))


def _arrive(base: Base, sha: str, project: str, crew: str, path: bytes, via: str) -> None:
    """Another arrival of bytes the base holds, as the field kit or an upload records it."""
    with base.catalog.write() as session:
        asset = session.get(Asset, sha)
        project_id = session.scalar(select(Project.id).where(Project.slug == project))
        if via == "manifest":
            record_manifest(
                session,
                sha256=sha,
                size=asset.size,
                project_id=project_id,
                crew=crew,
                source="card 9",
                raw_path=path,
                mtime_ns=None,
                actor=crew,
            )
        else:
            stored = Stored(sha, asset.sha512, asset.size, created=False)
            record_arrival(
                session,
                stored,
                project_id=project_id,
                crew=crew,
                source="card 9",
                raw_path=path,
                mtime_ns=None,
                sample=None,
                actor=crew,
                via=via,
            )


def test_clips_are_named_from_their_card_in_this_project_only(
    base: Base, footage: Footage, login
) -> None:  # noqa: ANN001
    sha = footage.karim[0]  # a.mp4 on karim's card
    _arrive(base, sha, "film", "karim", HOSTILE, "manifest")
    _arrive(base, sha, "other", "omar", b"secret/SECRET-OTHER.MP4", "upload")
    with base.catalog.write() as session:
        dina = session.scalar(select(User).where(User.username == "dina"))
        selects.create_select(session, viewer_for(session, dina, "film"), sha, selects.Take(0, 10))
    dina, karim = login("dina"), login("karim")

    grid = dina.get("/p/film/").text
    card = re.search(rf'<li class="card[^>]*data-sha="{sha}".*?</li>', grid, re.S)
    assert card and ">a.mp4</span>" in card.group(0) and sha[:10] in card.group(0)
    assert SHOWN in card.group(0)  # the other name, in the title attribute, escaped
    listed = dina.get("/api/p/film/assets").json()["assets"]
    mine = next(a for a in listed if a["sha256"] == sha)
    assert mine["name"] == "a.mp4"
    assert mine["names"] == ["a.mp4", '<script>"\\x1b[31m\\xff.MP4']

    for who in (dina, karim):
        page = who.get(f"/p/film/a/{sha}").text
        assert re.search(r"<title>a\.mp4 · ", page)
        assert '<span id="file-name" class="file-name" dir="auto">a.mp4</span>' in page
        assert sha in page and sha[:10] in page  # the full hash stays in the details
        assert SHOWN in page
        assert "<script>" not in page and "\x1b" not in page

    picked = dina.get("/p/film/selects").text
    assert ">a.mp4</a>" in picked and sha[:10] in picked

    for page in (grid, dina.get(f"/p/film/a/{sha}").text, picked, str(listed)):
        assert "SECRET-OTHER" not in page and "secret" not in page


def test_the_player_lists_each_arrival_once_with_how_it_came(
    base: Base, footage: Footage, login
) -> None:  # noqa: ANN001
    sha = footage.karim[1]  # b.mp4, ingested at the base from karim's card
    _arrive(base, sha, "film", "karim", b"DCIM/C0007.MP4", "manifest")
    _arrive(base, sha, "film", "karim", b"DCIM/C0007.MP4", "upload")  # the same card file
    page = login("dina").get(f"/p/film/a/{sha}").text
    arrivals = re.findall(r'<li class="arrival" data-via="([^"]*)">(.*?)</li>', page)
    assert [via for via, _ in arrivals] == ["ingest", "manifest upload"]
    (_, first), (_, second) = arrivals
    assert "ingested at the base" in first and ">b.mp4<" in first
    assert "hashed in the field, then uploaded" in second and ">C0007.MP4<" in second
    assert "Also named" in page


def test_a_file_name_is_the_last_part_of_any_cards_path() -> None:
    assert file_name(b"/media/card/DCIM/100MSDCF/C0001.MP4") == "C0001.MP4"
    assert file_name(b"DCIM\\100\\IMG_1.MOV") == "IMG_1.MOV"  # a card read on Windows
    assert (
        file_name("DCIM/\u0645\u0638\u0627\u0647\u0631\u0629.mp4".encode())
        == "\u0645\u0638\u0627\u0647\u0631\u0629.mp4"
    )
    assert file_name(b"DCIM/caf\xe9\n.mp4") == "caf\\xe9\\n.mp4"  # Latin-1 byte, newline
