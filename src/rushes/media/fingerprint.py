"""Perceptual fingerprints of videos: PDQ hashes of sampled frames, with their exact timestamps.

PDQ survives re-encoding, scaling, colour changes and small logos, and the hash of the mirrored
frame (derived from the same DCT, as PDQ's dihedral hashes are) catches flipped copies. What it
does not survive is time: in handheld footage two frames a tenth of a second apart are already
about 50 of 256 bits apart, and half a second apart they are as far as unrelated pictures. So
two copies of a moment only share hashes where both hashed the *same frame*. Matching is surest
with one side decoded densely, and decoding is what costs. The sampling is chosen per file (see
`fingerprint`):

* files up to a 720p30 pixel rate are decoded densely and every frame is hashed;
* heavier files decode their keyframes only (one intra picture per GOP: at 1080p with a
  keyframe a second that is over ten times cheaper than a full decode);
* a GOP longer than `MAX_KEY_GAP_S` is always decoded in full, or it would leave a hole.

The trade-off of keyframes: against a densely hashed copy (a messenger re-encode, anything up to
720p) every keyframe finds its own frame. Two heavy copies share hashes where their keyframes
coincide, which they do for a copy trimmed without re-encoding (a cut starts on a keyframe) and
for re-encodes that keep the source's GOP; otherwise they are found only where the picture holds
still for the keyframes' distance. On the fixture clips (a keyframe every 2 s), keyframes on both
sides find 29 of the 31 pairs that dense sampling finds, and no false pair.

Frames are decoded straight to a small grey thumbnail; black letterbox or pillarbox bars are
measured over a few seconds of thumbnails at a time (one frame can be dark at its edges) and
cut off before hashing, and near-black or featureless frames are dropped.
"""

from __future__ import annotations

import math
import os
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import av
import numpy as np
import pdqhash
from av.video.reformatter import VideoReformatter
from PIL import Image

from rushes.errors import ProbeError

Sampling = Literal["auto", "dense", "keyframes"]

# Pixel rate (width x height x fps) that is cheap enough to decode in full: 720p at 30 fps.
DENSE_PIXEL_RATE = 1280 * 720 * 30
# Keyframes further apart than this leave too long a hole: their GOP is decoded in full.
MAX_KEY_GAP_S = 2.0

THUMB = 128  # side of the square grey thumbnail every frame is decoded to
HASH_SIDE = 64  # PDQ's own working size: feeding it exactly this skips its (asymmetric) blur
BAR_LEVEL = 24.0  # a border column or row whose mean never exceeds this is a black bar
MAX_BARS = 0.75  # bars may take this share of a side (portrait video pillarboxed to 16:9)
BLACK_LEVEL = 40  # a frame whose brightest 1 % stays below this is near-black
MIN_QUALITY = 30  # PDQ quality (0-100) below which a hash is mostly noise
CHUNK_S = 3.0  # bars are measured over this much video ...
CHUNK_FRAMES = (8, 96)  # ... holding at least and at most this many frames

_MAGIC = b"RPDQ"
_VERSION = 1
_HEADER = struct.Struct("<4sHxxqqqdQ")
# Mirroring a picture left-right negates the DCT terms of odd horizontal frequency.
_MIRROR = np.where(np.arange(256) % 2 == 1, -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """PDQ hashes of the sampled frames of one video, in presentation order.

    ``hashes[i]`` and ``mirrored[i]`` are 32-byte PDQ hashes in the standard bit order
    (``hashes[i].tobytes().hex()`` is the PDQ hex string) of the frame shown at ``pts[i]``.
    """

    time_base: Fraction
    start_pts: int  # the stream's first timestamp: seconds are counted from it, as players do
    duration_s: float
    pts: np.ndarray  # int64, the frames' own presentation timestamps
    quality: np.ndarray  # uint8, PDQ quality 0-100
    hashes: np.ndarray  # uint8 (n, 32)
    mirrored: np.ndarray  # uint8 (n, 32), of the frame flipped left-right

    def __len__(self) -> int:
        return len(self.pts)

    @property
    def seconds(self) -> np.ndarray:
        """Each frame's time in seconds from the start of the video."""
        return (self.pts - self.start_pts).astype(np.float64) * float(self.time_base)

    def to_bytes(self) -> bytes:
        """Little-endian header, then pts (int64), quality (uint8), hashes and mirrored."""
        header = _HEADER.pack(
            _MAGIC,
            _VERSION,
            self.time_base.numerator,
            self.time_base.denominator,
            self.start_pts,
            self.duration_s,
            len(self),
        )
        return b"".join(
            (
                header,
                self.pts.astype("<i8").tobytes(),
                self.quality.astype(np.uint8).tobytes(),
                np.ascontiguousarray(self.hashes, np.uint8).tobytes(),
                np.ascontiguousarray(self.mirrored, np.uint8).tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        if len(data) < _HEADER.size:
            raise ValueError("not a fingerprint: too short")
        magic, version, num, den, start_pts, duration_s, n = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise ValueError(f"not a version {_VERSION} fingerprint")
        if len(data) != _HEADER.size + n * (8 + 1 + 64):
            raise ValueError("fingerprint is truncated or has trailing bytes")
        at = _HEADER.size
        pts = np.frombuffer(data, "<i8", n, at).astype(np.int64)
        at += 8 * n
        quality = np.frombuffer(data, np.uint8, n, at).copy()
        at += n
        hashes = np.frombuffer(data, np.uint8, 32 * n, at).reshape(n, 32).copy()
        mirrored = np.frombuffer(data, np.uint8, 32 * n, at + 32 * n).reshape(n, 32).copy()
        return cls(Fraction(num, den), start_pts, duration_s, pts, quality, hashes, mirrored)


def fingerprint(
    path: str | os.PathLike[str],
    *,
    sampling: Sampling = "auto",
    threads: int = 0,
    timeout_s: float | None = None,
) -> Fingerprint:
    """Hash the first video stream of ``path``.

    ``sampling`` is ``"auto"`` (see the module docstring), ``"dense"`` (every frame) or
    ``"keyframes"`` (keyframes only, plus GOPs longer than `MAX_KEY_GAP_S`, which is what
    "auto" does above a 720p30 pixel rate). ``threads`` is the decoder's thread count, 0 letting
    FFmpeg choose. Raises `ProbeError` if the file has no decodable video, or takes longer than
    ``timeout_s`` seconds (on one core, "auto" runs at about 60x realtime on 1080p30 phone video
    with a keyframe a second, which decodes in full at about 5x, and 20-30x on 720p and SD).
    """
    deadline = math.inf if timeout_s is None else time.monotonic() + timeout_s
    try:
        container = av.open(os.fspath(path))
    except (av.FFmpegError, OSError) as exc:
        raise ProbeError(f"{path}: cannot be read as media ({exc})") from exc
    with container:
        if not container.streams.video:
            raise ProbeError(f"{path}: has no video stream to fingerprint")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        ctx.thread_count = threads
        ctx.thread_type = "AUTO"
        hasher = _Hasher()
        decoded = failed = 0
        for frames in _decode(container, stream, _dense(stream, sampling)):
            if time.monotonic() > deadline:
                raise ProbeError(
                    f"{path}: fingerprinting took over {timeout_s} s; allow it more time"
                )
            if frames is None:
                failed += 1
                continue
            for frame in frames:
                decoded += 1
                hasher.add(frame)
        if decoded == 0:
            raise ProbeError(f"{path}: no video frame could be decoded ({failed} bad packets)")
        hasher.flush()
        start = stream.start_time if stream.start_time is not None else hasher.first_pts
        return Fingerprint(
            time_base=stream.time_base or Fraction(1, 1),
            start_pts=int(start or 0),
            duration_s=_duration(container, stream),
            pts=np.array(hasher.pts, np.int64),
            quality=np.array(hasher.quality, np.uint8),
            hashes=np.array(hasher.hashes, np.uint8).reshape(-1, 32),
            mirrored=np.array(hasher.mirrored, np.uint8).reshape(-1, 32),
        )


def _dense(stream: av.video.stream.VideoStream, sampling: Sampling) -> bool:
    """Whether to decode every frame: "auto" does up to `DENSE_PIXEL_RATE`."""
    if sampling != "auto":
        return sampling == "dense"
    fps = float(stream.average_rate or stream.guessed_rate or 30)
    return stream.codec_context.width * stream.codec_context.height * fps <= DENSE_PIXEL_RATE


def _decode(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, dense: bool
) -> Iterator[list[av.VideoFrame] | None]:
    """Feed the decoder every packet, or (not ``dense``) keyframes only; yield what comes out.

    When sparse, a GOP is held back packet by packet until it has run longer than
    `MAX_KEY_GAP_S`: then it is decoded after all. None stands for a packet the decoder rejected.
    """
    ctx = stream.codec_context
    tick = float(stream.time_base or 0)
    filling = dense  # decoding every packet of the current GOP
    held: list[av.Packet] = []
    key_time = 0.0
    for packet in container.demux(stream):
        if packet.size and packet.is_keyframe:
            filling = dense
            held.clear()
            key_time = _packet_time(packet, tick)
            todo = [packet]
        elif filling or not packet.size:
            todo = [packet]
        else:
            held.append(packet)
            if _packet_time(packet, tick) - key_time <= MAX_KEY_GAP_S:
                continue
            filling = True
            todo, held = held, []
        for each in todo:
            try:
                yield ctx.decode(each)
            except av.FFmpegError:
                yield None


def _packet_time(packet: av.Packet, tick: float) -> float:
    stamp = packet.dts if packet.dts is not None else packet.pts
    return stamp * tick if stamp is not None else 0.0


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / av.time_base if container.duration else 0.0


class _Hasher:
    """Collects thumbnails a few seconds at a time, crops their bars and hashes them."""

    def __init__(self) -> None:
        self.pts: list[int] = []
        self.quality: list[int] = []
        self.hashes: list[np.ndarray] = []
        self.mirrored: list[np.ndarray] = []
        self.first_pts: int | None = None
        self._chunk: list[tuple[int, np.ndarray]] = []
        self._bars: tuple[int, int, int, int] | None = None
        self._chunk_time = 0.0
        # One scaler for the whole file: setting one up costs more than scaling a frame.
        self._scaler = VideoReformatter()

    def add(self, frame: av.VideoFrame) -> None:
        if frame.pts is None:
            return
        small = self._scaler.reformat(
            frame, width=THUMB, height=THUMB, format="gray", interpolation="AREA"
        )
        thumb = small.to_ndarray()
        if frame.rotation:
            thumb = np.rot90(thumb, round(frame.rotation / 90) % 4)
        if self.first_pts is None:
            self.first_pts = frame.pts
        now = frame.time or 0.0
        if not self._chunk:
            self._chunk_time = now
        self._chunk.append((frame.pts, thumb))
        lo, hi = CHUNK_FRAMES
        if len(self._chunk) >= hi or (len(self._chunk) >= lo and now - self._chunk_time >= CHUNK_S):
            self.flush()

    def flush(self) -> None:
        if not self._chunk:
            return
        self._chunk.sort(key=lambda item: item[0])
        # A short last chunk says little about the bars: the previous one knows better.
        if self._bars is None or len(self._chunk) >= CHUNK_FRAMES[0]:
            stack = np.stack([thumb for _, thumb in self._chunk])
            rows = _bars(stack.mean(axis=2, dtype=np.float32).max(axis=0))
            columns = _bars(stack.mean(axis=1, dtype=np.float32).max(axis=0))
            self._bars = (*rows, *columns)
        top, bottom, left, right = self._bars
        for pts, thumb in self._chunk:
            picture = thumb[top : THUMB - bottom, left : THUMB - right]
            if np.percentile(picture, 99) < BLACK_LEVEL:
                continue
            digest = _pdq(picture)
            if digest is not None:
                self.pts.append(pts)
                self.quality.append(digest[0])
                self.hashes.append(digest[1])
                self.mirrored.append(digest[2])
        self._chunk.clear()


def _bars(profile: np.ndarray) -> tuple[int, int]:
    """Rows (or columns) to cut at each end: the dark runs at the edges of ``profile``."""
    dark = profile <= BAR_LEVEL
    if dark.all():
        return 0, 0
    head, tail = int(np.argmin(dark)), int(np.argmin(dark[::-1]))
    if head + tail > MAX_BARS * len(profile):
        return 0, 0
    # The picture's first row or column is usually half bar after scaling: cut it too.
    return head + (head > 0), tail + (tail > 0)


def _pdq(picture: np.ndarray) -> tuple[int, np.ndarray, np.ndarray] | None:
    """PDQ quality, hash and mirrored hash of a grey picture, or None if it is too flat."""
    small = _resize(picture)
    coefficients, quality = pdqhash.compute_float(np.repeat(small[:, :, None], 3, axis=2))
    if quality < MIN_QUALITY:
        return None
    coefficients = coefficients.astype(np.float32)
    flipped = coefficients * _MIRROR
    return (
        quality,
        np.packbits(coefficients > np.median(coefficients)),
        np.packbits(flipped > np.median(flipped)),
    )


def _resize(picture: np.ndarray) -> np.ndarray:
    """Box-average ``picture`` to HASH_SIDE x HASH_SIDE."""
    image = Image.fromarray(np.ascontiguousarray(picture))
    return np.asarray(image.resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX))
