"""Redacted copies: footage fit to leave the base, with faces and chosen regions hidden, chosen
sounds muted, and nothing in the file that names a place, a device or a person.

* Faces are searched for in every frame (a big picture enlarged in every few frames, at the
  usual width in the others: `Detector.every`, small faces of the frame before looked for
  again near where they were: `follow`) and followed between (`rushes.media.faces`: a
  face seen twice is moved between its sightings, one seen once is held `HOLD_S` before and
  after, and a small face's first sure sighting is followed back through the frames before it,
  up to `BACK_S`, which wait unencoded for that: `rushes.media.face_track`), so a face does not
  flash clear between two detections, nor before its first one.
* Regions a reviewer drew (a face the detector missed, a name tag, a number plate) are boxes
  keyframed over time and interpolated in between (`Region.at`).
* A box is grown by `MARGIN` of its size each side and replaced by a mosaic of at most
  `MOSAIC_CELLS` cells across, then blurred (`rushes.media.mosaic`): what was inside is
  averaged away, not hidden behind a filter that could be undone.
* Sound in a `Mute` range is silenced, or replaced by a tone (`bleep`).
* The copy is H.264 and AAC in MP4 written with FFmpeg's bitexact flags and with the encoder's
  SEI messages removed: no creation time, location, make, model, encoder string or file name;
  the picture is turned upright, so no rotation matrix either.
* The copy is played back whole before it is kept (`check_copy`): one that does not open, or
  whose picture is not the size and frame count written, is refused, not handed on.

Times are seconds on the player's clock (the original's time minus its first timestamp, as
proxies have it); boxes are shares (0-1) of the upright picture's width and height.
"""

from __future__ import annotations

import math
import os
import secrets
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.bitstream import BitStreamFilterContext

from rushes.errors import BadCopy, ProbeError
from rushes.i18n import N_
from rushes.media.face_track import FaceTrack
from rushes.media.faces import Detector
from rushes.media.mosaic import hide
from rushes.media.proxy import Orientation

MAX_HEIGHT = 1080  # a taller original is scaled down to this
CRF = 20
PROGRESS_FRAMES = 30  # a copy's progress is told every this many frames
BLEEP_HZ = 1000.0
_NO_SEI = "filter_units=remove_types=6"  # H.264 SEI: x264 writes its version and settings there
# Each encoder's too: without it FFmpeg's AAC encoder writes "Lavc" and its version into the
# sound itself (the container's fflags only keep the muxer's "Lavf" out).
_BITEXACT = {"flags": "+bitexact"}


@dataclass(frozen=True)
class Keyframe:
    """Where a region is at ``t``: its top-left corner and size, as shares of the picture."""

    t: float
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Region:
    """A box to hide from ``start`` to ``end``, moved between its keyframes in straight lines
    (held still before the first and after the last)."""

    start: float
    end: float
    keyframes: tuple[Keyframe, ...]

    def at(self, t: float) -> tuple[float, float, float, float] | None:
        if not self.keyframes or not self.start <= t <= self.end:
            return None
        frames = sorted(self.keyframes, key=lambda k: k.t)
        if t <= frames[0].t:
            k = frames[0]
            return k.x, k.y, k.w, k.h
        for a, b in zip(frames, frames[1:], strict=False):
            if a.t <= t <= b.t:
                share = 0.0 if b.t == a.t else (t - a.t) / (b.t - a.t)
                return tuple(  # type: ignore[return-value]
                    pa + (pb - pa) * share
                    for pa, pb in ((a.x, b.x), (a.y, b.y), (a.w, b.w), (a.h, b.h))
                )
        k = frames[-1]
        return k.x, k.y, k.w, k.h


@dataclass(frozen=True)
class Mute:
    start: float
    end: float
    bleep: bool = False


@dataclass(frozen=True)
class Redacted:
    """What a copy hid: frames with a face hidden, faces hidden in all, frames with a drawn
    region hidden, seconds of sound muted."""

    path: Path
    width: int
    height: int
    frames: int
    face_frames: int
    faces: int
    region_frames: int
    muted_s: float
    face_area: float  # the share of the picture hidden for faces, averaged over the frames


def redact(
    src: Path,
    dst: Path,
    *,
    regions: Sequence[Region] = (),
    mutes: Sequence[Mute] = (),
    detect: Detector | None = None,
    span: tuple[float, float] | None = None,
    every: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> Redacted:
    """Write the redacted copy of ``src`` to ``dst`` (beside it first, then renamed); faces are
    hidden when ``detect`` is given, searched for in every ``every``th frame (by default as
    often as the detector's budget allows at the copy's size: `Detector.every`); ``span`` keeps
    only those seconds (a select), the copy then starting at its first. ``progress`` is told
    the share of the copy written now and then (a copy with faces runs for minutes)."""
    part = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.part")
    try:
        with av.open(os.fspath(src)) as inp:
            result = _Copier(inp, part, regions, mutes, detect, span, every, progress).run()
        check_copy(part, src.name, *result[:3])
        os.replace(part, dst)
    except av.FFmpegError as exc:
        part.unlink(missing_ok=True)
        raise ProbeError(
            N_("%(file)s: cannot be read as video (%(problem)s)"),
            reason=str(exc),
            file=src.name,
            problem=getattr(exc, "strerror", None) or exc,  # FFmpeg's words, not the path
        ) from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Redacted(dst, *result)


def check_copy(copy: Path, name: str, width: int, height: int, frames: int) -> None:
    """Play ``copy`` back whole, its sound too (quick beside making it): its picture must be
    as written (size, every frame), else BadCopy. A copy whose header was written wrong once
    looked made (all its frames counted) though no player could open it."""
    problem = ""
    try:
        with av.open(os.fspath(copy)) as made:
            if len(made.streams.video) != 1:
                problem = f"{len(made.streams.video)} picture streams"
            else:
                video = made.streams.video[0]
                video.thread_type = "AUTO"
                sizes = {(video.codec_context.width, video.codec_context.height)}
                pictures = 0
                for frame in made.decode(*made.streams):
                    if isinstance(frame, av.VideoFrame):
                        pictures += 1
                        sizes.add((frame.width, frame.height))
                if sizes != {(width, height)}:
                    problem = f"a picture of {sizes} where {width}x{height} was written"
                elif pictures != frames:
                    problem = f"{pictures} of the {frames} frames written decode"
    except av.FFmpegError as exc:
        problem = str(getattr(exc, "strerror", None) or exc)
    if problem:
        raise BadCopy(
            N_("%(file)s: the redacted copy does not play back (%(problem)s), so it was not kept"),
            file=name,
            problem=problem,
        )


class _Copier:
    def __init__(
        self,
        inp: av.container.InputContainer,
        part: Path,
        regions: Sequence[Region],
        mutes: Sequence[Mute],
        detect: Detector | None,
        span: tuple[float, float] | None,
        every: int | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        if not inp.streams.video:
            raise ProbeError(f"{inp.name}: has no picture to redact", reason="no video stream")
        self.inp, self.part, self.regions, self.mutes, self.detect = (
            inp, part, regions, mutes, detect,
        )  # fmt: skip
        self.video = inp.streams.video[0]
        audio = inp.streams.audio
        self.audio = audio[0] if audio and audio[0].codec_context is not None else None
        starts = [
            s.start_time * s.time_base
            for s in (self.video, self.audio)
            if s is not None and s.start_time is not None
        ]
        self.origin = min(starts, default=Fraction(0))
        self.span = span or (0.0, math.inf)
        # Player time span[0] is the copy's zero.
        self.cut = self.origin + Fraction(self.span[0]).limit_denominator(1_000_000)
        self.pending: deque[tuple[np.ndarray, int, float]] = deque()
        self.every = every
        # Made with the copy's size, when faces are hidden; `waiting`: frames held back before
        # encoding (as many as the faces need).
        self.track: FaceTrack | None = None
        self.waiting = 1
        self.frames = self.face_frames = self.faces = self.region_frames = 0
        self.muted = 0.0
        self.face_area = 0.0
        self.size: tuple[int, int] | None = None
        self.no_sei: BitStreamFilterContext | None = None
        self.held: list[av.Packet] = []  # sound encoded before the header could be written
        self.progress = progress

    def run(self) -> tuple[int, int, int, int, int, int, float, float]:
        options = {"movflags": "+faststart"}
        with av.open(
            os.fspath(self.part), "w", format="mp4", options={"fflags": "+bitexact"},
            container_options=options,
        ) as out:  # fmt: skip
            self.out = out
            self.v_out: av.video.stream.VideoStream | None = None
            self.started = False
            self.a_out = self._add_audio() if self.audio is not None else None
            streams = [s for s in (self.video, self.audio) if s is not None]
            for packet in self.inp.demux(streams):
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    continue  # a damaged packet: the copy goes on without it
                for frame in frames:
                    if isinstance(frame, av.VideoFrame):
                        self._picture(frame)
                    else:
                        self._sound(frame)
            if self.track is not None:
                self.track.finish(self._unencoded)
            while self.pending:
                self._emit()
            if self.v_out is not None:
                self._mux_video(self.v_out.encode())
                for packet in self.no_sei.filter(None) if self.no_sei is not None else ():
                    out.mux(packet)
            if self.a_out is not None:
                for resampled in self.resampler.resample(None):
                    self._mux(self.a_out.encode(resampled))
                self._mux(self.a_out.encode())
        if not self.frames or self.size is None:
            raise ProbeError(f"{self.inp.name}: no picture could be decoded", reason="no frames")
        width, height = self.size
        counts = (self.frames, self.face_frames, self.faces, self.region_frames)
        return width, height, *counts, self.muted, self.face_area / self.frames

    # ---- picture -------------------------------------------------------------------------

    def _picture(self, frame: av.VideoFrame) -> None:
        if frame.pts is None:
            return
        orientation = Orientation.of(frame)
        if self.size is None:
            w, h = orientation.size(frame.width, frame.height)
            scale = min(1.0, MAX_HEIGHT / h)
            self.size = (max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2))
            self.v_out = self._add_video()
            self._start()
            if self.detect is not None:
                rate = float(self.video.average_rate or self.video.guessed_rate or 30)
                self.track = FaceTrack(self.detect, self.size, rate, self.every)
                self.waiting = self.track.waiting
        t = float(frame.pts * self.video.time_base - self.origin)
        if not self.span[0] <= t <= self.span[1]:
            return
        # The picture is kept as the encoder takes it (I420, upright, at the copy's size) and
        # hidden in place there: no round trip through RGB at full size.
        w, h = self.size
        if orientation.identity:
            yuv = frame.reformat(width=w, height=h, format="yuv420p").to_ndarray()
        else:
            rgb = np.ascontiguousarray(orientation.upright_rgb(frame, w, h))
            upright = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            yuv = upright.reformat(format="yuv420p").to_ndarray()
        self.pending.append((yuv, frame.pts, t))
        if self.track is not None:
            self.track.see(frame, orientation, self._unencoded)
        if len(self.pending) > self.waiting:
            self._emit()

    def _unencoded(self, index: int) -> np.ndarray | None:
        """The picture of frame ``index`` if it still waits to be encoded (`FaceTrack`)."""
        return self.pending[index - self.frames][0] if index >= self.frames else None

    def _emit(self) -> None:
        """Hide and encode the oldest waiting frame, now that the frames after it are known."""
        yuv, pts, t = self.pending.popleft()
        if self.progress is not None and self.frames % PROGRESS_FRAMES == 0:
            self.progress(self._share_done(t))
        faces = self.track.faces(self.frames) if self.track is not None else []
        if faces:
            self.face_frames += 1
            self.faces += len(faces)
        w, h = self.size  # type: ignore[misc]
        drawn = []
        for region in self.regions:
            box = region.at(t)
            if box is not None:
                x, y, bw, bh = box
                drawn.append((x * w, y * h, (x + bw) * w, (y + bh) * h))
        if drawn:
            self.region_frames += 1
        if faces:
            hidden = np.zeros((h, w), dtype=bool)
            for box in faces:
                hide(yuv, box, hidden)
            self.face_area += float(np.count_nonzero(hidden)) / (w * h)
        for box in drawn:
            hide(yuv, box)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = pts - round(self.cut / self.video.time_base)
        frame.time_base = self.video.time_base
        self._mux_video(self.v_out.encode(frame))
        self.frames += 1

    def _share_done(self, t: float) -> float:
        """How far into the copy's seconds ``t`` is (0 when the length is unknown)."""
        whole = float(self.inp.duration / av.time_base) if self.inp.duration else 0.0
        end = min(self.span[1], whole) if whole else self.span[1]
        if not math.isfinite(end) or end <= self.span[0]:
            return 0.0
        return min(1.0, max(0.0, (t - self.span[0]) / (end - self.span[0])))

    def _start(self) -> None:
        """Write the header as soon as every stream is added (the picture's at its first frame,
        its size known), then make the SEI filter and mux the sound held until then.

        In this order because writing the header opens the encoders and copies each one's
        size and SPS/PPS into its stream, and the filter copies the stream's parameters onto
        the encoder: made before, as it was when no sound wrote the header first, it read
        the stream's blank defaults (640x480, no SPS/PPS) and the copy was written with them,
        an MP4 no player opens."""
        self.out.start_encoding()
        self.started = True
        self.no_sei = BitStreamFilterContext(_NO_SEI, self.v_out, self.v_out)
        held, self.held = self.held, []
        self._mux(held)

    def _mux(self, packets: list[av.Packet]) -> None:
        """Mux sound, or hold it until the header is written (sound decoded before the first
        picture would write it without the picture's stream)."""
        if not self.started:
            self.held.extend(packets)
            return
        for packet in packets:
            self.out.mux(packet)

    def _mux_video(self, packets: list[av.Packet]) -> None:
        assert self.no_sei is not None
        for packet in packets:
            for clean in self.no_sei.filter(packet):
                self.out.mux(clean)

    def _add_video(self) -> av.video.stream.VideoStream:
        rate = self.video.average_rate or self.video.guessed_rate or Fraction(30)
        stream = self.out.add_stream(
            "libx264", rate=rate, options={"crf": str(CRF), "preset": "veryfast", **_BITEXACT}
        )
        stream.width, stream.height = self.size
        stream.pix_fmt = "yuv420p"
        stream.time_base = self.video.time_base
        stream.codec_context.time_base = self.video.time_base
        return stream

    # ---- sound ---------------------------------------------------------------------------

    def _add_audio(self) -> av.audio.stream.AudioStream:
        ctx = self.audio.codec_context
        rate = ctx.sample_rate if ctx.sample_rate in (48_000, 44_100, 32_000) else 48_000
        layout = "mono" if ctx.channels == 1 else "stereo"
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate, frame_size=1024)
        stream = self.out.add_stream("aac", rate=rate, layout=layout, options=_BITEXACT)
        stream.bit_rate = 128_000
        return stream

    def _sound(self, frame: av.AudioFrame) -> None:
        if self.a_out is None or frame.pts is None:
            return
        at = float(frame.pts * frame.time_base - self.origin)
        if at + frame.samples / frame.sample_rate < self.span[0] or at > self.span[1]:
            return
        frame.pts -= round(self.cut / frame.time_base)
        try:
            resampled = self.resampler.resample(frame)
        except av.FFmpegError:
            return
        for piece in resampled:
            self._mux(self.a_out.encode(self._muted(piece)))

    def _muted(self, frame: av.AudioFrame) -> av.AudioFrame:
        if not self.mutes or frame.pts is None:
            return frame
        samples = frame.to_ndarray()  # (channels, n) float
        rate = frame.sample_rate
        # On the player's clock, which the mutes are in.
        first = float(frame.pts * frame.time_base) + self.span[0]
        times = first + np.arange(samples.shape[1]) / rate
        changed = False
        for mute in self.mutes:
            inside = (times >= mute.start) & (times < mute.end)
            if inside.any():
                changed = True
                self.muted += inside.sum() / rate
                tone = 0.2 * np.sin(2 * np.pi * BLEEP_HZ * times[inside]) if mute.bleep else 0.0
                samples[:, inside] = tone
        if not changed:
            return frame
        out = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, np.float32), format="fltp", layout=frame.layout.name
        )
        out.sample_rate, out.pts, out.time_base = rate, frame.pts, frame.time_base
        return out
