"""Accounts over real HTTP: sign-in, the brake on guessing, sessions, CSRF, tokens, members."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from rushes.base import Base
from rushes.catalog.models import LoginFailure, Membership, WebSession
from rushes.review import accounts, audit
from rushes.review.accounts import MAX_FAILURES_PER_PAIR
from tests.conftest import Env
from tests.web.conftest import PASSWORD, Client, Team, user_id


def test_sign_in_sets_a_safe_cookie_and_redirects_only_inside_the_site(
    login: Callable[..., Client], team: Team
) -> None:
    client = login(None)
    assert client.get("/p/film/members?x=1").headers["location"] == (
        "/login?next=%2Fp%2Ffilm%2Fmembers%3Fx%3D1"
    )
    answer = client.post(
        "/login", data={"username": "Dina ", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "The Rescue" in client.get("/").text


def test_wrong_password_is_refused_and_guessing_is_braked(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    client = login(None)
    for _ in range(MAX_FAILURES_PER_PAIR):
        wrong = client.post("/login", data={"username": "dina", "password": "guess-guess"})
        assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
        assert "set-cookie" not in wrong.headers
    braked = client.post("/login", data={"username": "dina", "password": PASSWORD})
    assert braked.status_code == 429 and int(braked.headers["retry-after"]) > 0
    # The brake is per name: another account from elsewhere still signs in, and an unknown
    # name is refused like a wrong password (no hint which one exists).
    assert login("ivan").get("/").status_code == 200
    unknown = client.post("/login", data={"username": "nobody", "password": PASSWORD})
    assert unknown.status_code == 401
    with base.catalog.read() as session:
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 6


def test_sign_out_ends_the_session_on_the_server(base: Base, login: Callable[..., Client]) -> None:
    with base.catalog.write() as session:
        accounts.create_user(session, "sara", PASSWORD)
    client = login("sara")
    cookie = client.cookies.get("rushes_session")
    assert client.post("/logout", data={"csrf": client.csrf}).status_code == 303
    replay = login(None)
    replay.cookies.set("rushes_session", cookie)
    assert replay.get("/settings").status_code == 303  # back to sign-in: the cookie is dead
    with base.catalog.read() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_state_changes_need_the_form_token_and_the_same_origin(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    client = login("dina")
    assert client.post("/settings", data={"blur_thumbnails": "1"}).status_code == 403
    stale = client.post("/settings", data={"blur_thumbnails": "1", "csrf": "x" * 43})
    assert stale.status_code == 403
    foreign = client.post(
        "/settings",
        data={"blur_thumbnails": "1", "csrf": client.csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    cross_login = login(None).post(
        "/login",
        data={"username": "dina", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_login.status_code == 403
    saved = client.post("/settings", data={"blur_thumbnails": "1", "csrf": client.csrf})
    assert saved.status_code == 200 and "blur-all" in saved.text
    with_header = client.post("/settings", headers={"X-CSRF-Token": client.csrf})
    assert with_header.status_code == 200 and "blur-all" not in with_header.text


def test_password_change_ends_other_sessions(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    phone, laptop = login("karim"), login("karim")
    short = laptop.post(
        "/settings/password", data={"csrf": laptop.csrf, "current": PASSWORD, "password": "short"}
    )
    assert short.status_code == 400 and "at least 10" in short.text
    changed = laptop.post(
        "/settings/password",
        data={"csrf": laptop.csrf, "current": PASSWORD, "password": "a much longer one"},
    )
    assert changed.status_code == 303
    assert phone.get("/settings").status_code == 303
    assert laptop.get("/settings").status_code == 200
    login("karim", "a much longer one")


def test_password_change_revokes_every_token(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    """A password changed because a laptop was lost must shut that laptop's token out too."""
    laptop = login("karim")
    made = laptop.post("/settings/tokens", data={"csrf": laptop.csrf, "project": "film"})
    kit = login(None)
    kit.headers["Authorization"] = "Bearer " + made.text.split('class="token">')[1].split("<")[0]
    assert kit.get("/api/p/film/field/wanted").status_code == 200
    changed = laptop.post(
        "/settings/password",
        data={"csrf": laptop.csrf, "current": PASSWORD, "password": "a much longer one"},
    )
    assert changed.status_code == 303
    assert kit.get("/api/p/film/field/wanted").status_code == 401
    listed = laptop.get("/settings").text.split("Field kit tokens")[1]
    assert "revoked" in listed and "/revoke" not in listed


def test_a_field_token_reaches_only_what_the_field_kit_calls(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    """A director's token (no CSRF token needed) records no incident and reads no footage."""
    with base.catalog.write() as session:
        dina = session.scalar(select(accounts.User).where(accounts.User.username == "dina"))
        film = session.scalar(select(accounts.Project).where(accounts.Project.slug == "film"))
        token = accounts.create_api_token(session, dina, film)
    kit = login(None)
    kit.headers["Authorization"] = f"Bearer {token}"
    incident = {"title": "Strike", "type": "airstrike", "started_at": "2016-04-12T14:30"}
    assert kit.post("/api/p/film/incidents", json=incident).status_code == 403
    assert kit.get("/api/p/film/assets").status_code == 403
    assert kit.get("/p/film/").status_code == 403
    assert kit.get("/api/p/film/field/wanted").status_code == 200
    assert kit.get("/api/me/notes").status_code == 200
    listed = kit.post(
        "/api/p/film/field/manifest",
        json={"entries": [{"sha256": "e" * 64, "size": 5, "path": "x.mp4"}]},
    )
    assert listed.status_code == 200


def test_admin_acts_are_in_the_audit_trail_site_admins_see(
    base: Base, login: Callable[..., Client], team: Team, env: Env
) -> None:
    ada = login("ada")
    ada.post("/admin/users", data={"csrf": ada.csrf, "username": "lina", "password": PASSWORD})
    ada.post("/p/film/members", data={"csrf": ada.csrf, "username": "lina", "role": "crew"})
    ada.post("/p/film/members", data={"csrf": ada.csrf, "username": "lina", "role": "director"})
    ada.post("/p/film/members/lina/remove", data={"csrf": ada.csrf})
    lina = login("lina")
    lina.post("/settings/tokens", data={"csrf": lina.csrf, "project": "other"})  # 404: not hers
    karim = login("karim")
    karim.post("/settings/tokens", data={"csrf": karim.csrf, "project": "film", "label": "mac"})
    with base.catalog.read() as session:
        token_id = session.scalar(select(accounts.ApiToken.id))
    karim.post(f"/settings/tokens/{token_id}/revoke", data={"csrf": karim.csrf})
    karim.post(
        "/settings/password",
        data={"csrf": karim.csrf, "current": PASSWORD, "password": "a much longer one"},
    )
    env.run("user", "grant", "lina", "other", "crew")
    with base.catalog.read() as session:
        trail = [
            (e.actor, e.action, e.target, e.details)
            for e in audit.recent(session)
            if e.actor != "system"  # the team fixture's own accounts
        ]
    assert trail[::-1] == [
        ("ada", "account-created", "lina", {"site_admin": False}),
        ("ada", "role-granted", "lina", {"project": "film", "role": "crew", "before": None}),
        ("ada", "role-granted", "lina", {"project": "film", "role": "director", "before": "crew"}),
        ("ada", "role-removed", "lina", {"project": "film"}),
        ("karim", "token-issued", "karim", {"token": token_id, "project": "film", "label": "mac"}),
        ("karim", "token-revoked", "karim", {"token": token_id}),
        ("karim", "password-changed", "karim", {"tokens_revoked": 0}),
        ("tester", "role-granted", "lina", {"project": "other", "role": "crew", "before": None}),
    ]
    page = ada.get("/admin")
    assert (
        page.status_code == 200 and "password-changed" in page.text and "token-issued" in page.text
    )
    assert PASSWORD not in page.text
    assert login("dina").get("/admin").status_code == 403


def test_field_tokens_are_shown_once_bound_to_one_project_and_revocable(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    client = login("karim")
    made = client.post("/settings/tokens", data={"csrf": client.csrf, "project": "film"})
    token = made.text.split('class="token">')[1].split("<")[0]
    assert token.startswith("rsh_")
    listed = client.get("/settings").text
    assert token not in listed and "never" in listed  # shown once; not used yet
    bearer = login(None)
    bearer.headers["Authorization"] = f"Bearer {token}"
    assert bearer.get("/api/me/notes").status_code == 200  # the field kit's own call
    assert "never" not in client.get("/settings").text  # its last use is shown
    assert bearer.post("/admin/projects", data={"slug": "x"}).status_code == 403  # nothing else
    # A token stolen from a laptop changes no account: not its owner's settings or tokens,
    # and not a project's members even when its owner is that project's admin.
    assert bearer.post("/settings", data={"blur_thumbnails": "1"}).status_code == 403
    with base.catalog.write() as session:
        ada = session.scalar(select(accounts.User).where(accounts.User.username == "ada"))
        film = session.scalar(select(accounts.Project).where(accounts.Project.slug == "film"))
        admin_token = accounts.create_api_token(session, ada, film)
    stolen = login(None)
    stolen.headers["Authorization"] = f"Bearer {admin_token}"
    promote = stolen.post("/p/film/members", data={"username": "karim", "role": "admin"})
    assert promote.status_code == 403
    # A project the user is not in does not exist for them, token or not.
    other = client.post("/settings/tokens", data={"csrf": client.csrf, "project": "other"})
    assert other.status_code == 404
    with base.catalog.read() as session:
        token_id = session.scalar(
            select(accounts.ApiToken.id).where(
                accounts.ApiToken.token_hash == accounts.digest(token)
            )
        )
    client.post(f"/settings/tokens/{token_id}/revoke", data={"csrf": client.csrf})
    revoked = bearer.get("/api/me/notes", headers={"Accept": "application/json"})
    assert revoked.status_code == 401
    assert revoked.json() == {"detail": "this token is unknown or revoked; log in again"}


def test_site_admin_creates_projects_and_project_admins_manage_members(
    base: Base, login: Callable[..., Client], team: Team
) -> None:
    ada = login("ada")
    made = ada.post("/admin/projects", data={"csrf": ada.csrf, "slug": "night", "name": "Night"})
    assert made.status_code == 303 and made.headers["location"] == "/p/night/members"
    bad = ada.post("/admin/projects", data={"csrf": ada.csrf, "slug": "../etc"})
    assert bad.status_code == 400 and "short name" in bad.text
    ada.post("/admin/users", data={"csrf": ada.csrf, "username": "lina", "password": PASSWORD})
    ada.post("/p/night/members", data={"csrf": ada.csrf, "username": "lina", "role": "crew"})
    assert "Night" in login("lina").get("/").text
    wrong_role = ada.post(
        "/p/night/members", data={"csrf": ada.csrf, "username": "lina", "role": "god"}
    )
    assert wrong_role.status_code == 400
    dina = login("dina")
    assert dina.get("/p/night/members").status_code == 404  # not her project
    assert dina.get("/p/film/members").status_code == 403  # her project, not her role
    # A project made by `rushes ingest` has no members: a site admin staffs it, and sees its
    # footage only after joining it.
    assert ada.get("/p/other/").status_code == 404
    assert ada.get("/p/other/members").status_code == 200
    ada.post("/p/other/members", data={"csrf": ada.csrf, "username": "ada", "role": "director"})
    assert ada.get("/p/other/").status_code == 200
    removed = ada.post("/p/night/members/lina/remove", data={"csrf": ada.csrf})
    assert removed.status_code == 303
    with base.catalog.read() as session:
        lina = user_id(base, "lina")
        assert session.scalar(select(Membership).where(Membership.user_id == lina)) is None


def test_accounts_from_the_command_line(env: Env) -> None:
    made = env.run(
        "user",
        "add",
        "karim",
        "-p",
        "film",
        "--role",
        "crew",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert "created karim (crew in film)" in made.stdout
    short = env.run("user", "add", "rami", "--password-stdin", input="short\n", check=False)
    assert short.returncode == 1 and "at least 10" in short.stderr
    taken = env.run("user", "add", "karim", "--password-stdin", input=PASSWORD + "\n", check=False)
    assert taken.returncode == 1 and "taken" in taken.stderr
    env.run("user", "grant", "karim", "film", "director")
    assert "film:director" in env.run("user", "list").stdout
    token = env.run("user", "token", "karim", "film", "--label", "laptop").stdout.strip()
    assert token.startswith("rsh_")
    foreign = env.run("user", "token", "karim", "elsewhere", check=False)
    assert foreign.returncode == 1 and "no project" in foreign.stderr
    with env.open() as base, base.catalog.read() as session:
        found = accounts.token_user(session, token)
        assert found is not None and found[0].username == "karim"
