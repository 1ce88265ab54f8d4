"""The base's services opened from settings: what `cli` and `web` orchestrate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from rushes import settings as settings_module
from rushes.catalog import Catalog, open_catalog
from rushes.derivatives import Derivatives
from rushes.errors import ConfigError
from rushes.settings import Settings
from rushes.vault import Vault, open_vault


@dataclass
class Base:
    settings: Settings
    catalog: Catalog
    vault: Vault
    derivatives: Derivatives

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Base:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_base(settings: Settings | None = None, *, create: bool = True) -> Base:
    """Open the base; `create=False` (read-only commands) refuses to make a new, empty one."""
    settings = settings or settings_module.load()
    if (
        not create
        and settings.database_url.startswith("sqlite")
        and not Path(make_url(settings.database_url).database or "").is_file()
    ):
        raise ConfigError(
            f"no rushes base in {settings.data_dir} (set RUSHES_DATA_DIR, or ingest first)"
        )
    return Base(
        settings,
        open_catalog(
            settings.database_url,
            create=create,
            # Each request admitted at once holds at most two connections (rushes.web.limits),
            # each upload thread one (rushes.upload.server); the health check and the
            # background pipeline take a few more.
            connections=2 * settings.threads + settings.threads // 2 + 8,
            wait=settings.db_wait,
        ),
        open_vault(settings),
        open_derivatives(settings),
    )


def open_derivatives(settings: Settings) -> Derivatives:
    """The configured derivatives store: a folder, or an S3 store (boto3 loaded only then)."""
    if not settings.derivatives_url:
        return Derivatives(settings.derivatives_dir)
    from rushes.derivatives_s3 import S3Derivatives

    return S3Derivatives.open_url(
        settings.derivatives_dir,
        settings.derivatives_url,
        endpoint=settings.s3_endpoint,
        region=settings.s3_region,
    )
