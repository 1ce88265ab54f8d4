"""Object Lock in the vault's bucket: whether it has it, and the retention each original is
written under, which not even the bucket's owner can shorten or delete through.

A retention asked of a bucket without Object Lock stops the base (ConfigError) rather than
store evidence that anyone with the store's keys could delete.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rushes.errors import ConfigError, StoreUnavailable
from rushes.vault.s3_client import S3Location, error_code, silent

_NO_LOCK = ("ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound")


def object_lock(client: Any, location: S3Location, retention_days: int) -> bool:
    """Whether the bucket has Object Lock; a retention asked of a bucket without it is a
    configuration error, not a silent downgrade to deletable evidence. A store that does
    not answer raises StoreUnavailable; one that answers no, ConfigError."""
    where = location.url()
    try:
        config = client.get_object_lock_configuration(Bucket=location.bucket)
        enabled = config["ObjectLockConfiguration"].get("ObjectLockEnabled") == "Enabled"
    except ClientError as exc:
        if silent(exc):
            raise StoreUnavailable(f"the S3 store of {where} failed: {error_code(exc)}") from exc
        if error_code(exc) not in _NO_LOCK:  # a wrong key or secret must not read as "no lock"
            message = exc.response.get("Error", {}).get("Message", "")
            raise ConfigError(f"{where}: {error_code(exc)} {message}".strip()) from exc
        enabled = False
    except BotoCoreError as exc:
        if silent(exc):
            raise StoreUnavailable(f"the S3 store of {where} does not answer: {exc}") from exc
        raise ConfigError(f"cannot use the S3 store of {where}: {exc}") from exc
    if retention_days > 0 and not enabled:
        raise ConfigError(
            f"the bucket {location.bucket} has no Object Lock, so originals there could be "
            "deleted or overwritten: create it with Object Lock enabled, or set "
            "RUSHES_VAULT_RETENTION_DAYS=0 to store them without that protection"
        )
    return enabled


def retention(days: int) -> dict[str, Any]:
    """The arguments that write an object under a COMPLIANCE retention of `days` from now
    (none for 0: the bucket has no Object Lock, or none was asked)."""
    if not days:
        return {}
    until = datetime.now(UTC) + timedelta(days=days)
    return {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}
