"""Render the CLI reference (docs/cli.md) from the commands' own help, so it cannot drift."""

from __future__ import annotations

import click

from rushes.cli import main


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        with click.Context(command) as ctx:
            for name in sorted(command.list_commands(ctx)):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                found += _walk(sub, [*path, name])
    return found


def render() -> str:
    parts = ["# CLI reference\n", "Generated from `--help` by `python -m rushes.cli.doc`.\n"]
    for path, command in _walk(main, ["rushes"]):
        with click.Context(command, info_name=" ".join(path)) as ctx:
            parts.append(f"## `{' '.join(path)}`\n\n```\n{command.get_help(ctx)}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
