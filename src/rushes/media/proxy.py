"""Review proxies: small MP4s that a director abroad can scrub in a browser on a poor link.

Timing contract: a proxy frame shown at time ``t`` is the original frame at ``t + origin``, where
``origin`` is the original's start time (0 for nearly every phone MP4), the same place players
put the original's zero. Source timestamps are kept, not regenerated: the encoder works in the
source stream's time base and every frame keeps its own PTS, so variable frame rate footage and
gaps survive and a note taken against the proxy points at the same original frame.

The picture is turned upright (the display matrix is applied, so no player has to), scaled to a
rung with even sides and square pixels, and keyed at least once a second so browsers can seek.
Sound becomes AAC mono; a recording with no picture gets a sound-only proxy (`make_audio_proxy`)
under the same timing contract. The MP4 index goes first (``+faststart``) so playback starts
before the download ends. The file is written beside ``dst`` and renamed into place, so a
reader never sees half a proxy.

Speed (one core, 1080p H.264 to 360p): decoding the original is most of the cost, so the
decoder skips H.264's deblocking filter (about 8 % of decoding). What the filter does, smoothing
8-pixel block edges, is a third of a pixel once scaled to 360p; its absence also drifts a little
through the GOP, as later frames predict from unfiltered ones. On the fixture clips, at proxy
size, the luma of frames decoded without it is 44-54 dB PSNR (median; 35 dB at the worst frame)
from the filtered decode, while the proxy as a whole is 31-44 dB from it: the skipped filter
adds about a tenth of the error the CRF 28 encode makes anyway. x264 at veryfast then costs
about a third of the decode; superfast would save 8 % of the time for 40 % more bytes, and
fast bilinear scaling saves nothing measurable over area averaging, which does not alias.

Damaged sources give as much proxy as can be decoded plus a ``problem`` saying what is missing.
Limits: the time budget is checked between packets and the I/O timeout covers reads, so a single
decoder call that never returns is not interrupted in-process; a caller that must bound that
too runs this in a worker process it can kill.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType
from av.video.reformatter import VideoReformatter

from rushes.errors import ProbeError
from rushes.media.container import open_input

#: Picture heights of the proxy ladder: 360 for review, 234 for the worst links.
RUNGS = (360, 234)
#: Longest stretch between keyframes, in seconds: what a browser decodes to land on a seek.
KEY_INTERVAL = 1.0
#: x264 speed/size trade-off. At veryfast, encoding 360p costs less than decoding a 1080p
#: original, so a slower preset would slow the whole job for a few percent of size.
PRESET = "veryfast"
#: Constant quality; VBV caps below keep bursts within a poor link.
CRF = 28
AUDIO_KBPS = 64
_AAC_RATES = (48_000, 44_100, 32_000, 24_000, 22_050, 16_000)
_AAC_FRAME = 1024
_IO_TIMEOUT = 30.0  # seconds one open or read may stall before FFmpeg gives up


@dataclass(frozen=True)
class Orientation:
    """How to turn a stored picture upright, read from its display matrix.

    Applied to arrays indexed ``[row, column]``: transpose first, then reverse rows/columns.
    The eight combinations cover every rotation by a quarter turn, mirrored or not.
    """

    transpose: bool = False
    flip_rows: bool = False
    flip_cols: bool = False

    @classmethod
    def of(cls, frame: av.VideoFrame) -> Orientation:
        """Read the frame's DISPLAYMATRIX side data (the decoder copies the container's)."""
        side = frame.side_data.get("DISPLAYMATRIX")
        if side is None:
            return cls()
        # FFmpeg maps a stored pixel (x, y) to display (a*x + c*y, b*x + d*y), y pointing down.
        a, b, _, c, d = np.frombuffer(side, dtype=np.int32)[:5].tolist()
        if abs(a) >= abs(b):  # nearest quarter turn keeps the axes
            return cls(False, flip_rows=d < 0, flip_cols=a < 0)
        return cls(True, flip_rows=b < 0, flip_cols=c < 0)

    @property
    def identity(self) -> bool:
        return not (self.transpose or self.flip_rows or self.flip_cols)

    def size(self, width: int, height: int) -> tuple[int, int]:
        """Upright (width, height) of a stored picture of this size."""
        return (height, width) if self.transpose else (width, height)

    def apply(self, array: np.ndarray) -> np.ndarray:
        """Turn an image array (rows, columns[, channels]) upright."""
        if self.transpose:
            array = array.swapaxes(0, 1)
        if self.flip_rows:
            array = array[::-1]
        if self.flip_cols:
            array = array[:, ::-1]
        return np.ascontiguousarray(array)

    def upright_rgb(self, frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
        """``frame`` as RGB, turned upright and scaled to ``width`` x ``height`` (upright)."""
        stored_w, stored_h = self.size(width, height)
        # Averaged when shrunk: CenterFace scores a face shrunk so higher than one shrunk
        # bilinearly.
        how = "AREA" if stored_w < frame.width else "BILINEAR"
        picture = frame.reformat(stored_w, stored_h, "rgb24", interpolation=how)
        return self.apply(picture.to_ndarray())

    def apply_frame(self, frame: av.VideoFrame) -> av.VideoFrame:
        """Turn a yuv420p frame upright, plane by plane (cheap once the frame is small)."""
        if self.identity:
            return frame
        w, h = frame.width, frame.height
        flat = frame.to_ndarray().reshape(-1)
        luma, chroma = w * h, (w // 2) * (h // 2)
        planes = (
            flat[:luma].reshape(h, w),
            flat[luma : luma + chroma].reshape(h // 2, w // 2),
            flat[luma + chroma :].reshape(h // 2, w // 2),
        )
        upright_w, _ = self.size(w, h)
        packed = np.concatenate([self.apply(p).reshape(-1) for p in planes])
        return av.VideoFrame.from_ndarray(packed.reshape(-1, upright_w), format="yuv420p")


@dataclass(frozen=True)
class Proxy:
    """A proxy that was written, and what of the original it lacks, if anything."""

    path: Path
    width: int  # 0 (and no frames) for a sound-only proxy
    height: int
    frames: int
    duration: float  # seconds from proxy time 0 to the end of the last frame, or of the sound
    audio: bool
    origin: Fraction  # original time (s) shown at proxy time 0
    problem: str | None = None  # why part of the original is missing from the proxy

    @property
    def complete(self) -> bool:
        return self.problem is None


def make_proxy(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    height: int = 360,
    crf: int = CRF,
    timeout: float | None = None,
    threads: int = 0,
) -> Proxy:
    """Write an upright H.264/AAC MP4 proxy of ``src`` at ``dst``; see the module docstring.

    ``height`` is the upright picture height (a small source is not enlarged). ``timeout`` is
    the wall-clock budget in seconds (default: 60 s plus four times the duration); past it the
    proxy stops where it is and says so. ``threads`` = 0 lets FFmpeg choose; 1 keeps the job on
    one core, for workers that run several jobs side by side.

    Raises ProbeError when ``src`` cannot be opened or yields no picture at all.
    """
    [proxy] = make_proxies(src, [(dst, height)], crf=crf, timeout=timeout, threads=threads)
    return proxy


def make_proxies(
    src: str | os.PathLike[str],
    rungs: list[tuple[str | os.PathLike[str], int]],
    *,
    crf: int = CRF,
    timeout: float | None = None,
    threads: int = 0,
) -> list[Proxy]:
    """Write a proxy of ``src`` at each (dst, height) of ``rungs`` from one decode of it. Each
    is the file `make_proxy` would write alone; ``timeout`` is the budget of the whole pass.
    Measured for the 360/234 ladder against one pass per rung: 0.72 of the time on a 1080p
    H.264 clip, 0.91 on the SD fixture clips (there encoding costs more than decoding)."""
    for _, height in rungs:
        if height < 16 or height % 2:
            raise ValueError(f"proxy height must be an even number of pixels >= 16, not {height}")
    orientation, upright = _first_picture(Path(src))
    pictures = [_Picture(orientation, proxy_size(*upright, h), crf) for _, h in rungs]
    return _write(Path(src), [Path(dst) for dst, _ in rungs], pictures, threads, timeout)


def make_audio_proxy(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, timeout: float | None = None
) -> Proxy:
    """Write an AAC mono MP4 (M4A) of the sound of ``src`` at ``dst``, for a recording with no
    picture. Timing, ``timeout`` and damage are handled as by `make_proxy`; one thread.

    Raises ProbeError when ``src`` cannot be opened or has no sound.
    """
    [proxy] = _write(Path(src), [Path(dst)], [None], 1, timeout)
    return proxy


def proxy_size(width: int, height: int, target: int) -> tuple[int, int]:
    """Even (width, height) for an upright square-pixel picture, ``target`` lines at most."""
    out_h = min(target, height - height % 2)
    out_w = round(width * out_h / height / 2) * 2
    return max(out_w, 2), max(out_h, 2)


@dataclass(frozen=True)
class _Picture:
    """What one rung's video encoder needs before the first packet is muxed."""

    orientation: Orientation
    size: tuple[int, int]  # upright (width, height) of the proxy
    crf: int


def _first_picture(src: Path) -> tuple[Orientation, tuple[int, int]]:
    """The orientation and upright size of the first frame, decoded on a separate open so the
    main pass needs no rewind."""
    with open_input(src, timeout=_IO_TIMEOUT) as inp:
        if not inp.streams.video:
            raise ProbeError(f"{src}: has no video stream, so no picture proxy can be made")
        stream = inp.streams.best("video")
        sar = stream.sample_aspect_ratio or Fraction(1)
        try:
            for frame in inp.decode(stream):
                orientation = Orientation.of(frame)
                return orientation, orientation.size(round(frame.width * sar), frame.height)
        except av.FFmpegError as e:
            raise ProbeError(f"{src}: the picture cannot be decoded ({e})") from e
    raise ProbeError(f"{src}: the video stream holds no decodable picture")


def _write(
    src: Path,
    dsts: list[Path],
    pictures: list[_Picture | None],
    threads: int,
    timeout: float | None,
) -> list[Proxy]:
    """Transcode into part files beside each of ``dsts``, then rename them into place."""
    # Not mkstemp: its 0600 mode would survive the rename and hide the proxy from the web server.
    parts = [dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.part") for dst in dsts]
    try:
        with open_input(src, timeout=_IO_TIMEOUT) as inp:
            transcoder = _Transcoder(
                inp, [_Rung(*each) for each in zip(parts, pictures, strict=True)], threads
            )
            proxies = transcoder.run(dsts, timeout)
        for part, dst in zip(parts, dsts, strict=True):
            os.replace(part, dst)
    except BaseException:
        for part in parts:
            part.unlink(missing_ok=True)
        raise
    return proxies


class _Rung:
    """One proxy being written: its part file, container, encoders and scaler."""

    out: av.container.OutputContainer
    v_out: av.video.stream.VideoStream | None
    a_out: av.audio.stream.AudioStream | None

    def __init__(self, part: Path, picture: _Picture | None) -> None:
        self.part, self.picture = part, picture
        self.scaler = VideoReformatter()  # one each: a shared one would rebuild per size


class _Transcoder:
    """One pass over the source: decode once, then for each rung scale, turn upright, encode,
    mux; sound only when the rung's picture is None."""

    def __init__(
        self,
        inp: av.container.InputContainer,
        rungs: list[_Rung],
        threads: int,
    ) -> None:
        self.inp, self.rungs, self.threads = inp, rungs, threads
        pictured = rungs[0].picture is not None
        self.video = inp.streams.best("video") if pictured else None
        if self.video is not None:
            ctx = self.video.codec_context
            ctx.thread_type = "AUTO"
            ctx.thread_count = threads
            ctx.options = {"skip_loop_filter": "all"}  # see the module docstring
        audio = inp.streams.best("audio")
        self.audio = audio if audio is not None and audio.codec_context is not None else None
        if self.video is None and self.audio is None:
            raise ProbeError(f"{inp.name}: has no sound stream, so no sound proxy can be made")
        self.clock = self.video or self.audio  # the stream whose end the proxy is checked against
        self.what = "picture" if self.video is not None else "sound"
        starts = [
            s.start_time * s.time_base
            for s in (self.video, self.audio)
            if s is not None and s.start_time is not None
        ]
        self.origin = min(starts, default=Fraction(0))
        # Ticks of the video clock from the original's zero to the proxy's.
        self.shift = round(self.origin / self.video.time_base) if self.video is not None else 0
        self.next_key = 0.0
        self.last_pts: int | None = None
        self.frames = 0  # of the clock stream
        self.end = 0.0
        self.errors = {"video": 0, "audio": 0}
        self.untimed = 0
        self.notes: list[str] = []

    def run(self, dsts: list[Path], timeout: float | None) -> list[Proxy]:
        duration = self.inp.duration / av.time_base if self.inp.duration else 0.0
        budget = timeout if timeout is not None else 60.0 + 4 * duration
        deadline = time.monotonic() + budget
        if self.audio is not None:
            self.resampler = av.AudioResampler(
                format="fltp", layout="mono", rate=self.a_rate, frame_size=_AAC_FRAME
            )
        # The movie timescale is what edit lists (a start offset, AAC priming) are counted in;
        # the default, 1000, would round a picture that starts late to the millisecond.
        options = {"movflags": "+faststart", "movie_timescale": str(self._timescale())}
        with contextlib.ExitStack() as stack:
            for rung in self.rungs:
                rung.out = stack.enter_context(
                    av.open(str(rung.part), "w", format="mp4", container_options=options)
                )
                rung.v_out = self._add_video(rung) if self.video is not None else None
                rung.a_out = self._add_audio(rung) if self.audio is not None else None
            self._pump(deadline, budget)
            if self.audio is not None:
                self._audio_frames(None)
            for rung in self.rungs:
                for stream in (rung.v_out, rung.a_out):
                    if stream is not None:
                        rung.out.mux(stream.encode())
        if self.frames == 0:
            raise ProbeError(f"{self.inp.name}: no {self.what} could be decoded; {self._problem()}")
        self._check_end()
        problem = self._problem() or None
        frames = self.frames if self.video is not None else 0
        has_audio = self.audio is not None
        proxies = []
        for rung, dst in zip(self.rungs, dsts, strict=True):
            w, h = rung.picture.size if rung.picture is not None else (0, 0)
            proxies.append(Proxy(dst, w, h, frames, self.end, has_audio, self.origin, problem))
        return proxies

    def _timescale(self) -> int:
        if self.video is None:
            return self.a_rate
        ticks = self.video.time_base.denominator
        return ticks if ticks < 2**31 else 90_000

    @property
    def a_rate(self) -> int:
        """The proxy's sample rate: the original's, if AAC has it."""
        rate = self.audio.codec_context.sample_rate
        return rate if rate in _AAC_RATES else 48_000

    def _add_video(self, rung: _Rung) -> av.video.stream.VideoStream:
        w, h = rung.picture.size
        rate = self.video.average_rate or self.video.guessed_rate or Fraction(30)
        kbps = round(700 * (h / 360) ** 2)  # ~700 kbit/s peak at 360p, by area below it
        stream = rung.out.add_stream(
            "libx264",
            rate=rate,
            options={
                "preset": PRESET,
                "crf": str(rung.picture.crf),
                "maxrate": f"{kbps}k",
                "bufsize": f"{2 * kbps}k",
                "forced-idr": "1",  # the keyframes forced below are real seek points
            },
        )
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        # Keep the source's clock: no timestamp is ever rounded to a nominal frame rate.
        stream.time_base = self.video.time_base
        stream.codec_context.time_base = self.video.time_base
        # Keyframes come from timestamps (VFR-proof); this only bounds broken clocks.
        stream.codec_context.gop_size = max(1, math.ceil(2 * KEY_INTERVAL * rate))
        stream.codec_context.thread_count = self.threads
        return stream

    def _add_audio(self, rung: _Rung) -> av.audio.stream.AudioStream:
        stream = rung.out.add_stream("aac", rate=self.a_rate, layout="mono")
        stream.bit_rate = AUDIO_KBPS * 1000
        return stream

    def _pump(self, deadline: float, budget: float) -> None:
        streams = [s for s in (self.video, self.audio) if s is not None]
        packets = self.inp.demux(streams)
        while True:
            if time.monotonic() > deadline:
                self.notes.append(f"stopped at {self.end:.2f} s: over the {budget:.0f} s budget")
                return
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError as e:
                self.notes.append(f"source unreadable after {self.end:.2f} s ({e})")
                return
            try:
                frames = packet.decode()
            except av.FFmpegError:
                self.errors[packet.stream.type] += 1
                continue
            for frame in frames:
                if isinstance(frame, av.VideoFrame):
                    self._video_frame(frame)
                else:
                    self._audio_frames(frame)

    def _video_frame(self, frame: av.VideoFrame) -> None:
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None or (self.last_pts is not None and pts <= self.last_pts):
            self.untimed += 1  # no place on the original's clock: leave it out
            return
        self.last_pts = pts
        tb = self.video.time_base
        at = float((pts - self.shift) * tb)
        key = at >= self.next_key
        if key:
            self.next_key = (math.floor(at / KEY_INTERVAL) + 1) * KEY_INTERVAL
        for rung in self.rungs:
            orientation = rung.picture.orientation
            w, h = orientation.size(*rung.picture.size)
            scaled = rung.scaler.reformat(
                frame,
                w,
                h,
                "yuv420p",
                interpolation="AREA",
                dst_color_range="MPEG",  # what browsers assume for H.264
                threads=self.threads,
            )
            upright = orientation.apply_frame(scaled)
            upright.pts = pts - self.shift
            upright.time_base = tb
            if key:
                upright.pict_type = PictureType.I
            rung.out.mux(rung.v_out.encode(upright))
        self.frames += 1
        period = frame.duration * tb if frame.duration else 0
        self.end = at + float(period)

    def _audio_frames(self, frame: av.AudioFrame | None) -> None:
        if frame is not None and frame.pts is not None:
            frame.pts -= round(self.origin / frame.time_base)
            if self.video is None:
                self.frames += 1
                self.end = float(frame.pts * frame.time_base) + frame.samples / frame.sample_rate
        try:
            for resampled in self.resampler.resample(frame):
                for rung in self.rungs:
                    rung.out.mux(rung.a_out.encode(resampled))
        except av.FFmpegError:
            self.errors["audio"] += 1

    def _check_end(self) -> None:
        tb = self.clock.time_base
        if self.clock.duration:
            expected = float((self.clock.start_time or 0) * tb + self.clock.duration * tb)
            rate = self.video.average_rate if self.video is not None else None
            slack = 2 / float(rate or 30)  # two frames, or a few frames of sound of any codec
        elif self.inp.duration:
            expected, slack = self.inp.duration / av.time_base, 1.0
        else:
            return
        expected -= float(self.origin)
        if self.end < expected - slack:
            self.notes.append(f"{self.what} ends at {self.end:.2f} s of {expected:.2f} s")

    def _problem(self) -> str:
        notes = list(self.notes)
        for kind, count in self.errors.items():
            if count:
                notes.append(f"{count} {kind} packet(s) could not be decoded")
        if self.untimed:
            notes.append(f"{self.untimed} frame(s) without a usable timestamp left out")
        return "; ".join(notes)
