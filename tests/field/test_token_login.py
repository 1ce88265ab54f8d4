"""A field-kit token from the settings page to the crew laptop: the page prints the exact
`rushes field login` command, which works as printed; a bad or revoked token is named as such
by the web API, the tus server and every `rushes field` command."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import ApiToken
from rushes.field.home import Login
from rushes.review import accounts
from tests.field.test_sync import PASSPHRASE, Kit, token_for
from tests.tls import TLS
from tests.web.conftest import Client, Team

UNKNOWN = "unknown or revoked"


def test_the_settings_page_prints_the_login_command_and_it_works(
    login: Callable[..., Client], team: Team, server: str, tmp_path: Path
) -> None:
    karim = login("karim")
    made = karim.post("/settings/tokens", data={"csrf": karim.csrf, "project": "film"})
    token = made.text.split('class="token">')[1].split("<")[0]
    found = re.search(r'<code id="login-command">([^<]+)</code>', made.text)
    assert found, "no login command on the page"
    command = html.unescape(found.group(1))
    assert command == (f"echo {token} | rushes field login {server} --project film --token-stdin")
    kit = Kit(tmp_path / "kit")
    kit.run("passphrase", "--passphrase-stdin", stdin=PASSPHRASE)  # else asked on the terminal
    # Typed as printed into a shell; only `rushes` is this checkout's, not an installed one.
    done = subprocess.run(
        ["sh", "-c", command.replace("| rushes ", f"| {sys.executable} -m rushes ")],
        env=kit.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"logged in to {server}, project film" in done.stdout
    assert kit.home.login() == Login(server, "film", token)
    assert "nothing new" in kit.run("notes")  # and the stored login is one the base takes


def test_the_printed_login_without_a_terminal_says_what_works_and_that_works(
    login: Callable[..., Client], team: Team, server: str, tmp_path: Path
) -> None:
    """A new kit must choose a passphrase: with no terminal to ask on (a script, a session
    with no tty), the error names a way that exists, the page says it too, and it works."""
    karim = login("karim")
    made = karim.post("/settings/tokens", data={"csrf": karim.csrf, "project": "film"})
    token = made.text.split('class="token">')[1].split("<")[0]
    found = re.search(r'<code id="login-command">([^<]+)</code>', made.text)
    assert found
    command = html.unescape(found.group(1)).replace("| rushes ", f"| {sys.executable} -m rushes ")
    assert "give the passphrase on the line after the token" in made.text
    kit = Kit(tmp_path / "kit")

    def typed(line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", "-c", line],
            env=kit.env,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,  # no controlling terminal: /dev/tty does not open
        )

    refused = typed(command)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "on the line after the token" in refused.stderr
    named = set(re.findall(r"--[a-z][a-z-]+", refused.stderr.split("Error:")[-1]))
    assert named, refused.stderr
    options = kit.run("login", "--help")
    assert all(option in options for option in named), (named, options)
    assert not kit.home.has_passphrase  # nothing was chosen
    done = typed(
        command.replace(f"echo {token} |", f"printf '%s\\n%s\\n' {token} '{PASSPHRASE}' |")
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"logged in to {server}, project film" in done.stdout
    assert kit.home.login() == Login(server, "film", token)


def test_a_bad_or_revoked_token_is_called_unknown_or_revoked_everywhere(
    base: Base, team: Team, server: str, tmp_path: Path
) -> None:
    forged = {"Authorization": "Bearer rsh_forged", "Accept": "application/json"}
    api = httpx.get(f"{server}/api/me/notes", headers=forged, verify=TLS)
    assert api.status_code == 401 and UNKNOWN in api.json()["detail"]
    tus = httpx.post(f"{server}/files/", headers={**forged, "Tus-Resumable": "1.0.0"}, verify=TLS)
    assert tus.status_code == 401 and UNKNOWN in tus.text
    anonymous = httpx.get(
        f"{server}/api/me/notes", headers={"Accept": "application/json"}, verify=TLS
    )
    assert anonymous.json()["detail"] == "sign in first"  # no token at all: not a bad one

    kit = Kit(tmp_path / "kit")
    refused = kit.run(
        "login", server, "--project", "film", "--token-stdin", stdin="rsh_forged", code=1
    )
    assert UNKNOWN in refused and "rushes field login" in refused
    token = token_for(base, "karim", "film")
    kit.login(server, token)
    with base.catalog.write() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == accounts.digest(token)))
        assert row is not None
        owner = session.get(accounts.User, row.user_id)
        assert owner is not None
        accounts.revoke_api_token(session, row.id, owner, actor="karim")
    for command in (("sync", "--once"), ("notes",)):
        said = kit.run(*command, code=1)
        assert UNKNOWN in said and "Settings page" in said, (command, said)
