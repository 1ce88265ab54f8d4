"""The `rushes` command. It only presents and orchestrates; the work lives in the modules below.

Each command's module is imported when that command runs, not before: `rushes field` on a crew
laptop does not load the base's database layer and media pipeline, and no command pays for the
others' imports. Progress bars go to stderr and results to stdout, so output can be piped or
saved. Exit codes: 0 all well, 1 something failed (named in the output) or stopped by Ctrl-C,
2 bad usage; `ingest` stopped by Ctrl-C prints what it stored and exits 130, as a shell would.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from rushes import TOOL, i18n
from rushes.cli import field_click

COMMANDS = {  # name -> module in rushes.cli, and the command's name there
    "assets": ("listing", "assets"),
    "backup": ("backup", "backup"),
    "custody": ("custody", "custody_group"),
    "dups": ("asset", "dups"),
    "export": ("export", "export"),
    "field": ("field", "field"),
    "find-frame": ("search", "find_frame_command"),
    "incidents": ("incidents", "incidents"),
    "ingest": ("ingest", "ingest"),
    "process": ("process", "process_command"),
    "restore": ("backup", "restore"),
    "search": ("search", "search_command"),
    "serve": ("server", "serve"),
    "settings": ("settings", "settings_command"),
    "show": ("asset", "show"),
    "user": ("server", "user"),
    "vault": ("backup", "vault"),
    "verify": ("verify", "verify_command"),
    "verify-bag": ("evidence", "verify_bag"),
}


class Commands(click.Group):
    """A group that imports a command's module only when the command is asked for."""

    def main(self, *args: Any, **extra: Any) -> Any:
        field_click.speak(i18n.SOURCE)  # Click's own words in English (the kit's are its own)
        return super().main(*args, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"rushes.cli.{module}"), name)
        assert isinstance(command, click.Command) and command.name == cmd_name, cmd_name
        return command


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(message=TOOL)
def main() -> None:
    """rushes: footage kept as evidence, reviewed as rushes, counted as the record."""
