"""The base's services opened from settings: what `cli` and `web` orchestrate."""

from __future__ import annotations

from dataclasses import dataclass

from rushes import settings as settings_module
from rushes.catalog import Catalog, open_catalog
from rushes.settings import Settings
from rushes.vault import Vault, open_local


@dataclass
class Base:
    settings: Settings
    catalog: Catalog
    vault: Vault

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Base:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_base(settings: Settings | None = None) -> Base:
    settings = settings or settings_module.load()
    return Base(settings, open_catalog(settings.database_url), open_local(settings.vault_dir))
