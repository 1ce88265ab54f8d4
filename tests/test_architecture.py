"""Imports point down: the core never imports the layers that orchestrate or present it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rushes

PACKAGE = Path(rushes.__file__).parent
CORE = ["vault", "catalog", "media", "custody.py", "derivatives.py", "settings.py", "errors.py"]
UPPER = ("pipeline", "upload", "field", "exports", "web", "cli", "ingest", "verify")


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("part", CORE)
def test_core_does_not_import_upper_layers(part: str) -> None:
    root = PACKAGE / part
    files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
    for path in files:
        for module in imported_modules(path):
            top = module.split(".")[1] if module.startswith("rushes.") else ""
            assert top not in UPPER, f"{path.relative_to(PACKAGE)} imports {module}"
