"""Imports point down: the core never imports the layers that orchestrate or present it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import rushes

PACKAGE = Path(rushes.__file__).parent
CORE = ["vault", "catalog", "media", "custody.py", "derivatives.py", "settings.py", "errors.py"]
UPPER = (
    "pipeline",
    "upload",
    "field",
    "exports",
    "review",
    "web",
    "cli",
    "ingest",
    "verify",
    "replica",
    "backup",
    "restore",
)
# The review room's rules sit below its presentation: the field kit's API and the CLI reuse them.
PRESENTATION = ("web", "cli", "upload", "field", "exports")


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def rushes_imports(root: Path) -> Iterator[tuple[Path, str, str]]:
    """(file, imported module, its top-level rushes part or "") for every import under root."""
    for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
        for module in imported_modules(path):
            top = module.split(".")[1] if module.startswith("rushes.") else ""
            yield path, module, top


@pytest.mark.parametrize("part", CORE)
def test_core_does_not_import_upper_layers(part: str) -> None:
    for path, module, top in rushes_imports(PACKAGE / part):
        assert top not in UPPER, f"{path.relative_to(PACKAGE)} imports {module}"


def test_review_rules_do_not_import_their_presentation() -> None:
    for path, module, top in rushes_imports(PACKAGE / "review"):
        assert top not in PRESENTATION, f"{path.relative_to(PACKAGE)} imports {module}"


@pytest.mark.parametrize(
    ("top_layer", "importers"), [("cli", ("cli", "__main__.py")), ("web", ("web", "cli"))]
)
def test_nothing_below_imports_the_top_layers(top_layer: str, importers: tuple[str, ...]) -> None:
    """`cli` and `web` present and orchestrate everything else, so nothing below imports them
    (`rushes serve` starts the web app): the field kit's own commands live in `cli` too."""
    for path, module, top in rushes_imports(PACKAGE):
        inside = path.relative_to(PACKAGE).parts[0] in importers
        assert inside or top != top_layer, f"{path.relative_to(PACKAGE)} imports {module}"
