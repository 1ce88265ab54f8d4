"""The icon browsers ask for at /favicon.ico: there, an icon, hardened like every response,
linked from every page, and no sign-in or rate in the way."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image

from tests.web.conftest import Client, Team
from tests.web.test_hardening import HARDENING


def test_the_favicon_is_served_and_linked(login: Callable[..., Client], team: Team) -> None:
    anonymous = login(None)
    icon = anonymous.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    for name, value in HARDENING.items():
        assert icon.headers.get(name) == value, name
    assert "default-src 'self'" in icon.headers["content-security-policy"]
    with Image.open(io.BytesIO(icon.content)) as image:
        assert image.format == "ICO" and (16, 16) in image.info["sizes"]
    for client, path in ((anonymous, "/login"), (login("dina"), "/p/film/incidents")):
        assert '<link rel="icon" href="/favicon.ico"' in client.get(path).text, path
