"""Perceptual fingerprints of videos: PDQ codes of sampled frames, with their exact timestamps.

PDQ survives re-encoding, scaling, colour changes and small logos. What it does not survive is
time: in handheld footage two frames a tenth of a second apart are already about 50 of 256 bits
apart, and half a second apart they are as far as unrelated pictures. So two copies of a moment
only share hashes where both hashed the *same frame*. Matching is surest with one side decoded
densely, and decoding is what costs. The sampling is chosen per file (see `fingerprint`):

* files up to a 720p30 pixel rate, and any file up to `SHORT_S` long, are decoded densely and
  every frame is hashed (a 4-second phone clip has only four keyframes: too few to match);
* longer heavy files decode their keyframes only (one intra picture per GOP: at 1080p with a
  keyframe a second that is over ten times cheaper than a full decode);
* a GOP longer than `MAX_KEY_GAP_S` is always decoded in full, or it would leave a hole.

Two heavy copies decoded by keyframes share hashes only where their keyframes coincide (a trim
without re-encoding, a re-encode that keeps the GOP) or the picture holds still; against any
densely hashed copy every keyframe finds its own frame.

Frames are decoded straight to a small grey thumbnail. Black letterbox or pillarbox bars are
decided once over the whole clip (up to `BUFFER` frames at a time) from rows and columns that
stay almost all one flat black, which a logo in a corner, a night sky (dark, but not flat) or
a re-encode does not change, and cut off before hashing; near-black or featureless frames are
dropped.

Each frame is hashed at `SCALES`: the whole picture and its centre with 3, 6 and 9 % cut off
every side, so a copy cropped by up to about 10 % a side is within 1.5 % of one of them (on the
tune half of tests/evalset a 5 % crop is a median 9 bits from the code cut at 5 %, 25 at 6 % and
46 at 7 %; 90-125 compared whole). Once more as decoded, bars and all (`UNCROPPED`), because a
dark edge may be taken for bars over a short excerpt of a night scene and not over the whole of
it, and the two copies must still meet; and its centre (`UNCROPPED_CENTRE`), 9 % cut off every
side, because a copy cropped 10 % a side keeps part of a pillarboxed source's bars: its picture
lost a tenth at the top and bottom but nothing at the sides. And once as a frame (`FRAMED`): the
middle 60 % of the width and of the height filled with one flat level, so a big watermark laid
over the middle leaves one code as it was.

The codes are PDQ's DCT thresholded at zero, not at its median (which is within a tenth of a
standard deviation of zero, so the codes differ from PDQ's by a few bits and are as
discriminating): then the code of the picture turned or flipped is an exact permutation and
inversion of these bits (`dihedral`), and all eight orientations are searched without hashing
them. Hashing a frame's codes costs about 0.7 ms (0.17 of it the framed one), against 16 ms to
decode a 1080p keyframe.
"""

from __future__ import annotations

import math
import os
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
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
SHORT_S = 15.0  # a file this short is decoded in full whatever its size
# Keyframes further apart than this leave too long a hole: their GOP is decoded in full.
MAX_KEY_GAP_S = 2.0

THUMB = 128  # side of the square grey thumbnail every frame is decoded to
HASH_SIDE = 64  # PDQ's own working size: feeding it exactly this skips its (asymmetric) blur
SCALES = (0.0, 0.03, 0.06, 0.09)  # share cut off every side before hashing, one code each
UNCROPPED = len(SCALES)  # a code of the whole frame, bars and all
UNCROPPED_CENTRE = UNCROPPED + 1  # ... and of its centre, SCALES[-1] cut off every side
FRAMED = UNCROPPED_CENTRE + 1  # and one of the frame around the middle, the MIDDLE filled flat
MIDDLE = (0.2, 0.8)  # from and to, as shares of the height and of the width
BAR_LEVEL = 24.0  # a pixel this dark may be bar
# A row or column is bar in a frame when this share of it is that dark and within BAR_BAND
# levels of its median: bars are one flat black, where a night sky's dark rows (stars, lit
# windows, a gradient) spread 3-8 levels; a corner logo covers up to a quarter of a bar ...
BAR_SHARE = 0.75
BAR_BAND = 3
BAR_FRAMES = 0.9  # ... and bar overall when it is so in this share of the lit frames
MAX_BARS = 0.75  # bars may take this share of a side (portrait video pillarboxed to 16:9)
BLACK_LEVEL = 40  # a frame whose brightest 1 % stays below this is near-black
MIN_QUALITY = 30  # PDQ quality (0-100) below which a hash is mostly noise
BUFFER = 1500  # thumbnails (16 KiB each) held to decide the bars: 50 s dense, 25 min by keyframe

_MAGIC = b"RPDQ"
_VERSION = 3
_HEADER = struct.Struct("<4sHxxqqqdQ")
SLOTS = FRAMED + 1  # codes a frame
_CODE = 32 * SLOTS  # bytes of one frame's codes


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """PDQ codes of the sampled frames of one video, in presentation order.

    ``codes[i, s]`` is the 32-byte code of the frame shown at ``pts[i]``, its bars cut off, with
    ``SCALES[s]`` cut off every side; ``codes[i, UNCROPPED]`` that of the frame as it is, bars
    and all, ``UNCROPPED_CENTRE`` of its centre, and ``FRAMED`` of the picture around its middle;
    ``hashes`` are the whole pictures' codes.
    """

    time_base: Fraction
    start_pts: int  # the stream's first timestamp: seconds are counted from it, as players do
    duration_s: float
    pts: np.ndarray  # int64, the frames' own presentation timestamps
    quality: np.ndarray  # uint8, PDQ quality 0-100
    codes: np.ndarray  # uint8 (n, SLOTS, 32)

    def __len__(self) -> int:
        return len(self.pts)

    @property
    def hashes(self) -> np.ndarray:
        """The whole pictures' codes, (n, 32)."""
        return self.codes[:, 0]

    @property
    def seconds(self) -> np.ndarray:
        """Each frame's time in seconds from the start of the video."""
        return (self.pts - self.start_pts).astype(np.float64) * float(self.time_base)

    def to_bytes(self) -> bytes:
        """Little-endian header, then pts (int64), quality (uint8) and the codes."""
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
                np.ascontiguousarray(self.codes, np.uint8).tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        if len(data) < _HEADER.size:
            raise ValueError("not a fingerprint: too short")
        magic, version, num, den, start_pts, duration_s, n = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise ValueError(f"not a version {_VERSION} fingerprint")
        if len(data) != _HEADER.size + n * (8 + 1 + _CODE):
            raise ValueError("fingerprint is truncated or has trailing bytes")
        at = _HEADER.size
        pts = np.frombuffer(data, "<i8", n, at).astype(np.int64)
        at += 8 * n
        quality = np.frombuffer(data, np.uint8, n, at).copy()
        at += n
        codes = np.frombuffer(data, np.uint8, _CODE * n, at).reshape(n, SLOTS, 32).copy()
        return cls(Fraction(num, den), start_pts, duration_s, pts, quality, codes)


def dihedral(codes: np.ndarray, transform: int) -> np.ndarray:
    """``codes`` (..., 32) of pictures as they look after `TRANSFORMS` [``transform``]."""
    order, flip = _dihedral()[transform]
    bits = np.unpackbits(np.asarray(codes, np.uint8), axis=-1)
    return np.packbits(bits[..., order] ^ flip, axis=-1)


@cache
def _dihedral() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """For each of TRANSFORMS, (source bit of each bit, bits to invert).

    Bit 16 i + j holds PDQ's DCT term of vertical index i and horizontal index j. Flipping
    left-right negates the terms of odd j, up-down those of odd i, and transposing swaps i and
    j; with codes thresholded at zero a negated term is an inverted bit.
    """
    i, j = np.divmod(np.arange(256), 16)
    found = []
    for transpose, left_right, up_down in (
        (0, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 1), (1, 0, 0), (1, 1, 0), (1, 0, 1), (1, 1, 1),
    ):  # fmt: skip
        # Transposing first, then flipping: the term now at (i, j) came from (j, i).
        source = j * 16 + i if transpose else i * 16 + j
        flip = (left_right & (j % 2 == 1)) ^ (up_down & (i % 2 == 1))
        found.append((source, flip.astype(np.uint8)))
    return tuple(found)


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
        for frames in _decode(container, stream, _dense(container, stream, sampling)):
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
            codes=np.array(hasher.codes, np.uint8).reshape(-1, SLOTS, 32),
        )


def _dense(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, sampling: Sampling
) -> bool:
    """Whether to decode every frame: "auto" does up to `DENSE_PIXEL_RATE` or `SHORT_S`."""
    if sampling != "auto":
        return sampling == "dense"
    fps = float(stream.average_rate or stream.guessed_rate or 30)
    if stream.codec_context.width * stream.codec_context.height * fps <= DENSE_PIXEL_RATE:
        return True
    return 0 < _duration(container, stream) <= SHORT_S


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
    """Collects thumbnails, decides the clip's bars once over them and hashes them."""

    def __init__(self) -> None:
        self.pts: list[int] = []
        self.quality: list[int] = []
        self.codes: list[np.ndarray] = []
        self.first_pts: int | None = None
        self._held: list[tuple[int, np.ndarray, np.ndarray | None]] = []  # pts, thumb, bar lines
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
        self._held.append((frame.pts, thumb, _bar_lines(thumb)))
        if len(self._held) >= BUFFER:
            self.flush()

    def flush(self) -> None:
        if not self._held:
            return
        self._held.sort(key=lambda item: item[0])
        top, bottom, left, right = _bars([lines for _, _, lines in self._held])
        for pts, thumb, _ in self._held:
            picture = thumb[top : THUMB - bottom, left : THUMB - right]
            if np.percentile(picture, 99) < BLACK_LEVEL:
                continue
            digest = _pdq(picture)
            if digest is not None:
                self.pts.append(pts)
                self.quality.append(digest[0])
                # Another copy may have decided otherwise about this clip's bars.
                whole = digest[1][[0, -1]] if picture.shape == thumb.shape else _as_decoded(thumb)
                framed = _framed(picture)
                framed = digest[1][0] if framed is None else framed  # a flat frame's is noise
                self.codes.append(np.concatenate([digest[1], whole, framed[None]]))
        self._held.clear()


def _bar_lines(thumb: np.ndarray) -> np.ndarray | None:
    """Which rows, then columns, of a grey thumbnail are nearly all one flat dark level; None if
    all of it is dark."""
    dark = thumb <= BAR_LEVEL
    if dark.all():
        return None
    lines = []
    for levels, shares in ((thumb, dark.mean(axis=1)), (thumb.T, dark.mean(axis=0))):
        bar = shares >= BAR_SHARE
        if bar.any():  # most lines of most frames are not dark: the median only of those that are
            dim = levels[bar].astype(np.int16)
            spread = np.abs(dim - np.median(dim, axis=1, keepdims=True))
            bar[bar] = (spread <= BAR_BAND).mean(axis=1) >= BAR_SHARE
        lines.append(bar)
    return np.concatenate(lines)


def _bars(lines: list[np.ndarray | None]) -> tuple[int, int, int, int]:
    """Rows at the top and bottom, columns at the left and right, that are black bars: nearly
    all dark in nearly every frame that is not dark all over."""
    lit = [each for each in lines if each is not None]
    if not lit:
        return 0, 0, 0, 0
    bar = np.mean(lit, axis=0) >= BAR_FRAMES
    return (*_edges(bar[:THUMB]), *_edges(bar[THUMB:]))


def _edges(bar: np.ndarray) -> tuple[int, int]:
    """Lines to cut at each end: the runs of bar lines at the edges."""
    if bar.all():
        return 0, 0
    head, tail = int(np.argmin(bar)), int(np.argmin(bar[::-1]))
    if head + tail > MAX_BARS * len(bar):
        return 0, 0
    # The picture's first row or column is usually half bar after scaling: cut it too.
    return head + (head > 0), tail + (tail > 0)


def _pdq(picture: np.ndarray) -> tuple[int, np.ndarray] | None:
    """PDQ quality and the codes at each of SCALES of a grey picture, or None if too flat."""
    codes, quality = _codes(picture, SCALES)
    return None if quality < MIN_QUALITY else (quality, codes)


def _as_decoded(thumb: np.ndarray) -> np.ndarray:
    """The codes of a frame as decoded, bars and all: whole, then its centre (`SCALES` [-1] cut
    off every side; the whole again if the frame is too flat to say)."""
    codes, _ = _codes(thumb, (0.0, SCALES[-1]))
    return codes if len(codes) == 2 else np.repeat(codes, 2, axis=0)


def _framed(picture: np.ndarray) -> np.ndarray | None:
    """The code of ``picture`` with its middle filled with the mean of the rest, or None if that
    frame alone is too flat to hash."""
    height, width = picture.shape
    rows, columns = (slice(round(MIDDLE[0] * n), round(MIDDLE[1] * n)) for n in (height, width))
    framed = picture.copy()
    outside = np.ones(picture.shape, bool)
    outside[rows, columns] = False
    framed[rows, columns] = round(float(picture[outside].mean()))
    codes, quality = _codes(framed, (0.0,))
    return codes[0] if quality >= MIN_QUALITY else None


def _codes(picture: np.ndarray, shares: tuple[float, ...]) -> tuple[np.ndarray, int]:
    """Codes of ``picture`` with each of ``shares`` cut off every side, and the whole's quality."""
    image = Image.fromarray(np.ascontiguousarray(picture))
    height, width = picture.shape
    codes = []
    quality = 0
    for share in shares:
        box = (share * width, share * height, (1 - share) * width, (1 - share) * height)
        small = np.asarray(image.resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX, box=box))
        coefficients, q = pdqhash.compute_float(np.repeat(small[:, :, None], 3, axis=2))
        quality = quality if codes else q
        codes.append(np.packbits(coefficients > 0))
        if quality < MIN_QUALITY:
            break
    return np.stack(codes), quality
