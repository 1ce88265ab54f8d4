"""The player page, its media with range requests, the original download and its custody."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import CustodyEvent, NearDuplicate
from rushes.custody import Verb
from rushes.verify import verify
from tests.web.conftest import Footage
from tests.web.shared_bytes import LOCATION


def test_player_media_and_location(base: Base, footage: Footage, login) -> None:  # noqa: ANN001
    dina, ivan, karim, omar = login("dina"), login("ivan"), login("karim"), login("omar")
    sha = footage.karim[0]

    shown = dina.get(f"/p/film/a/{sha}")
    assert shown.status_code == 200
    html = shown.text
    for marker in ('id="player"', 'id="timecode"', 'id="scrub"', 'id="strip"', 'id="note-form"'):
        assert marker in html
    source = re.search(rf'<source src="/p/film/a/{sha}/media/(proxy-\d+\.mp4)"', html)
    assert source, "no proxy in the player"
    assert 'data-rate="30/1"' in html
    assert 'id="select-form"' in html and f'action="/p/film/a/{sha}/selects"' in html
    assert "00:00:00:00" in html
    assert len(shown.content) < 150_000
    assert 'id="location"' not in html and not re.search(LOCATION[0], html)
    assert 'id="download-original"' not in html

    investigator = ivan.get(f"/p/film/a/{sha}").text
    assert 'id="location"' in investigator and re.search(LOCATION[0], investigator)
    assert 'id="download-original"' in investigator
    assert 'id="select-form"' not in investigator

    crew = karim.get(f"/p/film/a/{sha}").text
    assert 'id="select-form"' not in crew and 'id="attach"' not in crew
    assert karim.get(f"/p/film/a/{footage.others[0]}").status_code == 404
    assert omar.get(f"/p/film/a/{sha}").status_code == 404
    assert dina.get(f"/p/film/a/{footage.foreign}").status_code == 404
    assert dina.get("/p/film/a/not-a-sha").status_code == 404

    # A real range request: 206, the right bytes and Content-Range.
    media = f"/p/film/a/{sha}/media/{source.group(1)}"
    proxy = base.derivatives.path(sha, source.group(1)).read_bytes()
    part = dina.get(media, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(proxy)}"
    assert part.content == proxy[100:1100]
    assert part.headers["content-type"] == "video/mp4"
    whole = karim.get(media)
    assert whole.status_code == 200 and whole.content == proxy
    assert karim.get(f"/p/film/a/{footage.others[0]}/media/proxy-360.mp4").status_code == 404
    assert dina.get(f"/p/film/a/{sha}/media/original.mp4").status_code == 404
    assert dina.get(f"/p/film/a/{sha}/media/..%2Fx").status_code == 404
    assert omar.get(f"/p/film/a/{sha}/media/proxy-360.mp4").status_code == 404
    for rung in ("proxy-234.mp4", "proxy-360.mp4"):
        chosen = dina.get(f"/p/film/a/{sha}", params={"proxy": rung}).text
        assert f'<source src="/p/film/a/{sha}/media/{rung}"' in chosen


def test_original_download_is_logged(base: Base, footage: Footage, login) -> None:  # noqa: ANN001
    dina, ivan, karim = login("dina"), login("ivan"), login("karim")
    sha = footage.karim[1]

    assert dina.get(f"/p/film/a/{sha}/original").status_code == 403
    assert karim.get(f"/p/film/a/{sha}/original").status_code == 403
    assert ivan.get(f"/p/film/a/{footage.foreign}/original").status_code == 404
    # A link on another site must not take a copy in an investigator's name.
    lured = ivan.get(f"/p/film/a/{sha}/original", headers={"Sec-Fetch-Site": "cross-site"})
    assert lured.status_code == 403

    got = ivan.get(f"/p/film/a/{sha}/original")
    assert got.status_code == 200
    assert got.content == base.vault.local_path(sha).read_bytes()
    assert got.headers["content-disposition"] == f'attachment; filename="{sha}.mp4"'
    with base.catalog.read() as session:
        events = session.scalars(
            select(CustodyEvent).where(CustodyEvent.verb == Verb.ORIGINAL_DOWNLOADED)
        ).all()
    assert [(e.asset_sha256, e.actor) for e in events] == [(sha, "ivan")]
    assert json.loads(events[0].details) == {"project": "film", "address": "127.0.0.1"}

    # Once `rushes verify` finds its bytes changed, the original is not given out.
    stored = base.vault.local_path(sha)
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 1
    stored.write_bytes(bytes(data))
    assert not verify(base.catalog, base.vault, actor="admin").ok
    damaged = ivan.get(f"/p/film/a/{sha}/original")
    assert damaged.status_code == 409 and "failed its last check" in damaged.text

    base.vault.local_path(sha).unlink()
    missing = ivan.get(f"/p/film/a/{sha}/original")
    assert missing.status_code == 404 and "not in the vault" in missing.text
    assert 'id="download-original"' not in ivan.get(f"/p/film/a/{sha}").text


def test_copies_and_graphic_blur_on_the_player(base: Base, footage: Footage, login) -> None:  # noqa: ANN001
    dina, karim = login("dina"), login("karim")
    sha, copy = footage.karim[0], footage.others[0]
    with base.catalog.write() as session:
        a, b = sorted((sha, copy))
        spans = [[0.5, 1.5, 0.0, 1.0]] if a == sha else [[0.0, 1.0, 0.5, 1.5]]
        session.add(
            NearDuplicate(
                asset_a=a, asset_b=b, score=0.9, segments={"mirrored": False, "segments": spans}
            )
        )
    page = dina.get(f"/p/film/a/{sha}").text
    assert 'id="copies"' in page and f'class="copy" data-sha="{copy}"' in page
    assert 'data-time="0.5"' in page and "90 % alike" in page
    assert 'id="copies"' not in karim.get(f"/p/film/a/{sha}").text  # rami's copy is not his

    flag = dina.post(f"/p/film/a/{sha}/graphic", data={"csrf": dina.csrf, "graphic": "1"})
    assert flag.status_code == 303 and flag.headers["location"] == f"/p/film/a/{sha}"
    for client in (dina, karim):
        page = client.get(f"/p/film/a/{sha}").text
        assert '<div class="screen graphic">' in page
        assert page.count('class="thumb graphic"') == 8  # every picture of the strip
        assert "Unflag graphic" in page if client is dina else 'id="graphic-form"' not in page
    copy_page = dina.get(f"/p/film/a/{copy}").text
    assert f'<a class="thumb graphic" href="/p/film/a/{sha}"' in copy_page
