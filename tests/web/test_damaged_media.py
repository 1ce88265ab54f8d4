"""A damaged derivative is not served: the media route refuses it, the player skips it."""

from __future__ import annotations

from collections.abc import Callable

from rushes.base import Base
from rushes.verify import verify_derivatives
from tests.web.conftest import Footage


def test_a_damaged_proxy_is_refused_and_left_out_of_the_player(
    base: Base, footage: Footage, login: Callable
) -> None:
    sha = footage.karim[0]
    dina = login("dina")
    url = f"/p/film/a/{sha}/media"
    assert dina.get(f"{url}/proxy-360.mp4").status_code == 200
    folder = base.derivatives.folder(sha)
    (folder / "proxy-360.mp4").write_bytes(b"truncated")
    refused = dina.get(f"{url}/proxy-360.mp4")  # a cheap size check, before any verify
    assert refused.status_code == 404 and "damaged" in refused.text
    assert str(folder) not in refused.text

    poster = folder / "poster.webp"
    data = bytearray(poster.read_bytes())
    data[-1] ^= 0xFF
    poster.write_bytes(bytes(data))  # same size: only the hash tells
    assert dina.get(f"{url}/poster.webp").status_code == 200
    report = verify_derivatives(base.catalog, base.derivatives)
    assert {d.name for d in report.damaged} == {"proxy-360.mp4", "poster.webp"}
    assert dina.get(f"{url}/poster.webp").status_code == 404
    page = dina.get(f"/p/film/a/{sha}").text
    assert "proxy-360.mp4" not in page and "proxy-234.mp4" in page
