"""Every setting in one declarative table, read from the environment, then a file, then a default.

The file is TOML (`rushes.toml` in the working directory, or the path in `RUSHES_CONFIG`), with
keys named like the settings in lower case without the prefix: `data_dir = "/srv/rushes"`.
Embedded defaults give a working base on one laptop: SQLite and a vault folder in ./rushes-data.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rushes.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", Path, Path("rushes-data"), "Folder for the vault and the SQLite catalog."),
    Setting(
        "database_url",
        str,
        "",
        "SQLAlchemy URL of the catalog, e.g. postgresql+psycopg://host/db. "
        "Empty: SQLite at DATA_DIR/catalog.sqlite3.",
    ),
    Setting("vault_dir", Path, None, "Folder of the local vault. Empty: DATA_DIR/vault."),
    Setting(
        "vault_url",
        str,
        "",
        "s3://bucket/prefix: keep originals in an S3-compatible store instead of VAULT_DIR "
        "(credentials from the usual AWS_* variables or files). Empty: the local folder.",
    ),
    Setting(
        "s3_endpoint",
        str,
        "",
        "URL of the S3-compatible store (e.g. http://127.0.0.1:8333). Empty: Amazon S3.",
    ),
    Setting("s3_region", str, "", "Region of the S3 store. Empty: from the AWS configuration."),
    Setting(
        "vault_retention_days",
        int,
        3650,
        "Days each original sent to an S3 vault is kept under a COMPLIANCE Object Lock "
        "retention (nobody, not even the bucket's owner, can delete or overwrite it before). "
        "The bucket must have Object Lock. 0: no retention.",
    ),
    Setting(
        "vault_cache_dir",
        Path,
        None,
        "Local copies of an S3 vault's originals for decoding. Empty: DATA_DIR/vault-cache.",
    ),
    Setting("vault_cache_gb", float, 50.0, "Most gigabytes VAULT_CACHE_DIR may hold (oldest go)."),
    Setting(
        "replica_dir",
        Path,
        None,
        "Folder of a second local vault kept by `rushes vault replicate`; `rushes verify` "
        "compares both copies and repairs one from the other. Empty: no replica.",
    ),
    Setting(
        "derivatives_dir",
        Path,
        None,
        "Folder of proxies and thumbnails (disposable). Empty: DATA_DIR/derivatives.",
    ),
    Setting(
        "derivatives_url",
        str,
        "",
        "s3://bucket/prefix: keep proxies and thumbnails in an S3-compatible store (the S3 "
        "settings apply); DERIVATIVES_DIR is then only where steps write before sending. "
        "Empty: DERIVATIVES_DIR is the store.",
    ),
    Setting("workers", int, 0, "Pipeline worker processes. 0: one per CPU core."),
    Setting("step_timeout", int, 3600, "Seconds one pipeline step may run before it is stopped."),
    Setting(
        "dask_scheduler",
        str,
        "",
        "Dask scheduler (tcp://host:8786) to run pipeline steps on. Empty: a local process pool.",
    ),
    Setting(
        "threads",
        int,
        20,
        "Threads of `rushes serve` for blocking work (database, disk, password hashing). The "
        "catalog keeps up to 2.5 times as many database connections, plus 8 (a request may "
        "hold two, an upload one, the pipeline a few).",
    ),
    Setting(
        "db_wait",
        float,
        5.0,
        "Seconds a request waits for its turn (or a free database connection) before it is "
        "answered 503.",
    ),
    Setting(
        "header_limit", int, 64 * 1024, "Largest request headers `rushes serve` reads, in bytes."
    ),
    Setting(
        "header_timeout",
        float,
        10.0,
        "Seconds a client has to send a request's headers before its connection is closed.",
    ),
    Setting(
        "body_timeout",
        float,
        30.0,
        "Seconds a request's body may take to arrive (uploads: seconds without a byte: 60).",
    ),
    Setting(
        "rate_limit",
        float,
        30.0,
        "Requests a second one signed-in account may make (bursts of 5 s of them); 0: no limit.",
    ),
    Setting(
        "rate_limit_address",
        float,
        60.0,
        "Requests a second one client address may make (bursts of 5 s of them); 0: no limit.",
    ),
    Setting(
        "open_uploads",
        int,
        20,
        "Unfinished uploads one account may have open at a time.",
    ),
    Setting("host", str, "127.0.0.1", "Address `rushes serve` listens on."),
    Setting("port", int, 8000, "Port `rushes serve` listens on."),
    Setting("actor", str, "", "Who is acting, for the custody log. Empty: the OS user name."),
    Setting(
        "trusted_proxies",
        str,
        "",
        "Addresses of reverse proxies whose X-Forwarded-For/-Proto headers `rushes serve` "
        "believes, comma-separated (e.g. 127.0.0.1). Empty: such headers are ignored.",
    ),
    Setting(
        "session_idle_minutes",
        int,
        12 * 60,
        "Minutes a browser session may go unused before it must sign in again.",
    ),
    Setting(
        "session_lifetime_hours",
        int,
        14 * 24,
        "Hours after sign-in when a browser session ends, used or not.",
    ),
    Setting(
        "upload_dir",
        Path,
        None,
        "Folder of unfinished field uploads (tus). Empty: DATA_DIR/uploads.",
    ),
    Setting(
        "upload_url",
        str,
        "",
        "s3://bucket/prefix: keep unfinished uploads' bytes in an S3 store and their state in "
        "the catalog (PostgreSQL), so a crew's requests may land on any base process or host.",
    ),
    Setting(
        "upload_limit",
        int,
        64 * 2**30,
        "Largest file a field upload may declare, in bytes, unless its project sets its own.",
    ),
    Setting(
        "map_tiles",
        str,
        "",
        "Map tile URL template for the incident map, e.g. https://tile.example/{z}/{x}/{y}.png. "
        "Empty: no tiles are fetched; incidents are plotted on a plain grid of coordinates.",
    ),
    Setting(
        "tsa_urls",
        str,
        "",
        "RFC 3161 time-stamping authorities that stamp the custody chain head, space-separated, "
        "tried in order. Empty: no trusted timestamps.",
    ),
    Setting(
        "tsa_ca",
        Path,
        None,
        "PEM file of the root certificates the TSAs' certificates must chain to (all of them, "
        "one after another). Needed with TSA_URLS.",
    ),
    Setting(
        "c2pa_cert",
        Path,
        None,
        "PEM file of the organisation's C2PA signing certificate, then its intermediates. With "
        "C2PA_KEY, proxies are signed as copies of their original. Empty: nothing is signed.",
    ),
    Setting("c2pa_key", Path, None, "PEM file of the private key of C2PA_CERT (unencrypted)."),
    Setting(
        "c2pa_tsa_url",
        str,
        "",
        "A time-stamping authority that stamps each C2PA signature. Empty: signatures carry "
        "no trusted time.",
    ),
    Setting(
        "c2pa_trust",
        Path,
        None,
        "PEM file of the root certificates whose C2PA signers read as Trusted (e.g. the C2PA "
        "trust list, your own). Empty: intact credentials read as Valid, never Trusted.",
    ),
    Setting(
        "field_dir",
        Path,
        Path("~/.rushes-field"),
        "The field kit's folder on a crew laptop: its manifest, proxies and login, sealed.",
    ),
    Setting(
        "field_unlock_hours",
        float,
        8.0,
        "Hours the field kit stays unlocked after its passphrase (sync runs unattended until "
        "then), unless `rushes field unlock --hours` says otherwise.",
    ),
)

ENV_PREFIX = "RUSHES_"
MAX_RETENTION_DAYS = 36525
# An S3 address as the vault, a replica or the derivatives take it: a mistyped one must not
# quietly become a folder of that name.
S3_URL = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    vault_dir: Path
    vault_url: str
    s3_endpoint: str
    s3_region: str
    vault_retention_days: int
    vault_cache_dir: Path
    vault_cache_gb: float
    replica_dir: Path | None
    derivatives_dir: Path
    derivatives_url: str
    workers: int
    step_timeout: int
    dask_scheduler: str
    threads: int
    db_wait: float
    header_limit: int
    header_timeout: float
    body_timeout: float
    rate_limit: float
    rate_limit_address: float
    open_uploads: int
    host: str
    port: int
    actor: str
    trusted_proxies: str
    session_idle_minutes: int
    session_lifetime_hours: int
    upload_dir: Path
    upload_url: str
    upload_limit: int
    map_tiles: str
    tsa_urls: str
    tsa_ca: Path | None
    c2pa_cert: Path | None
    c2pa_key: Path | None
    c2pa_tsa_url: str
    c2pa_trust: Path | None
    field_dir: Path
    field_unlock_hours: float


def _config_file(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    path = Path(environ.get("RUSHES_CONFIG", "rushes.toml"))
    if not path.is_file():
        if "RUSHES_CONFIG" in environ:
            raise ConfigError(f"RUSHES_CONFIG names {path}, which is not a file")
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _convert(setting: Setting, raw: Any, origin: str) -> Any:
    try:
        return setting.type(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: {raw!r} is not a valid {setting.type.__name__}") from exc


def load(environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
    """Resolve every setting; derived defaults (database, vault) follow the data folder."""
    env = os.environ if environ is None else environ
    from_file = _config_file(env)
    unknown = set(from_file) - {setting.name for setting in SETTINGS}
    if unknown:
        raise ConfigError(f"unknown settings in the config file: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        env_name = ENV_PREFIX + setting.name.upper()
        if env.get(env_name):
            values[setting.name] = _convert(setting, env[env_name], env_name)
        elif setting.name in from_file:
            values[setting.name] = _convert(setting, from_file[setting.name], setting.name)
        else:
            values[setting.name] = setting.default
    data_dir = values["data_dir"].expanduser().absolute()
    values["data_dir"] = data_dir
    if not values["database_url"]:
        values["database_url"] = f"sqlite:///{data_dir / 'catalog.sqlite3'}"
    values["vault_dir"] = (values["vault_dir"] or data_dir / "vault").expanduser().absolute()
    values["vault_cache_dir"] = (
        (values["vault_cache_dir"] or data_dir / "vault-cache").expanduser().absolute()
    )
    if not 0 <= values["vault_retention_days"] <= MAX_RETENTION_DAYS:
        raise ConfigError(
            f"RUSHES_VAULT_RETENTION_DAYS must be 0 to {MAX_RETENTION_DAYS} (100 years), "
            f"not {values['vault_retention_days']}"
        )
    for name in ("vault_url", "derivatives_url", "upload_url"):
        if values[name] and not S3_URL.fullmatch(values[name]):
            raise ConfigError(
                f"RUSHES_{name.upper()} is {values[name]!r}: it must be s3://bucket or "
                "s3://bucket/prefix (a bucket name in lower case); leave it empty for a folder"
            )
    if values["s3_endpoint"] and not re.fullmatch(r"https?://[^/\s]+/?", values["s3_endpoint"]):
        raise ConfigError(
            f"RUSHES_S3_ENDPOINT is {values['s3_endpoint']!r}: give the store's address as "
            "http://host:port or https://host"
        )
    if values["replica_dir"]:
        values["replica_dir"] = values["replica_dir"].expanduser().absolute()
    values["derivatives_dir"] = (
        (values["derivatives_dir"] or data_dir / "derivatives").expanduser().absolute()
    )
    values["upload_dir"] = (values["upload_dir"] or data_dir / "uploads").expanduser().absolute()
    values["field_dir"] = values["field_dir"].expanduser().absolute()
    if not 0 < values["field_unlock_hours"] <= 72:
        raise ConfigError(
            f"RUSHES_FIELD_UNLOCK_HOURS must be more than 0 and at most 72 (hours the field kit "
            f"stays open), not {values['field_unlock_hours']}"
        )
    if values["tsa_ca"]:
        values["tsa_ca"] = values["tsa_ca"].expanduser().absolute()
    if values["tsa_urls"] and not values["tsa_ca"]:
        raise ConfigError(
            "RUSHES_TSA_URLS is set without RUSHES_TSA_CA: a timestamp is worth only as much as "
            "the certificate it chains to; give the TSAs' root certificates (PEM)"
        )
    for name in ("c2pa_cert", "c2pa_key", "c2pa_trust"):
        if values[name]:
            values[name] = values[name].expanduser().absolute()
            if not values[name].is_file():
                raise ConfigError(
                    f"RUSHES_{name.upper()} names {values[name]}, which is not a file"
                )
    if bool(values["c2pa_cert"]) != bool(values["c2pa_key"]):
        raise ConfigError("RUSHES_C2PA_CERT and RUSHES_C2PA_KEY go together: set both or neither")
    values["workers"] = values["workers"] or os.cpu_count() or 1
    if not values["actor"]:
        values["actor"] = _os_user()
    return Settings(**values)


def _os_user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER", "unknown")
