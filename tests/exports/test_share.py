"""Share copies end to end: a clip with faces, GPS and device tags ingested, a region and a
sound redacted, `rushes export share` run as a command; the copy read back frame by frame and
tag by tag; the custody log and the manifest checked."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import select

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import CustodyEvent, User
from rushes.ingest import Ingest
from rushes.media.redact import Keyframe, Region
from rushes.review import accounts, redactions
from rushes.review.access import Role, viewer_for
from rushes.review.projects import create_project
from tests.clips import make_video
from tests.conftest import Env
from tests.faces import decoded, face_clip, hidden_share

# What an MP4 carries by its format alone, naming nobody and no place.
HARMLESS = {"major_brand", "minor_version", "compatible_brands", "language", "handler_name",
            "vendor_id"}  # fmt: skip
# What FFmpeg's muxer (Lavf), its encoders (Lavc: the AAC one, in the sound itself) and x264
# write of themselves unless told not to.
ENCODERS = (b"x264", b"libx264", b"Lavf", b"Lavc", b"FFmpeg")


def assert_carries_nothing_identifying(copy: Path, *secrets: bytes) -> None:
    """No tag naming a place, device, date or file in the container or its streams, no side
    data on any frame, and none of ``secrets`` (nor an encoder's name) anywhere in the bytes."""
    with av.open(str(copy)) as shared:
        tags = dict(shared.metadata)
        for stream in shared.streams:
            tags |= dict(stream.metadata)
        assert set(tags) <= HARMLESS, tags
        assert all(not frame.side_data for frame in shared.decode(video=0))
    data = copy.read_bytes()
    for secret in (*secrets, *ENCODERS):
        assert secret not in data, secret


# The faces' work is the same on either database and costs the most here; the share's records on
# SQLite run in test_share_credentials.py and tests/web/test_share_copies.py.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_share_copy_hides_faces_regions_and_sound_and_carries_no_metadata(
    env: Env, base: Base, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    shot = face_clip(
        card / "RAHED_0412_hospital.mp4",
        seconds=3.0,
        heights=(40, 160),
        gps=(36.2021, 37.1343),
        creation_time=datetime(2016, 4, 12, 9, 30, tzinfo=UTC),
        make="Acme",
        model="ZPhone 9",
    )
    with av.open(str(shot.path)) as original:
        assert (
            "location" in original.metadata and original.metadata["com.android.model"] == "ZPhone 9"
        )
    sha = hashlib.sha256(shot.path.read_bytes()).hexdigest()
    with base.catalog.write() as session:
        film = create_project(session, "film", "The Rescue")
        dina = accounts.create_user(session, "dina", "correct horse battery")
        accounts.add_member(session, film, dina, Role.DIRECTOR)
    Ingest(base, project="film", crew="rahed", source="card 3", actor="rahed").run(walk([card]))
    with base.catalog.write() as session:
        user = session.scalar(select(User).where(User.username == "dina"))
        viewer = viewer_for(session, user, "film")
        name_tag = {"start": 0.0, "end": 3.0, "keyframes": [
            {"t": 0.0, "x": 0.0, "y": 0.85, "w": 0.2, "h": 0.1},
            {"t": 3.0, "x": 0.6, "y": 0.85, "w": 0.2, "h": 0.1}]}  # fmt: skip
        redactions.add(session, viewer, sha, "region", name_tag, "name tag")
        redactions.add(session, viewer, sha, "mute", {"start": 1.0, "end": 2.0}, "a name said")

    folder = tmp_path / "for-press"
    result = env.run(
        "export", "share", "-p", "film", "--assets", sha[:12], "-o", str(folder),
        "--to", "Agence X", "--why", "report on the hospital strike", "--pseudonymise-crew",
    )  # fmt: skip
    assert str(folder) in result.stdout
    copy = folder / "clip-001.mp4"
    manifest = json.loads((folder / "share.json").read_text(encoding="utf-8"))
    entry = manifest["copies"][0]
    assert entry["sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert entry["crew"] and entry["crew"][0].startswith("crew-") and "rahed" not in str(manifest)
    assert entry["hidden"]["muted_s"] > 0.95 and entry["hidden"]["frames_with_regions"] >= 89

    assert_carries_nothing_identifying(
        copy, b"RAHED", b"hospital", b"Acme", b"ZPhone", b"36.20", b"2016"
    )

    # Faces: every frame's face has lost its detail; the drawn region too, where interpolated.
    originals, copies = decoded(shot.path), decoded(copy)
    assert len(copies) == len(originals) == len(shot.boxes)
    hidden = [
        hidden_share(o, c, shot.boxes[i][0])
        for i, (o, c) in enumerate(zip(originals, copies, strict=True))
    ]
    assert min(hidden) > 0.8, [
        (i, round(v, 2), shot.boxes[i]) for i, v in enumerate(hidden) if v <= 0.8
    ]
    region = Region(
        0.0, 3.0, (Keyframe(0.0, 0.0, 0.85, 0.2, 0.1), Keyframe(3.0, 0.6, 0.85, 0.2, 0.1))
    )
    x, y, w, h = region.at(1.5)
    assert (round(x, 3), y, w, h) == (0.3, 0.85, 0.2, 0.1)
    middle = (int(x * 640) + 10, int(y * 360) + 5, int((x + w) * 640) - 10, int((y + h) * 360) - 5)
    assert hidden_share(originals[45], copies[45], middle) > 0.8

    # Sound: silent in the muted second, not outside it.
    with av.open(str(copy)) as shared:
        sound = np.concatenate([f.to_ndarray()[0] for f in shared.decode(audio=0)])
    rate = 48_000
    assert np.abs(sound[int(1.1 * rate) : int(1.9 * rate)]).max() < 0.01
    assert np.abs(sound[int(0.2 * rate) : int(0.8 * rate)]).max() > 0.05

    # The custody log: one `shared` event on the original, naming the copy's hash.
    with base.catalog.read() as session:
        events = session.scalars(
            select(CustodyEvent).where(
                CustodyEvent.asset_sha256 == sha, CustodyEvent.verb == "shared"
            )
        ).all()
    assert len(events) == 1
    details = json.loads(events[0].details)
    assert details["copy_sha256"] == entry["sha256"] and details["to"] == "Agence X"
    assert hashlib.sha256(base.vault.local_path(sha).read_bytes()).hexdigest() == sha


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_share_copy_is_made_of_an_original_whose_bytes_changed(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    clip = make_video(card / "C0001.MP4", seconds=1.0)
    sha = hashlib.sha256(clip.read_bytes()).hexdigest()
    env.run("ingest", str(card), "-p", "film")
    stored = env.vault / "originals" / sha[:2] / sha[2:4] / sha
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 1
    stored.write_bytes(bytes(data))
    out = tmp_path / "out"
    refused = env.run(
        "export", "share", "-p", "film", "--assets", sha, "-o", str(out), "--to", "press",
        "--why", "story", "--keep-faces", check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "no longer matches its SHA-256" in refused.stdout + refused.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.*"))
    events = env.run("custody", "export").stdout
    assert '"verb":"shared"' not in events.replace(" ", "")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("sound", "faces"),
    [(False, True), (False, False), (True, False)],
    ids=["silent", "silent-keep-faces", "sound-keep-faces"],
)
def test_a_share_copy_plays_back_with_or_without_sound(
    env: Env, tmp_path: Path, sound: bool, faces: bool
) -> None:
    # A clip with no sound once gave a copy no player opened (640x480 in its header, no
    # SPS/PPS), while the command said it was made and the chain that it was shared.
    card = tmp_path / "card"
    card.mkdir()
    clip = make_video(card / "C0001.MP4", seconds=2.0, size=(640, 360), audio=sound)
    sha = hashlib.sha256(clip.read_bytes()).hexdigest()
    env.run("ingest", str(card), "-p", "film")
    folder = tmp_path / "out"
    env.run(
        "export", "share", "-p", "film", "--assets", sha[:12], "-o", str(folder), "--to", "press",
        "--why", "story", *([] if faces else ["--keep-faces"]),
    )  # fmt: skip
    entry = json.loads((folder / "share.json").read_text(encoding="utf-8"))["copies"][0]
    assert (entry["width"], entry["height"], entry["frames"]) == (640, 360, 60)
    with av.open(str(folder / entry["file"])) as copy:
        assert sorted(s.type for s in copy.streams) == (["audio", "video"] if sound else ["video"])
        stream = copy.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 360)
        pictures = [f.to_ndarray(format="rgb24") for f in copy.decode(video=0)]
    assert len(pictures) == 60 and {p.shape for p in pictures} == {(360, 640, 3)}
    data = (folder / entry["file"]).read_bytes()
    assert not [mark for mark in ENCODERS if mark in data]
