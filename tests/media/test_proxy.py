"""Review proxies from real phone clips: shape, browser-friendliness, timing, damage."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rushes.errors import ProbeError
from rushes.media.proxy import KEY_INTERVAL, Orientation, Proxy, make_audio_proxy, make_proxy
from tests.clips import AUDIO_SUFFIXES, make_audio, make_video, random_bytes_file, truncate_copy

DOORKNOB = "doorknob-hd-no-bar.mp4"  # 1280x720, 4.3 s, with audio
CHAIR = "chair-19-sd-bar.mp4"  # 480x720, 18.8 s, index (moov) first


def frame_times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return [f.pts * stream.time_base for f in c.decode(stream)]


def sound(path: Path) -> tuple[Fraction, np.ndarray]:
    """The time of the first decoded sample, and all samples mixed to mono at 48 kHz."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=48_000)
    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
    chunks = [r.to_ndarray().ravel() for f in frames for r in resampler.resample(f)]
    return frames[0].pts * frames[0].time_base, np.concatenate(chunks)


def top_level_atoms(path: Path) -> list[str]:
    names = []
    with open(path, "rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0] - 8
            names.append(kind.decode("latin-1"))
            f.seek(size - 8, 1)
    return names


def remux(src: Path, dst: Path, *, rotation: int = 0, shift: Fraction = Fraction(0)) -> Path:
    """Copy a clip's packets into a new container, turned or with its clock moved on."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        streams = {}
        for stream in inp.streams:
            streams[stream.index] = out.add_stream_from_template(stream)
        if rotation:
            streams[inp.streams.video[0].index].set_display_rotation(rotation)
        for packet in inp.demux():
            if packet.dts is None:
                continue
            ticks = round(shift / packet.time_base)
            packet.pts, packet.dts = packet.pts + ticks, packet.dts + ticks
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return dst


@pytest.fixture(scope="module")
def doorknob(fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Proxy:
    return make_proxy(fixtures_dir / DOORKNOB, tmp_path_factory.mktemp("p") / "360.mp4")


def test_360_rung_is_browser_ready(doorknob: Proxy) -> None:
    assert (doorknob.width, doorknob.height) == (640, 360)
    assert doorknob.complete and doorknob.audio
    with av.open(str(doorknob.path)) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        assert audio.codec_context.name == "aac"
        assert audio.codec_context.layout.nb_channels == 1
    atoms = top_level_atoms(doorknob.path)
    assert atoms.index("moov") < atoms.index("mdat"), atoms


def test_keyframe_at_least_every_second(doorknob: Proxy) -> None:
    with av.open(str(doorknob.path)) as c:
        stream = c.streams.video[0]
        keys = [p.pts * stream.time_base for p in c.demux(stream) if p.is_keyframe]
    gaps = np.diff([float(k) for k in keys])
    assert keys[0] == 0 and len(keys) >= 4
    assert gaps.max() <= KEY_INTERVAL + 1 / 30 + 1e-6, gaps


def test_frames_keep_their_original_times(fixtures_dir: Path, doorknob: Proxy) -> None:
    original = frame_times(fixtures_dir / DOORKNOB)
    proxied = frame_times(doorknob.path)
    assert proxied == original  # every frame, exactly, not just within a millisecond
    assert doorknob.origin == 0 and doorknob.frames == len(original)
    with av.open(str(fixtures_dir / DOORKNOB)) as a, av.open(str(doorknob.path)) as b:
        assert abs(a.duration - b.duration) <= 1_000  # microseconds
    assert doorknob.duration == pytest.approx(float(original[-1]) + 1 / 30)


def test_234_rung(fixtures_dir: Path, tmp_path: Path) -> None:
    proxy = make_proxy(fixtures_dir / DOORKNOB, tmp_path / "234.mp4", height=234)
    assert (proxy.width, proxy.height) == (416, 234)
    portrait = make_proxy(fixtures_dir / "pattern-sd-grey-bar.mp4", tmp_path / "p.mp4", height=234)
    assert (portrait.width, portrait.height) == (156, 234)


def test_rotation_is_applied(fixtures_dir: Path, tmp_path: Path) -> None:
    # A phone held portrait: stored landscape, to be turned a quarter clockwise for display.
    rotated = remux(fixtures_dir / DOORKNOB, tmp_path / "rotated.mp4", rotation=-90)
    proxy = make_proxy(rotated, tmp_path / "proxy.mp4")
    assert (proxy.width, proxy.height) == (202, 360)
    with av.open(str(rotated)) as c:
        stored = next(c.decode(video=0))
    with av.open(str(proxy.path)) as c:
        shown = next(c.decode(video=0))
    assert shown.rotation == 0  # upright pixels, no matrix left for players to apply
    expected = np.rot90(stored.reformat(360, 202, "gray").to_ndarray(), k=-1).astype(int)
    picture = shown.reformat(format="gray").to_ndarray().astype(int)
    assert np.abs(picture - expected).mean() < 4
    assert np.abs(picture - expected[::-1, ::-1]).mean() > 4 * np.abs(picture - expected).mean()
    assert frame_times(proxy.path) == frame_times(rotated)


@pytest.mark.parametrize(
    ("degrees", "hflip", "expected"),
    [
        (0, False, lambda a: a),
        (90, False, lambda a: np.rot90(a)),
        (-90, False, lambda a: np.rot90(a, -1)),
        (180, False, lambda a: np.rot90(a, 2)),
        (0, True, lambda a: a[:, ::-1]),
        (90, True, lambda a: np.rot90(a)[:, ::-1]),
    ],
)
def test_orientation_matches_the_display_matrix(
    tmp_path: Path, degrees: int, hflip: bool, expected
) -> None:
    """PyAV's degrees are counter-clockwise, flips come after the turn (FFmpeg's convention)."""
    path = tmp_path / "o.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(degrees, hflip=hflip)
        out.mux(stream.encode(av.VideoFrame(64, 32, "yuv420p")))
        out.mux(stream.encode())
    with av.open(str(path)) as c:
        orientation = Orientation.of(next(c.decode(video=0)))
    image = np.arange(6 * 4).reshape(4, 6)
    assert np.array_equal(orientation.apply(image), expected(image))


def test_vfr_timing_survives(tmp_path: Path) -> None:
    src = make_video(tmp_path / "vfr.mp4", seconds=2, vfr=True, size=(320, 240))
    proxy = make_proxy(src, tmp_path / "proxy.mp4")
    assert frame_times(proxy.path) == frame_times(src)


def test_start_offset_is_reported_and_kept(fixtures_dir: Path, tmp_path: Path) -> None:
    """A recorder whose clock starts at 600 s: the proxy starts at 0 and says where that is."""
    ts = remux(fixtures_dir / DOORKNOB, tmp_path / "clip.ts", shift=Fraction(600))
    proxy = make_proxy(ts, tmp_path / "proxy.mp4")
    assert 599.9 < proxy.origin <= 600  # audio may start a little before the picture
    original = frame_times(ts)
    assert frame_times(proxy.path) == [t - proxy.origin for t in original]


def test_truncated_source_gives_partial_proxy_and_reason(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    cut = truncate_copy(fixtures_dir / CHAIR, tmp_path / "cut.mp4", 0.5)
    proxy = make_proxy(cut, tmp_path / "proxy.mp4", height=234)
    assert not proxy.complete
    assert "picture ends at" in proxy.problem and "of 18.80 s" in proxy.problem
    assert 5 < proxy.duration < 15
    assert len(frame_times(proxy.path)) == proxy.frames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4", "proxy.mp4"]


def test_time_budget_stops_with_a_reason(fixtures_dir: Path, tmp_path: Path) -> None:
    proxy = make_proxy(fixtures_dir / CHAIR, tmp_path / "proxy.mp4", height=234, timeout=0.3)
    assert "budget" in proxy.problem
    assert 0 < proxy.frames < 564


@pytest.mark.parametrize("suffix", sorted({".m4a", ".mp3"} & set(AUDIO_SUFFIXES)))
def test_sound_only_proxy_keeps_its_times(tmp_path: Path, suffix: str) -> None:
    src = make_audio(tmp_path / f"voice{suffix}", seconds=2)
    proxy = make_audio_proxy(src, tmp_path / "proxy.m4a")
    assert proxy.complete and proxy.audio and (proxy.width, proxy.frames) == (0, 0)
    assert proxy.duration == pytest.approx(2.0, abs=0.03)
    with av.open(str(proxy.path)) as c:
        assert not c.streams.video
        audio = c.streams.audio[0].codec_context
        assert (audio.name, audio.layout.nb_channels) == ("aac", 1)
    atoms = top_level_atoms(proxy.path)
    assert atoms.index("moov") < atoms.index("mdat"), atoms
    # Proxy time t plays the original's sample at t + origin: the tones line up to the sample.
    start, original = sound(src)
    assert proxy.origin == start and sound(proxy.path)[0] == 0
    shown = sound(proxy.path)[1]
    window = original[12_000:60_000]
    lags = range(-480, 481)
    best = max(lags, key=lambda lag: float(window @ shown[12_000 + lag : 60_000 + lag]))
    assert best == 0


def test_truncated_sound_gives_partial_proxy_and_reason(tmp_path: Path) -> None:
    # FLAC states its length up front, so the proxy knows what it is missing.
    src = make_audio(tmp_path / "voice.flac", seconds=3)
    proxy = make_audio_proxy(truncate_copy(src, tmp_path / "cut.flac", 0.5), tmp_path / "p.m4a")
    assert 1.3 < proxy.duration < 1.6
    assert proxy.problem.startswith("sound ends at 1.") and "of 3.00 s" in proxy.problem


def test_nothing_to_proxy(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no video stream"):
        make_proxy(make_audio(tmp_path / "a.m4a"), tmp_path / "a.mp4")
    with pytest.raises(ProbeError, match="no sound stream"):
        make_audio_proxy(make_video(tmp_path / "mute.mp4", audio=False), tmp_path / "m.m4a")
    with pytest.raises(ProbeError, match="not a media file"):
        make_proxy(random_bytes_file(tmp_path / "x.mp4"), tmp_path / "proxy.mp4")
    assert not (tmp_path / "a.mp4").exists() and not (tmp_path / "m.m4a").exists()
    assert not list(tmp_path.glob(".*part"))
