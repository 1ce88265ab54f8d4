"""Running the base (`rushes serve`) and its accounts (`rushes user`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from rushes import settings as settings_module
from rushes.base import Base, open_base
from rushes.catalog import Project
from rushes.catalog.models import User
from rushes.cli.common import opened_base
from rushes.cli.console import err, out
from rushes.errors import RushesError
from rushes.review import accounts
from rushes.review.access import Role, projects_of, viewer_for
from rushes.review.projects import create_project

_LIMITS = {"project": 100, "crew": 200, "source": 500}


@click.command()
@click.option("--host", default=None, help="Default: the RUSHES_HOST setting.")
@click.option("--port", default=None, type=int, help="Default: the RUSHES_PORT setting.")
def serve(host: str | None, port: int | None) -> None:
    """Run the base: the review room, its API and the media pipeline behind them.

    On a base with no accounts it prints a one-time link that creates the first admin.
    """
    import uvicorn

    from rushes.pipeline.steps import check_signing
    from rushes.web.app import create_app
    from rushes.web.connections import server_options

    try:
        config = settings_module.load()
        check_signing(config)
        app = create_app(open_base(config), background=True)
    except (RushesError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    except DBAPIError as exc:
        raise click.ClickException(f"cannot reach the catalog: {exc.orig}") from exc
    host, port = host or config.host, port or config.port
    base: Base = app.state.base
    with base.catalog.write() as session:
        token = accounts.issue_setup_token(session)
    err.print(f"rushes base on http://{host}:{port}/")
    for name, place in _places(config):
        err.print(f"  {name}: {place}")
    if token:
        # stdout, unwrapped: the one line a newcomer must copy; valid once, for 24 hours.
        print(
            f"No accounts yet. Create the first admin (link works once): "
            f"http://{host}:{port}/setup?token={token}",
            flush=True,
        )
    # Forwarded headers only from the configured proxies: uvicorn's default trusts loopback,
    # which lets anyone on the host (or a proxy passing them through) forge client addresses.
    proxies = config.trusted_proxies.strip()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        **server_options(config),
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )


@click.group()
def user() -> None:
    """Accounts of the review room."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user.command(name="add")
@click.argument("username")
@click.option("--display-name", default="", help="The name shown beside notes.")
@click.option("--project", "-p", default=None, help="Add to this project (made if missing).")
@click.option("--role", type=click.Choice([str(r) for r in Role]), default=None)
@click.option("--site-admin", is_flag=True, help="May create projects and accounts.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(
    username: str,
    display_name: str,
    project: str | None,
    role: str | None,
    site_admin: bool,
    password_stdin: bool,
) -> None:
    """Create an account, optionally with a role in a project."""
    if (project is None) != (role is None):
        raise click.UsageError("give --project and --role together")
    password = _password(password_stdin)
    with opened_base(create=True) as base, _account_errors(), base.catalog.write() as session:
        made = accounts.create_user(
            session,
            username,
            password,
            display_name=display_name,
            site_admin=site_admin,
            actor=base.settings.actor,
        )
        if project and role:
            accounts.add_member(
                session, _project(session, project), made, Role(role), actor=base.settings.actor
            )
    out.print(
        f"created {escape(username)}" + (f" ({role} in {escape(project)})" if project else "")
    )


@user.command(name="grant")
@click.argument("username")
@click.argument("project")
@click.argument("role", type=click.Choice([str(r) for r in Role]))
def user_grant(username: str, project: str, role: str) -> None:
    """Give USERNAME the ROLE in PROJECT (replacing any role there)."""
    with opened_base() as base, _account_errors(), base.catalog.write() as session:
        found = session.scalar(select(User).where(User.username == username))
        if found is None:
            raise click.ClickException(f"no user {username!r}")
        accounts.add_member(
            session, _project(session, project), found, Role(role), actor=base.settings.actor
        )
    out.print(f"{escape(username)} is {role} in {escape(project)}")


@user.command(name="list")
def user_list() -> None:
    """Accounts and their roles."""
    with opened_base() as base, base.catalog.read() as session:
        table = Table()
        for column in ("username", "name", "site admin", "projects"):
            table.add_column(column)
        for found in session.scalars(select(User).order_by(User.username)):
            roles = ", ".join(f"{p.slug}:{r}" for p, r in projects_of(session, found))
            table.add_row(
                escape(found.username),
                escape(found.display_name),
                "yes" if found.site_admin else "",
                escape(roles),
            )
    out.print(table)


@user.command(name="token")
@click.argument("username")
@click.argument("project")
@click.option("--label", default="", help="Which laptop it is for.")
def user_token(username: str, project: str, label: str) -> None:
    """Make a field-kit token for USERNAME in PROJECT; it is printed once."""
    with opened_base() as base, _account_errors(), base.catalog.write() as session:
        found = session.scalar(select(User).where(User.username == username))
        if found is None:
            raise click.ClickException(f"no user {username!r}")
        viewer = viewer_for(session, found, project)
        token = accounts.create_api_token(
            session, found, viewer.project, label, actor=base.settings.actor
        )
    print(token)


def _project(session: Session, slug: str) -> Project:
    found = session.scalar(select(Project).where(Project.slug == slug))
    return found if found is not None else create_project(session, slug)


@contextmanager
def _account_errors() -> Iterator[None]:
    try:
        yield
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc


def _places(config: settings_module.Settings) -> list[tuple[str, str]]:
    """Where this base keeps what: an admin reading the start line of a process in a scaled
    deployment must see the catalog and stores it uses, not only a data folder it may not."""
    plural = "es" if config.workers != 1 else ""
    pipeline = config.dask_scheduler or f"{config.workers} local worker process{plural}"
    return [
        ("catalog", make_url(config.database_url).render_as_string(hide_password=True)),
        ("originals", config.vault_url or str(config.vault_dir)),
        ("derivatives", config.derivatives_url or str(config.derivatives_dir)),
        ("pipeline", pipeline),
    ]
