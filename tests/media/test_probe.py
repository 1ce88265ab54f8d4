"""probe() on real files: generated clips and photos, phone footage, and broken input."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from rushes.errors import ProbeError
from rushes.media.capture import parse_iso6709
from rushes.media.probe import MediaInfo, probe, strip_sensitive
from tests.clips import (
    AUDIO_SUFFIXES,
    VIDEO_CODECS,
    iso6709,
    make_audio,
    make_photo,
    make_video,
    random_bytes_file,
    truncate_copy,
)

DAMASCUS = (33.5138, 36.2765, 12.0)
TAKEN = datetime(2016, 4, 12, 10, 33, 21, tzinfo=timezone(timedelta(hours=3)))
CODEC_CASES = [(suffix, codec) for suffix, codecs in VIDEO_CODECS.items() for codec in codecs]
CONTAINER_NAMES = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
AUDIO_IN = {".mp4": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "opus", ".avi": "pcm_s16le"}
ROTATIONS = [(".mp4", 0), (".mp4", 90), (".mp4", 180), (".mp4", 270), (".mkv", 90), (".webm", 270)]

# The ThreatExchange phone clips: (width, height, seconds, has audio). All H.264 at 30 fps.
FOOTAGE = {
    "chair-19-sd-bar.mp4": (480, 720, 18.8, True),
    "chair-20-sd-bar.mp4": (480, 720, 20.48, True),
    "chair-22-sd-grey-bar.mp4": (480, 720, 22.44, True),
    "chair-22-sd-sepia-bar.mp4": (480, 720, 22.44, True),
    "chair-22-with-large-logo-bar.mp4": (480, 720, 22.44, True),
    "chair-22-with-small-logo-bar.mp4": (480, 720, 22.44, True),
    "chair-orig-22-sd-bar.mp4": (480, 720, 22.46, True),
    "doorknob-hd-no-bar.mp4": (1280, 720, 4.31, True),
    "pattern-hd-no-bar.mp4": (720, 1280, 6.87, True),
    "pattern-longer-no-bar.mp4": (720, 1280, 8.15, True),
    "pattern-sd-grey-bar.mp4": (480, 720, 6.87, True),
    "pattern-sd-with-large-logo-bar.mp4": (480, 720, 6.87, True),
    "pattern-sd-with-small-logo-bar.mp4": (480, 720, 6.87, True),
    "test-padded-dimensions.mp4": (1080, 1080, 5.0, False),
}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every generated file the module uses, made once."""
    d = tmp_path_factory.mktemp("probe")
    files = {
        f"{codec}{suffix}": make_video(d / f"{codec}{suffix}", codec=codec)
        for suffix, codec in CODEC_CASES
    }
    for suffix, degrees in ROTATIONS:
        files[f"rot{degrees}{suffix}"] = make_video(
            d / f"rot{degrees}{suffix}",
            rotation=degrees,
            audio=False,
            codec="vp9" if suffix == ".webm" else "h264",
        )
    for suffix in (".mp4", ".mkv", ".webm"):
        codec = "vp9" if suffix == ".webm" else "h264"
        files[f"vfr{suffix}"] = make_video(d / f"vfr{suffix}", codec=codec, seconds=2, vfr=True)
        files[f"ntsc{suffix}"] = make_video(
            d / f"ntsc{suffix}", codec=codec, fps=Fraction(30000, 1001)
        )
    for suffix in AUDIO_SUFFIXES:
        files[f"audio{suffix}"] = make_audio(d / f"audio{suffix}")
    tags = {"gps": DAMASCUS, "creation_time": TAKEN, "make": "Apple", "model": "iPhone 6"}
    files["iphone.mov"] = make_video(d / "iphone.mov", **tags)
    files["android.mp4"] = make_video(d / "android.mp4", **tags)
    files["ffmpeg.mkv"] = make_video(d / "ffmpeg.mkv", **{**tags, "gps": (-33.45, -70.6667)})
    files["nowhere.mkv"] = make_video(d / "nowhere.mkv", gps=(0.0, 0.0))
    files["offworld.mkv"] = make_video(d / "offworld.mkv", gps=(95.0, 200.0))
    files["photo.jpg"] = make_photo(d / "photo.jpg", gps=DAMASCUS, taken_at=TAKEN, make="Canon")
    files["silent.mp4"] = make_video(d / "silent.mp4", audio=False)
    files["moov-last.mp4"] = make_video(d / "moov-last.mp4", seconds=2)
    files["moov-first.mp4"] = make_video(d / "moov-first.mp4", seconds=2, faststart=True)
    return files


@pytest.mark.parametrize(("suffix", "codec"), CODEC_CASES)
def test_every_codec_and_container(made: dict[str, Path], suffix: str, codec: str) -> None:
    info = probe(made[f"{codec}{suffix}"])
    assert info.kind == "video"
    assert CONTAINER_NAMES[suffix] in info.container.split(",")
    assert info.duration_s == pytest.approx(1.0, abs=0.1)
    assert (info.size.width, info.size.height, info.size.rotation) == (160, 120, 0)
    assert info.frame_rate == "30/1" and not info.vfr
    video, audio = info.streams
    assert (video.type, video.codec, video.width, video.height) == ("video", codec, 160, 120)
    assert video.pix_fmt == "yuv420p" and Fraction(video.time_base) > 0
    assert (audio.type, audio.codec, audio.channels, audio.sample_rate) == (
        "audio",
        AUDIO_IN[suffix],
        2,
        48_000,
    )
    assert json.loads(json.dumps(info.as_dict())) == info.as_dict()


@pytest.mark.parametrize(("suffix", "degrees"), ROTATIONS)
def test_rotation_reads_back_and_turns_the_display_size(
    made: dict[str, Path], suffix: str, degrees: int
) -> None:
    size = probe(made[f"rot{degrees}{suffix}"]).size
    assert (size.width, size.height, size.rotation) == (160, 120, degrees)
    upright = (120, 160) if degrees in (90, 270) else (160, 120)
    assert (size.display_width, size.display_height) == upright


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm"])
def test_variable_frame_rate_is_detected(made: dict[str, Path], suffix: str) -> None:
    info = probe(made[f"vfr{suffix}"])
    assert info.vfr
    # Frames last 0.5 to 2 periods of 30 fps, so the mean rate lies between 15 and 60.
    assert 15 < Fraction(info.frame_rate) < 60


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm"])
def test_ntsc_rate_is_exact_and_constant(made: dict[str, Path], suffix: str) -> None:
    info = probe(made[f"ntsc{suffix}"])
    assert info.frame_rate == "30000/1001" and not info.vfr


@pytest.mark.parametrize("suffix", AUDIO_SUFFIXES)
def test_audio_only_files(made: dict[str, Path], suffix: str) -> None:
    info = probe(made[f"audio{suffix}"])
    assert info.kind == "audio" and info.size is None and info.frame_rate is None
    assert info.duration_s == pytest.approx(1.0, abs=0.05)
    (stream,) = info.streams
    assert (stream.type, stream.channels, stream.sample_rate) == ("audio", 2, 48_000)


def test_video_without_audio(made: dict[str, Path]) -> None:
    info = probe(made["silent.mp4"])
    assert info.kind == "video" and [s.type for s in info.streams] == ["video"]


def test_iphone_tags_keep_the_local_offset(made: dict[str, Path]) -> None:
    info = probe(made["iphone.mov"])
    assert info.created_at == "2016-04-12T10:33:21+03:00"
    assert info.created_at_utc == "2016-04-12T07:33:21Z"
    assert info.created_at_source == "com.apple.quicktime.creationdate"
    assert info.location.source == "com.apple.quicktime.location.ISO6709"
    assert (info.location.latitude, info.location.longitude, info.location.altitude) == DAMASCUS
    assert (info.device.make, info.device.model) == ("Apple", "iPhone 6")


def test_android_tags_have_only_utc(made: dict[str, Path]) -> None:
    info = probe(made["android.mp4"])
    assert info.created_at == info.created_at_utc == "2016-04-12T07:33:21Z"
    assert info.created_at_source == "creation_time"
    assert info.location.source == "location"
    assert (info.location.latitude, info.location.longitude) == DAMASCUS[:2]
    assert (info.device.make, info.device.model) == ("Apple", "iPhone 6")


def test_matroska_tags_and_the_southern_hemisphere(made: dict[str, Path]) -> None:
    info = probe(made["ffmpeg.mkv"])
    assert info.created_at_utc == "2016-04-12T07:33:21Z"
    assert (info.location.latitude, info.location.longitude) == (-33.45, -70.6667)
    assert info.location.altitude is None and info.location.source == "LOCATION"
    assert (info.device.make, info.device.model) == ("Apple", "iPhone 6")


@pytest.mark.parametrize("name", ["nowhere.mkv", "offworld.mkv", "silent.mp4"])
def test_no_fix_or_an_impossible_place_is_no_location(made: dict[str, Path], name: str) -> None:
    assert probe(made[name]).location is None


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_photo_exif(tmp_path: Path, suffix: str) -> None:
    photo = make_photo(
        tmp_path / f"IMG_0001{suffix}",
        gps=(-33.5138, 36.2765, -5.5),
        taken_at=TAKEN,
        make="samsung",
        model="SM-A515F",
        software="A515FXXU4",
        rotation=90,
    )
    info = probe(photo)
    assert (info.kind, info.container) == ("image", suffix.lstrip(".").replace("jpg", "jpeg"))
    assert info.duration_s is None and info.streams == ()
    assert (info.size.width, info.size.height, info.size.rotation) == (160, 120, 90)
    assert (info.size.display_width, info.size.display_height) == (120, 160)
    assert info.created_at == "2016-04-12T10:33:21+03:00"
    assert info.created_at_utc == "2016-04-12T07:33:21Z"
    assert info.created_at_source == "EXIF:DateTimeOriginal"
    assert info.location.latitude == pytest.approx(-33.5138, abs=1e-6)
    assert info.location.longitude == pytest.approx(36.2765, abs=1e-6)
    assert info.location.altitude == -5.5 and info.location.source == "EXIF:GPSInfo"
    assert (info.device.make, info.device.model, info.device.software) == (
        "samsung",
        "SM-A515F",
        "A515FXXU4",
    )


def test_photo_time_without_offset_has_no_utc(tmp_path: Path) -> None:
    info = probe(make_photo(tmp_path / "a.jpg", taken_at=TAKEN.replace(tzinfo=None)))
    assert (info.created_at, info.created_at_utc) == ("2016-04-12T10:33:21", None)


def test_photo_with_mangled_exif_is_still_a_photo(tmp_path: Path) -> None:
    data = bytearray(make_photo(tmp_path / "a.jpg", make="Canon").read_bytes())
    start = data.index(b"Exif\x00\x00") + 6
    data[start : start + 8] = b"GARBAGE!"
    (tmp_path / "b.jpg").write_bytes(data)
    info = probe(tmp_path / "b.jpg")
    assert info.kind == "image" and info.device is None


def test_a_still_image_ffmpeg_reads_is_an_image(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(tmp_path / "a.bmp")
    info = probe(tmp_path / "a.bmp")
    assert (info.kind, info.size.width, info.size.height, info.frame_rate) == (
        "image",
        60,
        40,
        None,
    )


def test_public_dict_strips_location_and_device(made: dict[str, Path]) -> None:
    info = probe(made["iphone.mov"])
    full, public = info.as_dict(), info.public_dict()
    assert full["location"]["latitude"] == DAMASCUS[0] and full["device"]["make"] == "Apple"
    assert set(full) - set(public) == {"location", "device"}
    shared = json.dumps(public)
    assert "33.51" not in shared and "Apple" not in shared and "iPhone" not in shared
    assert strip_sensitive(full) == public
    assert set(public) == {f for f in MediaInfo.__dataclass_fields__} - {"location", "device"}


@pytest.mark.parametrize("name", sorted(FOOTAGE))
def test_real_phone_footage(fixtures_dir: Path, name: str) -> None:
    width, height, seconds, has_audio = FOOTAGE[name]
    info = probe(fixtures_dir / name)
    assert info.kind == "video" and info.container.startswith("mov,mp4")
    assert info.duration_s == pytest.approx(seconds, abs=0.05)
    assert (info.size.width, info.size.height, info.size.rotation) == (width, height, 0)
    assert info.frame_rate == "30/1" and not info.vfr
    assert info.streams[0].codec == "h264" and info.streams[0].time_base == "1/15360"
    assert [s.type for s in info.streams] == (["video", "audio"] if has_audio else ["video"])
    assert info.location is None and info.device is None


def test_a_truncated_mp4_with_its_index_up_front_gives_what_it_can(
    made: dict[str, Path], tmp_path: Path
) -> None:
    info = probe(truncate_copy(made["moov-first.mp4"], tmp_path / "half.mp4", 0.5))
    assert info.kind == "video" and (info.size.width, info.size.height) == (160, 120)
    assert info.duration_s == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize(
    ("source", "fraction", "reason"),
    [
        ("moov-last.mp4", 0.4, "truncated: the MP4 index (moov) is missing"),
        ("moov-last.mp4", 0.95, "truncated: the MP4 index (moov) is missing"),
        ("moov-first.mp4", 0.01, "damaged: the file's index is cut short or corrupt"),
    ],
)
def test_a_truncated_mp4_without_its_index_is_refused(
    made: dict[str, Path], tmp_path: Path, source: str, fraction: float, reason: str
) -> None:
    cut = truncate_copy(made[source], tmp_path / "cut.mp4", fraction)
    with pytest.raises(ProbeError) as raised:
        probe(cut)
    assert raised.value.reason.startswith(reason)


def test_a_header_claiming_an_impossible_picture_says_so(tmp_path: Path) -> None:
    """FFmpeg answers "Device or resource busy" here; its log says what really happened."""
    forged = tmp_path / "forged.y4m"
    forged.write_bytes(b"YUV4MPEG2 W60000 H60000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(64))
    with pytest.raises(ProbeError) as raised:
        probe(forged)
    assert raised.value.reason == (
        "damaged header: it claims a 60000×60000 picture, which no decoder accepts"
    )


def test_bad_input_raises_probe_error(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    # Long enough that FFmpeg's ANSI-art demuxer claims it, which probe() must not accept.
    (tmp_path / "notes.txt").write_text("hello world\nthis is not a video\n" * 20)
    (tmp_path / "short.txt").write_text("not a video")
    (tmp_path / "subs.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nhello\n\n")
    cases = {
        "empty.mp4": "empty file",
        "notes.txt": "not a media file",
        "short.txt": "not a media file",
        "subs.srt": "no decodable streams",
        "missing.mp4": "cannot read",
        ".": "not a regular file",
    }
    for seed in range(5):
        random_bytes_file(tmp_path / f"random{seed}.mp4", 20_000, seed=seed)
        cases[f"random{seed}.mp4"] = "not a media file"
    for name, reason in cases.items():
        with pytest.raises(ProbeError, match=reason):
            probe(tmp_path / name)


@pytest.mark.parametrize(
    "name", ["iphone.mov", "moov-first.mp4", "ffmpeg.mkv", "audio.m4a", "photo.jpg"]
)
def test_damaged_files_give_what_they_can_or_probe_error(
    made: dict[str, Path], tmp_path: Path, name: str
) -> None:
    data = np.frombuffer(made[name].read_bytes(), np.uint8)
    rng = np.random.default_rng(0)
    damaged = tmp_path / name
    for _ in range(25):
        copy = data.copy()
        spots = rng.integers(0, min(len(data), 4096), 8)  # headers, index, EXIF
        copy[spots] = rng.integers(0, 256, 8)
        damaged.write_bytes(copy.tobytes())
        with contextlib.suppress(ProbeError):
            assert isinstance(probe(damaged), MediaInfo)


@given(
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.none() | st.floats(-500, 9000),
)
def test_iso6709_round_trip(lat: float, lon: float, alt: float | None) -> None:
    parsed = parse_iso6709(iso6709(lat, lon, alt))
    assert parsed is not None
    assert parsed[0] == pytest.approx(lat, abs=5e-5) and parsed[1] == pytest.approx(lon, abs=5e-5)
    assert parsed[2] is None if alt is None else parsed[2] == pytest.approx(alt, abs=5e-4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+33.5138+036.2765/", (33.5138, 36.2765, None)),
        ("-33.5138-070.6667+012.000/", (-33.5138, -70.6667, 12.0)),
        ("+3330.828+03616.59/", (33.5138, 36.27650, None)),  # degrees and minutes
        ("+333049.68-0361635.4/", (33.5138, -36.27650, None)),  # degrees, minutes, seconds
        ("+33.5138+36.2765/", (33.5138, 36.2765, None)),  # longitude without its leading zero
        ("+33.5138+036.2765CRSWGS_84/", (33.5138, 36.2765, None)),
    ],
)
def test_iso6709_forms(text: str, expected: tuple[float, float, float | None]) -> None:
    assert parse_iso6709(text) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    "text", ["", "garbage", "+33.5138/", "33.5138 36.2765", "+3375.00+03616.59/", "+33.5+0361/"]
)
def test_iso6709_garbage(text: str) -> None:
    assert parse_iso6709(text) is None


def test_clips_move_and_key_where_asked(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "a.mp4", gop=10, audio=False)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        keys = [p.pts for p in container.demux(stream) if p.is_keyframe]
        container.seek(0)
        frames = [f.to_ndarray(format="gray") for f in container.decode(stream)]
    assert [round(k * stream.time_base * 30) for k in keys] == [0, 10, 20]
    assert all(
        np.abs(a.astype(int) - b).mean() > 1 for a, b in zip(frames, frames[1:], strict=False)
    )
    other = make_video(tmp_path / "b.mp4", seed=1, audio=False)
    with av.open(str(other)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="gray")
    assert np.abs(first.astype(int) - frames[0]).mean() > 10
