"""`rushes settings`: every setting, where it comes from, and its value now."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url

from rushes import settings as settings_module
from rushes.cli.console import out
from rushes.errors import RushesError


@click.command(name="settings")
def settings_command() -> None:
    """Every setting, its environment variable, current value and meaning."""
    try:
        current = settings_module.load()
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc
    table = Table()
    for column in ("variable", "value", "help"):
        table.add_column(column, overflow="fold")
    for setting in settings_module.SETTINGS:
        value = str(getattr(current, setting.name))
        if setting.name == "database_url":
            value = make_url(value).render_as_string(hide_password=True)
        table.add_row(
            settings_module.ENV_PREFIX + setting.name.upper(), escape(value), setting.help
        )
    out.print(table)
