"""The tus 1.0 vocabulary: its headers parsed strictly, and the metadata a field upload carries.

Every value from the network is checked here before it touches the disk or the catalog, and a
bad one becomes a `TusError` whose message tells the crew which header was wrong and why.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

VERSION = "1.0.0"
EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "expiration",
    "checksum",
    "termination",
)
CHECKSUMS: dict[str, Callable[[], hashlib._Hash]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
OFFSET_STREAM = "application/offset+octet-stream"
CHECKSUM_MISMATCH = 460
KINDS = ("original", "proxy")

_DIGITS = re.compile(r"[0-9]{1,19}")
_LARGEST = 2**63 - 1  # what a file offset can hold
_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_METADATA_CHARS = 8192
_FILENAME_CHARS = 1024
_SOURCE_CHARS = 200


class TusError(Exception):
    """A request the server refuses: the status, a message for the crew, extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def length(value: str | None, name: str) -> int | None:
    """A non-negative byte count from a header; None when the header is absent."""
    if value is None:
        return None
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        shown = text[:40]
        if len(text) > 19 and text.isdigit():
            raise TusError(400, f"{name} {shown}… is larger than any file this server can hold")
        raise TusError(400, f"{name} must be a non-negative whole number of bytes, not {shown!r}")
    number = int(text)
    if number > _LARGEST:
        raise TusError(400, f"{name} {number} is larger than any file this server can hold")
    return number


def upload_length(headers: Mapping[str, str]) -> int | None:
    """The declared length of a new upload, or None when it is deferred (creation-defer-length)."""
    declared = length(headers.get("upload-length"), "Upload-Length")
    defer = headers.get("upload-defer-length")
    if defer is not None and defer.strip() != "1":
        raise TusError(400, "Upload-Defer-Length must be 1")
    if declared is None and defer is None:
        raise TusError(400, "send Upload-Length (the file's size) or Upload-Defer-Length: 1")
    if declared is not None and defer is not None:
        raise TusError(400, "send either Upload-Length or Upload-Defer-Length, not both")
    return declared


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes


def checksum(value: str | None) -> Checksum | None:
    """The Upload-Checksum of a chunk: "sha1 <base64>" or "sha256 <base64>"."""
    if value is None:
        return None
    name, _, encoded = value.strip().partition(" ")
    if name not in CHECKSUMS:
        supported = ", ".join(CHECKSUMS)
        raise TusError(400, f"checksum algorithm {name[:20]!r} is not supported (use {supported})")
    encoded = encoded.strip()
    if not encoded:
        raise TusError(CHECKSUM_MISMATCH, f"Upload-Checksum names {name} but carries no digest")
    try:
        digest = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise TusError(400, "the Upload-Checksum digest is not valid base64") from exc
    if len(digest) != CHECKSUMS[name]().digest_size:
        raise TusError(
            CHECKSUM_MISMATCH, f"the {name} digest in Upload-Checksum has the wrong length"
        )
    return Checksum(name, digest)


@dataclass(frozen=True)
class Metadata:
    """What a field upload says about itself (Upload-Metadata, decoded and checked)."""

    kind: str  # original | proxy
    sha256: str  # of the whole file, as the field kit hashed it
    filename: str  # the original's path on the card: shown, never used as a path here
    original: str  # for a proxy: the SHA-256 of its original
    source: str  # card label
    header: str  # the header exactly as sent, echoed by HEAD


def metadata(value: str | None) -> Metadata:
    pairs = decode_pairs(value or "")
    kind = pairs.get("kind", "")
    if kind not in KINDS:
        raise TusError(400, "Upload-Metadata needs kind (original or proxy)")
    sha256 = _hex64(pairs.get("sha256"), "sha256", "the SHA-256 of the whole file")
    # A card's names are what they are (a newline or a tab included: `rushes ingest` takes
    # them, and they are shown escaped); only NUL cannot be in one.
    filename = _text(pairs.get("filename", ""), "filename", _FILENAME_CHARS, controls=True)
    source = _text(pairs.get("source", ""), "source", _SOURCE_CHARS)
    original = ""
    if kind == "original":
        if not filename:
            raise TusError(400, "Upload-Metadata needs filename (the path on the card)")
        _check_relative(filename)
    else:
        original = _hex64(pairs.get("original"), "original", "the SHA-256 of the proxy's original")
        if filename:
            _check_relative(filename)
    return Metadata(kind, sha256, filename, original, source, (value or "").strip())


def decode_pairs(value: str) -> dict[str, str]:
    """Upload-Metadata's comma-separated "key base64" pairs, as UTF-8 text."""
    if len(value) > _METADATA_CHARS:
        raise TusError(400, f"Upload-Metadata is longer than {_METADATA_CHARS} characters")
    pairs: dict[str, str] = {}
    for item in value.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not _KEY.fullmatch(key):
            raise TusError(400, f"Upload-Metadata key {key[:70]!r} is empty or has odd characters")
        if key in pairs:
            raise TusError(400, f"Upload-Metadata key {key!r} is given twice")
        try:
            # Card names need not be UTF-8: undecodable bytes travel as surrogate escapes,
            # as the field kit's manifest sends them, and turn back into the same bytes.
            raw = base64.b64decode(encoded.strip(), validate=True)
            pairs[key] = raw.decode("utf-8", "surrogateescape")
        except binascii.Error as exc:
            raise TusError(400, f"Upload-Metadata {key!r} is not base64") from exc
    return pairs


def _hex64(value: str | None, key: str, meaning: str) -> str:
    if value is None:
        raise TusError(400, f"Upload-Metadata needs {key} ({meaning}, 64 hex digits)")
    if not _HEX64.fullmatch(value):
        raise TusError(400, f"Upload-Metadata {key} must be 64 hex digits, not {value[:70]!r}")
    return value.lower()


def _text(value: str, key: str, limit: int, *, controls: bool = False) -> str:
    if len(value) > limit:
        raise TusError(400, f"Upload-Metadata {key} is longer than {limit} characters")
    if "\x00" in value:
        raise TusError(400, f"Upload-Metadata {key} contains NUL")
    # Only real control characters: zero-width joiners and direction marks are part of
    # Persian and Arabic names.
    if not controls and any(unicodedata.category(c) == "Cc" for c in value):
        raise TusError(400, f"Upload-Metadata {key} contains control characters")
    return value


def _check_relative(filename: str) -> None:
    """A card path names a file on the card: no root, drive or parent steps that could be
    mistaken for a path on the base by anyone who later copies it."""
    parts = re.split(r"[/\\]", filename)
    if filename.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", filename):
        raise TusError(400, f"filename {filename[:70]!r} must be relative to the card's root")
    if any(part in ("..", ".") for part in parts):
        raise TusError(400, f"filename {filename[:70]!r} has . or .. steps")
