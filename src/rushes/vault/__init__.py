"""Write-once, content-addressed store of originals."""

from pathlib import Path

from rushes.settings import Settings
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
    "open_vault",
]


def open_local(root: Path) -> Vault:
    return Vault(LocalBackend(root))


def open_vault(settings: Settings, location: str = "") -> Vault:
    """The vault at `location`, a folder or s3://bucket/prefix; by default the configured one
    (VAULT_URL, else VAULT_DIR). An S3 vault takes the S3 settings and its own local cache."""
    location = location or settings.vault_url or str(settings.vault_dir)
    if not location.startswith("s3://"):
        return open_local(Path(location))
    from rushes.vault.cache import LocalCache  # boto3 is loaded only for an S3 vault
    from rushes.vault.s3 import open_s3

    cache = LocalCache(settings.vault_cache_dir, int(settings.vault_cache_gb * 2**30))
    return Vault(
        open_s3(
            location,
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            retention_days=settings.vault_retention_days,
            cache=cache,
        )
    )
