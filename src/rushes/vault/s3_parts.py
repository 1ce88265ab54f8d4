"""A big original sent to the S3 store as a multipart upload: parallel parts, each with its
SHA-256 as the store's own checksum, so the store refuses any part changed since it was hashed.

Each part's digest is taken in the vault's one hashing pass (`PartDigests`) where that pass saw
the parts; otherwise each part is hashed as it is sent, and the whole again, for the backend to
compare with the original's name before it completes the upload (rushes.vault.s3).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rushes.errors import VaultError
from rushes.vault.pump import Pump
from rushes.vault.s3_client import b64

PART = 8 << 20  # multipart part size (grown for huge files: a store takes 10,000 parts)
PARALLEL = 8  # parts in flight (as boto3's own transfers): memory is about PART * (PARALLEL + 1)


class PartDigests:
    """The SHA-256 of each `size`-byte part of the bytes fed in order: a tap of the vault's one
    hashing pass (rushes.vault.pump), so a multipart upload sends each part with the checksum
    of the bytes that were hashed to the original's name. The store refuses a part that no
    longer matches it, so sending need not hash anything again."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken = 0
        self._done: list[bytes] = []
        self._part = hashlib.sha256()
        self._filled = 0

    def __call__(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), self.size - self._filled)
            self._part.update(view[:take])
            self._filled += take
            self.taken += take
            view = view[take:]
            if self._filled == self.size:
                self._done.append(self._part.digest())
                self._part, self._filled = hashlib.sha256(), 0

    def of(self, size: int, part_size: int) -> list[bytes] | None:
        """Each part's digest, if these are the parts of `size` bytes cut `part_size` apart."""
        if self.taken != size or self.size != part_size:
            return None
        return self._done + ([self._part.digest()] if self._filled else [])


class PartSender:
    """Sends a file as the parts of a multipart upload, PARALLEL at a time, through `sender`
    (a client that does not sign bodies: each carries its checksum, rushes.vault.s3_client).
    Once stopped, parts under way finish and no more are sent."""

    def __init__(self, sender: Any, bucket: str) -> None:
        self.sender, self.bucket = sender, bucket
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def send(
        self,
        path: Path,
        key: str,
        upload: str,
        part_size: int,
        sha256: str,
        hashed: list[bytes] | None,
    ) -> tuple[list[dict[str, Any]], str]:
        """Send `path` cut `part_size` apart, each part with its digest from `hashed` or, without
        it, hashed as it is sent. Returns the parts to complete the upload with, and the SHA-256
        of the whole as sent ("" when `hashed` vouched for each part: the store checked them)."""
        whole = hashlib.sha256()
        parts: list[dict[str, Any]] = []
        pending: deque[Future[dict[str, Any]]] = deque()

        def send(number: int, data: bytes) -> dict[str, Any]:
            digest = hashed[number - 1] if hashed else hashlib.sha256(data).digest()
            checksum = b64(digest)
            answer = self.sender.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
            return {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum}

        # Unless the parts were hashed with the whole, the whole is hashed again as it is sent,
        # in a thread of its own while the reader reads.
        beside = Pump([] if hashed else [whole.update])
        try:
            with open(path, "rb", buffering=0) as source, ThreadPoolExecutor(PARALLEL) as pool:
                number = 0
                while not beside.failures and (data := source.read(part_size)):
                    if self._stopping.is_set():
                        raise VaultError(f"{sha256}: stopped before all of it was sent; not stored")
                    beside.feed(data)
                    number += 1
                    pending.append(pool.submit(send, number, data))
                    if len(pending) >= PARALLEL:
                        parts.append(pending.popleft().result())
                parts += [future.result() for future in pending]
        finally:
            beside.close()
        return parts, "" if hashed else whole.hexdigest()


def combined_checksum(parts: list[dict[str, Any]]) -> str:
    """The checksum the store keeps of a multipart object: the SHA-256 of its parts' SHA-256s,
    then how many parts ("<base64>-<parts>"); what `quick_check` compares it with."""
    digests = b"".join(base64.b64decode(part["ChecksumSHA256"]) for part in parts)
    return f"{b64(hashlib.sha256(digests).digest())}-{len(parts)}"
