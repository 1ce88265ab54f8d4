"""The two consoles every `rushes` command prints to: results to stdout, the rest to stderr.

Kept apart from `rushes.cli.common`, which opens the base: the field kit's commands print here
without loading the base's database layer."""

from __future__ import annotations

from rich.console import Console

# No emoji codes and no highlighting: names from a card are printed exactly as they are.
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, emoji=False)
