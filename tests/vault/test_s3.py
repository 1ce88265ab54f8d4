"""The S3 vault against a real S3 server (SeaweedFS on loopback), on buckets with Object Lock:
write-once enforced by the store, checksums the store checks, retention nobody can shorten."""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from rushes.derivatives_s3 import S3Derivatives
from rushes.errors import ConfigError, SourceChangedError, StoreUnavailable, VaultError
from rushes.vault import Vault
from rushes.vault.cache import LocalCache
from rushes.vault.s3 import S3Backend
from rushes.vault.s3_client import S3Location, make_client
from tests.s3 import SeaweedFS

MiB = 1 << 20


def s3_vault(server: SeaweedFS, tmp_path: Path, bucket: str = "", **options: object) -> Vault:
    bucket = bucket or server.bucket()
    cache = LocalCache(tmp_path / "cache", int(options.pop("cache_bytes", 1 << 30)))  # type: ignore[call-overload]
    backend = S3Backend(
        S3Location.parse(f"s3://{bucket}/vault"),
        server.client(),
        cache,
        retention_days=int(options.pop("retention_days", 1)),  # type: ignore[call-overload]
        **options,  # type: ignore[arg-type]
    )
    return Vault(backend)


def refused(call: object) -> str:
    with pytest.raises(ClientError) as caught:
        call()  # type: ignore[operator]
    return str(caught.value.response["Error"]["Code"])


def test_an_original_is_stored_once_under_its_hash_locked_and_checksummed(
    s3_server: SeaweedFS, tmp_path: Path
) -> None:
    vault = s3_vault(s3_server, tmp_path)
    data = os.urandom(3 * MiB + 17)
    source = tmp_path / "clip.mp4"
    source.write_bytes(data)
    stored, _ = vault.put_file(source)
    sha = hashlib.sha256(data).hexdigest()
    assert (stored.sha256, stored.size, stored.created) == (sha, len(data), True)
    with vault.open(sha) as body:
        assert body.read() == data
    assert vault.local_path(sha).read_bytes() == data
    assert vault.contains(sha) and list(vault.hashes()) == [sha]
    client, backend = s3_server.client(), vault.backend
    assert isinstance(backend, S3Backend)
    head = client.head_object(Bucket=backend.bucket, Key=backend.key(sha), ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(sha)).decode()
    assert head["ObjectLockMode"] == "COMPLIANCE"
    left = head["ObjectLockRetainUntilDate"] - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(hours=23) < left <= datetime.timedelta(days=1)
    assert vault.quick_check(sha, len(data)).ok
    assert vault.check(sha, len(data), stored.sha512).ok

    # Stored again: the store refuses the overwrite and the vault says it was there already.
    again, _ = vault.put_file(source)
    assert again.sha256 == sha and not again.created
    key = {"Bucket": backend.bucket, "Key": backend.key(sha)}
    assert refused(lambda: client.put_object(**key, Body=b"other", IfNoneMatch="*")) == (
        "PreconditionFailed"
    )
    # Under COMPLIANCE retention no one deletes the version or shortens its retention.
    version = head["VersionId"]
    assert refused(lambda: client.delete_object(**key, VersionId=version)) == "AccessDenied"
    shorter = {"Mode": "COMPLIANCE", "RetainUntilDate": head["ObjectLockRetainUntilDate"]}
    shorter["RetainUntilDate"] -= datetime.timedelta(hours=1)
    assert refused(lambda: client.put_object_retention(**key, Retention=shorter)) == (
        "AccessDenied"
    )
    with vault.open(sha) as body:
        assert hashlib.sha256(body.read()).hexdigest() == sha


def test_bytes_that_do_not_hash_to_the_name_are_refused_by_the_store(
    s3_server: SeaweedFS, tmp_path: Path
) -> None:
    vault = s3_vault(s3_server, tmp_path)
    staging = vault.backend.stage()
    staging.write(b"what the camera recorded")
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(VaultError, match="BadDigest"):
        vault.backend.commit(staging, wrong)
    assert not vault.contains(wrong)
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def test_a_big_original_goes_in_parts_and_only_if_it_hashes_to_its_name(
    s3_server: SeaweedFS, tmp_path: Path
) -> None:
    vault = s3_vault(s3_server, tmp_path, single_max=MiB, part_size=5 * MiB)
    data = os.urandom(12 * MiB + 5)
    source = tmp_path / "long.mov"
    source.write_bytes(data)
    stored, _ = vault.put_file(source)
    backend = vault.backend
    assert isinstance(backend, S3Backend)
    head = s3_server.client().head_object(
        Bucket=backend.bucket, Key=backend.key(stored.sha256), ChecksumMode="ENABLED"
    )
    assert head["ChecksumSHA256"].endswith("-3") and head["ObjectLockMode"] == "COMPLIANCE"
    assert vault.quick_check(stored.sha256, len(data)).ok
    assert vault.check(stored.sha256, len(data), stored.sha512).ok
    # Without the record of its parts' SHA-256s, the quick check cannot tell and says so; it
    # does not call the original damaged. The full check still can.
    client, parts = s3_server.client(), backend.key(stored.sha256, "parts")
    client.delete_object(Bucket=backend.bucket, Key=parts)  # a delete marker over it
    unsure = vault.quick_check(stored.sha256, len(data))
    assert not unsure.ok and "is missing: only a full check" in unsure.problem, unsure
    assert "checksum is" not in unsure.problem
    assert vault.check(stored.sha256, len(data), stored.sha512).ok
    for marker in client.list_object_versions(Bucket=backend.bucket, Prefix=parts)["DeleteMarkers"]:
        client.delete_object(Bucket=backend.bucket, Key=parts, VersionId=marker["VersionId"])
    assert vault.quick_check(stored.sha256, len(data)).ok
    assert not vault.put_file(source)[0].created

    # A staged copy that changed after it was hashed: the upload is aborted, nothing stored.
    staging = backend.stage()
    staging.write(data)
    claimed = hashlib.sha256(data[:-1] + b"X").hexdigest()
    with pytest.raises(SourceChangedError, match="they hash to another SHA-256"):
        backend.commit(staging, claimed)
    assert not vault.contains(claimed)
    uploads = s3_server.client().list_multipart_uploads(Bucket=backend.bucket)
    assert uploads.get("Uploads", []) == []

    # Parts hashed in the hashing pass are sent with those digests, not hashed again: a byte
    # changed after that pass is refused by the store itself, and the upload aborted.
    other = os.urandom(12 * MiB)
    staging = backend.stage()
    for start in range(0, len(other), 3 * MiB):  # chunks that do not fall on part boundaries
        staging.write(other[start : start + 3 * MiB])
        for tap in staging.taps:
            tap(other[start : start + 3 * MiB])
    name = hashlib.sha256(other).hexdigest()
    with open(staging.path, "r+b") as spool:
        spool.seek(7 * MiB)
        spool.write(b"X")
    with pytest.raises(SourceChangedError, match="differ from the bytes hashed .*BadDigest"):
        backend.commit(staging, name)
    assert not vault.contains(name)
    uploads = s3_server.client().list_multipart_uploads(Bucket=backend.bucket)
    assert uploads.get("Uploads", []) == []


def test_quick_check_names_an_overwritten_version_and_a_hidden_one(
    s3_server: SeaweedFS, tmp_path: Path
) -> None:
    vault = s3_vault(s3_server, tmp_path)
    client, backend = s3_server.client(), vault.backend
    assert isinstance(backend, S3Backend)
    stored = [vault.put_stream(_bytes(f"clip {n}".encode() * 1000)) for n in range(2)]
    first, second = stored
    # Someone with write access puts a new version over the first without the condition:
    # the locked original stays as an older version, but the key now reads other bytes.
    client.put_object(Bucket=backend.bucket, Key=backend.key(first.sha256), Body=b"forged")
    assert not vault.quick_check(first.sha256, first.size).ok
    check = vault.check(first.sha256, first.size, first.sha512)
    assert not check.ok and "size is 6 bytes" in check.problem
    # A delete without a version id only hides the locked original behind a delete marker.
    client.delete_object(Bucket=backend.bucket, Key=backend.key(second.sha256))
    hidden = vault.quick_check(second.sha256, second.size)
    assert not hidden.ok and "hidden behind a delete marker" in hidden.problem
    markers = client.list_object_versions(Bucket=backend.bucket, Prefix=backend.key(second.sha256))
    for marker in markers["DeleteMarkers"]:  # the remedy the message gives
        client.delete_object(
            Bucket=backend.bucket, Key=marker["Key"], VersionId=marker["VersionId"]
        )
    assert vault.quick_check(second.sha256, second.size).ok


def test_a_bucket_without_object_lock_is_refused_unless_retention_is_off(
    s3_server: SeaweedFS, tmp_path: Path
) -> None:
    plain = s3_server.bucket(lock=False)
    with pytest.raises(ConfigError, match="no Object Lock"):
        s3_vault(s3_server, tmp_path, bucket=plain)
    vault = s3_vault(s3_server, tmp_path, bucket=plain, retention_days=0)
    stored = vault.put_stream(_bytes(b"no retention asked"))
    assert vault.quick_check(stored.sha256, stored.size).ok


def test_a_wrong_secret_or_bucket_is_named_not_taken_for_a_bucket_without_lock(
    s3_server: SeaweedFS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    forged = make_client(s3_server.endpoint, "us-east-1")
    cache = LocalCache(tmp_path / "cache", 1 << 20)
    with pytest.raises(ConfigError, match="SignatureDoesNotMatch") as refused:
        S3Backend(S3Location.parse(f"s3://{s3_server.bucket()}"), forged, cache, retention_days=1)
    assert "no Object Lock" not in str(refused.value)
    with pytest.raises(ConfigError, match="RUSHES_DERIVATIVES_URL s3://no-such-bucket/c"):
        S3Derivatives.open_url(
            tmp_path, "s3://no-such-bucket/c", endpoint=s3_server.endpoint, region="us-east-1"
        )


def test_a_store_silent_at_start_is_asked_for_its_object_lock_once_it_answers(
    own_s3: SeaweedFS, tmp_path: Path
) -> None:
    locked, plain = own_s3.bucket(), own_s3.bucket(lock=False)
    own_s3.stop()
    vault = s3_vault(own_s3, tmp_path / "a", bucket=locked)  # opens: the catalog stays usable
    unlocked = s3_vault(own_s3, tmp_path / "b", bucket=plain)
    with pytest.raises(StoreUnavailable, match="does not answer"):
        vault.put_stream(_bytes(b"evidence"))
    own_s3.start()
    stored = vault.put_stream(_bytes(b"evidence"))
    assert vault.quick_check(stored.sha256, stored.size).ok  # under its COMPLIANCE retention
    with pytest.raises(ConfigError, match="no Object Lock"):
        unlocked.put_stream(_bytes(b"evidence"))


def test_an_upload_killed_half_way_is_swept_and_the_original_stored_again(
    s3_server: SeaweedFS, tmp_path: Path
) -> None:
    bucket = s3_server.bucket()
    source = tmp_path / "card.mxf"
    source.write_bytes(os.urandom(40 * MiB))
    root = Path(__file__).parents[2]
    script = f"""
import sys; sys.path[:0] = {[str(root), str(root / "src")]!r}
from pathlib import Path
from tests.s3 import SeaweedFS
from tests.vault.test_s3 import s3_vault
server = SeaweedFS.__new__(SeaweedFS); server.port = {s3_server.port}
s3_vault(server, Path({str(tmp_path / "writer")!r}), bucket={bucket!r}, single_max=1 << 20,
         part_size=5 << 20).put_file(Path({str(source)!r}))
"""
    writer = subprocess.Popen([sys.executable, "-c", script])
    client = s3_server.client()
    deadline = time.monotonic() + 60
    while not client.list_multipart_uploads(Bucket=bucket).get("Uploads"):
        assert writer.poll() is None and time.monotonic() < deadline, "no upload began"
        time.sleep(0.02)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    vault = s3_vault(s3_server, tmp_path, bucket=bucket, abandon_after_s=0)
    assert not list(vault.hashes())
    assert len(vault.backend.sweep_abandoned()) == 1  # type: ignore[attr-defined]
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    stored, _ = vault.put_file(source)
    assert stored.created and vault.check(stored.sha256, stored.size, stored.sha512).ok


def test_the_local_cache_is_checked_and_bounded(s3_server: SeaweedFS, tmp_path: Path) -> None:
    vault = s3_vault(s3_server, tmp_path, cache_bytes=3 * MiB)
    stored = [vault.put_stream(_bytes(os.urandom(MiB))) for _ in range(5)]
    cache = tmp_path / "cache"
    kept = sorted(p.name for p in cache.iterdir() if len(p.name) == 64)
    assert len(kept) == 3  # the newest three; the others fetched again when asked for
    oldest = stored[0]
    assert oldest.sha256 not in kept
    path = vault.local_path(oldest.sha256)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == oldest.sha256
    # A cached copy that rots is not the original: a fixity check reads the store.
    os.chmod(path, 0o644)
    path.write_bytes(b"rotten")
    assert vault.check(oldest.sha256, oldest.size, oldest.sha512).ok


def _bytes(data: bytes) -> object:
    import io

    return io.BytesIO(data)


@pytest.mark.parametrize("size", [MiB, 12 * MiB])  # one PUT; parts
def test_a_card_file_is_sent_from_where_it_is_and_refused_if_written_after_hashing(
    s3_server: SeaweedFS, tmp_path: Path, size: int
) -> None:
    vault = s3_vault(s3_server, tmp_path, single_max=2 * MiB, part_size=5 * MiB)
    card = tmp_path / "card" / "C0001.MP4"
    card.parent.mkdir()
    card.write_bytes(data := os.urandom(size))
    mode = card.stat().st_mode
    stored, _ = vault.put_file(card)
    assert stored.created and card.stat().st_mode == mode  # the card's file is left as it was
    # Sent from the card, not copied here: a decoder fetches its own copy when it needs one.
    assert not (tmp_path / "cache" / stored.sha256).exists()
    assert vault.local_path(stored.sha256).read_bytes() == data
    assert vault.check(stored.sha256, size, stored.sha512).ok

    # The same card file written again between its hashing and its sending: nothing stored.
    backend = vault.backend
    card.write_bytes(changed := data[:-1] + bytes([data[-1] ^ 1]))
    # What was hashed before: it differs from both versions at the first byte (not at the last,
    # where one random byte in 256 would make the "before" equal to the change).
    claimed = hashlib.sha256(bytes([data[0] ^ 1]) + data[1:]).hexdigest()
    # Said as the local vault says it, whichever of the store or the vault found the change.
    changed_while_read = (
        r"C0001.MP4: the bytes sent differ from the bytes hashed \((the store answered "
        r"BadDigest|they hash to another SHA-256)\): the source changed while it was read; "
        "nothing stored, run ingest again once the copy has finished"
    )
    with pytest.raises(SourceChangedError, match=changed_while_read):
        backend.commit(backend.stage_source(card), claimed)  # type: ignore[attr-defined]
    assert not vault.contains(claimed) and card.read_bytes() == changed
    assert not (tmp_path / "cache" / claimed).exists()
