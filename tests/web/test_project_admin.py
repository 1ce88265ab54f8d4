"""A project's admin page over real HTTP: members are picked from the accounts that exist (new
ones default to crew), and the project's time zone is set there, checked against the IANA list."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Project
from rushes.review import accounts, audit
from tests.web.conftest import PASSWORD, Client, Team


def _options(html: str, group: str) -> list[str]:
    found = re.search(rf'<optgroup label="{group}">(.*?)</optgroup>', html, re.S)
    return re.findall(r'<option value="([^"]+)"', found.group(1)) if found else []


def test_members_are_picked_from_existing_accounts_and_default_to_crew(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    with base.catalog.write() as session:
        accounts.create_user(session, "lina", PASSWORD)
        gone = accounts.create_user(session, "sami", PASSWORD)
        gone.disabled = True
    ada = login("ada")
    html = ada.get("/p/film/members").text
    assert '<select name="username"' in html  # a pick list, not free text
    assert _options(html, "add to the project") == ["lina", "omar"]  # not sami: disabled
    assert _options(html, "change the role of") == ["ada", "dina", "ivan", "karim"]
    role = re.search(r'<select name="role".*?</select>', html, re.S)
    assert role and re.findall(r"<option [^>]*selected[^>]*>(\w+)<", role.group(0)) == ["crew"]
    added = ada.post("/p/film/members", data={"csrf": ada.csrf, "username": "lina", "role": "crew"})
    assert added.status_code == 303
    html = ada.get("/p/film/members").text
    assert _options(html, "add to the project") == ["omar"]
    assert "lina" in _options(html, "change the role of")
    ada.post("/p/film/members", data={"csrf": ada.csrf, "username": "omar", "role": "crew"})
    html = ada.get("/p/film/members").text  # everyone in: it says where accounts are made
    assert 'new accounts on the <a href="/admin">administration</a> page' in html


def test_project_admins_set_the_time_zone_checked_against_the_iana_names(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    ada = login("ada")
    page = ada.get("/p/film/members").text
    assert '<option value="Asia/Damascus">' in page  # the pick list of zones
    for wrong in ("Mars/Olympus", "asia/damascus", "../../etc/passwd", "Asia"):
        refused = ada.post("/p/film/time-zone", data={"csrf": ada.csrf, "time_zone": wrong})
        assert refused.status_code == 400 and "is not a time zone" in refused.text, wrong
    saved = ada.post("/p/film/time-zone", data={"csrf": ada.csrf, "time_zone": " Asia/Damascus "})
    assert saved.status_code == 303
    assert 'value="Asia/Damascus"' in ada.get("/p/film/members").text
    dina = login("dina")  # a director does not administer the project
    assert (
        dina.post("/p/film/time-zone", data={"csrf": dina.csrf, "time_zone": ""}).status_code == 403
    )
    with base.catalog.read() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        assert film is not None and film.time_zone == "Asia/Damascus"
        acts = [(e.action, e.target, e.details) for e in audit.recent(session)]
    assert acts[0] == ("time-zone-set", "film", {"time_zone": "Asia/Damascus", "before": None})
    cleared = ada.post("/p/film/time-zone", data={"csrf": ada.csrf, "time_zone": ""})
    assert cleared.status_code == 303
    with base.catalog.read() as session:
        film = session.scalar(select(Project).where(Project.slug == "film"))
        assert film is not None and film.time_zone is None
