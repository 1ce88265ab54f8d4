"""Write-once, content-addressed store of originals."""

from pathlib import Path

from rushes.vault.backend import Backend, Staging
from rushes.vault.local import LocalBackend
from rushes.vault.store import Digest, Fixity, SourceStat, Stored, Vault, display_path

__all__ = [
    "Backend",
    "Digest",
    "Fixity",
    "LocalBackend",
    "SourceStat",
    "Staging",
    "Stored",
    "Vault",
    "display_path",
    "open_local",
]


def open_local(root: Path) -> Vault:
    return Vault(LocalBackend(root))
