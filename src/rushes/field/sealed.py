"""Files of the field kit sealed with the crew's passphrase, so a seized laptop gives nothing away.

The kit's random key is kept in `lock.json`, sealed with a key derived with argon2id from the
passphrase (salt and parameters beside it; nothing else is in that file). Every sealed file is a
header (magic, 8 random bytes) and segments of at most `SEGMENT` bytes, each sealed with
ChaCha20-Poly1305 (fast without AES instructions, as on old laptops). A segment's nonce is
the file's random bytes and the segment's number; its associated data names the file and
says whether the segment is the last, so segments cannot be reordered, dropped, cut off or
moved to another file unnoticed. Segments let a proxy be read from any offset, as a resumed
upload does, without decrypting the whole file.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from rushes.errors import RushesError
from rushes.i18n import N_, _

MAGIC = b"RUSHSEAL1\n"
SEGMENT = 1 << 20
TAG = 16
_HEADER = len(MAGIC) + 8


class WrongPassphrase(RushesError):
    """The passphrase does not open this kit."""


class Damaged(RushesError):
    """A sealed file was changed, cut short or swapped: its bytes do not open."""


@dataclass(frozen=True)
class Lock:
    """The kit's key, sealed with a key derived from the passphrase (argon2id parameters and
    salt kept beside it), so a new passphrase re-seals 32 bytes, not the whole store."""

    salt: bytes
    time_cost: int
    memory_kib: int
    parallelism: int
    wrapped: bytes

    @classmethod
    def new(cls, passphrase: str) -> tuple[Lock, bytes]:
        """A fresh lock for `passphrase`, and the new key it opens."""
        key = ChaCha20Poly1305.generate_key()
        return cls.wrap(passphrase, key), key

    @classmethod
    def wrap(cls, passphrase: str, key: bytes) -> Lock:
        """A lock that opens `key` with `passphrase` (a new salt each time)."""
        bare = cls(secrets.token_bytes(16), 3, 64 * 1024, 1, b"")
        nonce = secrets.token_bytes(12)
        sealed = ChaCha20Poly1305(bare._derive(passphrase)).encrypt(nonce, key, b"kit key")
        return cls(bare.salt, bare.time_cost, bare.memory_kib, bare.parallelism, nonce + sealed)

    def _derive(self, passphrase: str) -> bytes:
        return hash_secret_raw(
            passphrase.encode(),
            self.salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=32,
            type=Type.ID,
        )

    def open(self, passphrase: str) -> bytes:
        """The kit's key, or WrongPassphrase."""
        aead = ChaCha20Poly1305(self._derive(passphrase))
        try:
            return aead.decrypt(self.wrapped[:12], self.wrapped[12:], b"kit key")
        except InvalidTag:
            raise WrongPassphrase(N_("wrong passphrase")) from None

    def save(self, path: Path) -> None:
        data = {
            "kdf": "argon2id",
            "salt": base64.b64encode(self.salt).decode(),
            "time_cost": self.time_cost,
            "memory_kib": self.memory_kib,
            "parallelism": self.parallelism,
            "key": base64.b64encode(self.wrapped).decode(),
        }
        write_atomic(path, (json.dumps(data) + "\n").encode())

    @classmethod
    def load(cls, path: Path) -> Lock:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                base64.b64decode(data["salt"]),
                int(data["time_cost"]),
                int(data["memory_kib"]),
                int(data["parallelism"]),
                base64.b64decode(data["key"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise Damaged(_("{path} is damaged ({reason})").format(path=path, reason=exc)) from exc


def _aad(name: str, header: bytes, number: int, last: bool) -> bytes:
    return b"%s\0%s\0%d\0%d" % (name.encode(), header, number, last)


def _nonce(header: bytes, number: int) -> bytes:
    return header[len(MAGIC) :] + number.to_bytes(4, "big")


def write_atomic(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write beside, flush to the disk, rename: a crash leaves the old file or the new one."""
    part = path.with_name(f".{path.name}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        for chunk in [data] if isinstance(data, bytes) else data:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)


def _segments(key: bytes, name: str, pieces: Iterable[bytes]) -> Iterable[bytes]:
    aead = ChaCha20Poly1305(key)
    header = MAGIC + secrets.token_bytes(8)
    yield header
    number, pending = 0, b""
    for piece in pieces:
        pending += piece
        while len(pending) > SEGMENT:
            chunk, pending = pending[:SEGMENT], pending[SEGMENT:]
            yield aead.encrypt(_nonce(header, number), chunk, _aad(name, header, number, False))
            number += 1
    yield aead.encrypt(_nonce(header, number), pending, _aad(name, header, number, True))


def seal(key: bytes, path: Path, data: bytes | Iterable[bytes], name: str) -> None:
    """Write `data` sealed at `path`; `name` binds it to its place (e.g. 'store')."""
    write_atomic(path, _segments(key, name, [data] if isinstance(data, bytes) else data))


def seal_file(key: bytes, source: Path, path: Path, name: str) -> None:
    """Seal a plaintext file (read in segments) at `path`."""

    def pieces() -> Iterable[bytes]:
        with source.open("rb") as f:
            while chunk := f.read(SEGMENT):
                yield chunk

    seal(key, path, pieces(), name)


class Reader:
    """A sealed file read as its plaintext: seek and read anywhere, each segment checked."""

    def __init__(self, key: bytes, path: Path, name: str) -> None:
        self._aead, self._name = ChaCha20Poly1305(key), name
        self._file = path.open("rb")
        self._header = self._file.read(_HEADER)
        if len(self._header) != _HEADER or not self._header.startswith(MAGIC):
            self._file.close()
            raise Damaged(_("{path} is not a sealed file of the field kit").format(path=path))
        stored = os.fstat(self._file.fileno()).st_size - _HEADER
        self._count = max(1, -(-stored // (SEGMENT + TAG)))
        self.size = stored - self._count * TAG
        if self.size < 0:
            self._file.close()
            raise Damaged(_("{path} is cut short").format(path=path))
        self._position = 0
        self._cached: tuple[int, bytes] | None = None
        try:
            self._segment(self._count - 1)  # the end is checked first: a cut shows at once
        except Damaged:
            self._file.close()
            raise

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def seek(self, offset: int) -> None:
        self._position = offset

    def _segment(self, number: int) -> bytes:
        if self._cached and self._cached[0] == number:
            return self._cached[1]
        self._file.seek(_HEADER + number * (SEGMENT + TAG))
        sealed = self._file.read(SEGMENT + TAG)
        last = number == self._count - 1
        try:
            plain = self._aead.decrypt(
                _nonce(self._header, number), sealed, _aad(self._name, self._header, number, last)
            )
        except InvalidTag:
            raise Damaged(
                _("{name}: sealed bytes do not open (changed, cut short or another file's)").format(
                    name=self._name
                )
            ) from None
        self._cached = (number, plain)
        return plain

    def read(self, n: int = -1) -> bytes:
        end = self.size if n < 0 else min(self.size, self._position + n)
        parts = []
        while self._position < end:
            number, within = divmod(self._position, SEGMENT)
            piece = self._segment(number)[within : within + end - self._position]
            parts.append(piece)
            self._position += len(piece)
        return b"".join(parts)


def unseal(key: bytes, path: Path, name: str) -> bytes:
    with Reader(key, path, name) as reader:
        return reader.read()
