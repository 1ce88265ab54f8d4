"""Settings resolve environment > file > default, and everything is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from rushes import settings
from rushes.cli import doc as clidoc
from rushes.errors import ConfigError

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_environment_beats_file_beats_default(tmp_path: Path) -> None:
    config = tmp_path / "rushes.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\ndata_dir = "/srv/rushes"\n')
    loaded = settings.load({"RUSHES_CONFIG": str(config), "RUSHES_PORT": "9100"})
    assert loaded.port == 9100 and loaded.host == "0.0.0.0"
    assert loaded.data_dir == Path("/srv/rushes")
    assert loaded.vault_dir == Path("/srv/rushes/vault")
    assert loaded.database_url == "sqlite:////srv/rushes/catalog.sqlite3"


def test_defaults_work_with_nothing_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = settings.load({})
    assert loaded.data_dir == tmp_path / "rushes-data"
    assert loaded.port == 8000 and loaded.actor


def test_bad_values_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RUSHES_PORT: 'eighty' is not a valid int"):
        settings.load({"RUSHES_PORT": "eighty"})
    bad = tmp_path / "bad.toml"
    bad.write_text("port = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        settings.load({"RUSHES_CONFIG": str(bad)})
    with pytest.raises(ConfigError, match="not a file"):
        settings.load({"RUSHES_CONFIG": str(tmp_path / "missing.toml")})


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("RUSHES_VAULT_URL", "S3://evidence/vault", "must be s3://bucket"),
        ("RUSHES_VAULT_URL", "evidence/vault", "must be s3://bucket"),
        ("RUSHES_VAULT_URL", "s3:/evidence", "must be s3://bucket"),
        ("RUSHES_VAULT_URL", "s3://Evidence", "must be s3://bucket"),
        ("RUSHES_DERIVATIVES_URL", "https://store/bucket", "must be s3://bucket"),
        ("RUSHES_S3_ENDPOINT", "127.0.0.1:8333", "http://host:port"),
        ("RUSHES_VAULT_RETENTION_DAYS", "99999999", "0 to 36525"),
        ("RUSHES_VAULT_RETENTION_DAYS", "-1", "0 to 36525"),
    ],
)
def test_a_mistyped_store_is_refused_not_taken_for_a_folder(
    tmp_path: Path, name: str, value: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        settings.load({"RUSHES_DATA_DIR": str(tmp_path), name: value})
    fine = {"RUSHES_VAULT_URL": "s3://evidence-2026/vault", "RUSHES_S3_ENDPOINT": "https://s3.x"}
    assert (
        settings.load({"RUSHES_DATA_DIR": str(tmp_path), **fine}).vault_url
        == fine["RUSHES_VAULT_URL"]
    )


def test_every_setting_is_documented() -> None:
    operations = (DOCS / "operations.md").read_text()
    for setting in settings.SETTINGS:
        assert f"`RUSHES_{setting.name.upper()}" in operations, setting.name


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text() == clidoc.render(), (
        "docs/cli.md is stale: run .venv/bin/python -m rushes.cli.doc > docs/cli.md"
    )
