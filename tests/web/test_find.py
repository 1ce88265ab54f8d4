"""Find footage by a still or a short clip, over real HTTP and the real CLI, on both databases:
edited screenshots of a moment lead to the right clip at the right time; crew find only their
own; broken, huge and hostile uploads get a clear answer."""

from __future__ import annotations

import socket
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse

import av
import numpy as np
from PIL import Image, ImageOps

from rushes.base import Base
from rushes.review.find import MAX_BYTES
from tests.conftest import Env
from tests.web.conftest import Footage

AT_S = 1.0  # the moment screenshotted


def frame_at(base: Base, sha: str, seconds: float) -> Image.Image:
    """The original's picture at ``seconds``, as a screenshot of it would show it."""
    with av.open(str(base.vault.local_path(sha))) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= seconds - 1e-3:
                return frame.to_image()
    raise AssertionError("no frame at that time")


def screenshots(picture: Image.Image, folder: Path) -> dict[str, Path]:
    """The moment as people pass it on: re-compressed, shrunk, mirrored, turned, cropped, framed
    by an app's bars."""
    w, h = picture.size
    edits = {
        "png": picture,
        "jpeg-low": picture,
        "half": picture.resize((w // 2, h // 2)),
        "double": picture.resize((w * 2, h * 2)),
        "mirror": ImageOps.mirror(picture),
        "turned": picture.rotate(90, expand=True),
        "crop-5": picture.crop((w // 20, h // 20, w - w // 20, h - h // 20)),
        "app-bars": ImageOps.expand(picture, border=(0, h // 3, 0, h // 3), fill=(250, 250, 250)),
        "grey": ImageOps.grayscale(picture),
    }
    paths = {}
    for name, edited in edits.items():
        path = folder / (f"{name}.jpg" if name == "jpeg-low" else f"{name}.png")
        edited.save(path, quality=30) if name == "jpeg-low" else edited.save(path)
        paths[name] = path
    return paths


def _find(client, path: Path, name: str | None = None):  # noqa: ANN001, ANN202
    with path.open("rb") as body:
        files = {"file": (name or path.name, body, "application/octet-stream")}
        return client.post("/api/p/film/find", files=files, headers={"X-CSRF-Token": client.csrf})


def test_edited_screenshots_of_a_moment_find_its_clip_and_time(
    base: Base, footage: Footage, login, tmp_path: Path
) -> None:  # noqa: ANN001
    target = footage.others[0]  # rami's clip: directors see it, crew member karim does not
    shots = screenshots(frame_at(base, target, AT_S), tmp_path)
    dina, karim = login("dina"), login("karim")
    missed = {}
    for name, path in shots.items():
        response = _find(dina, path)
        assert response.status_code == 200, (name, response.text)
        clips = response.json()["clips"]
        best = clips[0] if clips else None
        if not best or best["sha256"] != target:
            missed[name] = [c["sha256"][:8] for c in clips]
            continue
        moment = best["moments"][0]
        assert moment["start"] - 0.05 <= AT_S <= moment["end"] + 0.05, (name, moment)
        assert moment["distance"] <= 64
    assert not missed, missed
    # The crew member does not see rami's clip, so it is not found for him.
    assert all(c["sha256"] != target for c in _find(karim, shots["png"]).json()["clips"])

    # The page: upload through the form, the clip linked at the moment.
    with shots["mirror"].open("rb") as body:
        page = dina.post(
            "/p/film/find", files={"file": ("shot.png", body)}, data={"csrf": dina.csrf}
        )
    assert page.status_code == 200
    assert f'href="/p/film/a/{target}#t=' in page.text and "bits apart" in page.text


def test_finding_nothing_in_a_picture_with_little_detail_says_it_may_be_missed(
    base: Base, footage: Footage, login, fixtures_dir: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    """A frame of a plain door (PDQ quality 38): "no clip shows this moment" is no sure answer
    there, and the page and the API say so; a detailed frame found nowhere says nothing more."""
    door = fixtures_dir / "doorknob-hd-no-bar.mp4"
    with av.open(str(door)) as container:
        frames = [f for _, f in zip(range(41), container.decode(video=0), strict=False)]
    plain = tmp_path / "door.png"
    frames[40].to_image().save(plain)
    dina = login("dina")
    answer = _find(dina, plain).json()
    assert answer["clips"] == [] and answer["little_detail"] is True
    with plain.open("rb") as body:
        sent = {"file": ("door.png", body)}
        page = dina.post("/p/film/find", files=sent, data={"csrf": dina.csrf})
    assert 'id="find-empty"' in page.text and 'id="find-little-detail"' in page.text
    busy = tmp_path / "busy.png"
    Image.fromarray(np.random.default_rng(5).integers(0, 255, (360, 640, 3), np.uint8)).save(busy)
    answer = _find(dina, busy).json()
    assert answer["clips"] == [] and answer["little_detail"] is False


def test_a_short_clip_cut_from_an_original_finds_it(
    env: Env, base: Base, footage: Footage, login, tmp_path: Path
) -> None:  # noqa: ANN001
    target = footage.karim[1]
    excerpt = tmp_path / "excerpt.mp4"
    with av.open(str(base.vault.local_path(target))) as source, av.open(str(excerpt), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.options = {"crf": "35"}
        for frame in source.decode(video=0):
            if 0.4 <= frame.time <= 1.6:
                small = frame.reformat(width=128, height=96, format="yuv420p")
                small.pts, small.time_base = None, Fraction(1, 25)
                out.mux(stream.encode(small))
        out.mux(stream.encode())
    clips = _find(login("dina"), excerpt).json()["clips"]
    assert clips and clips[0]["sha256"] == target
    moment = clips[0]["moments"][0]
    assert moment["start"] < 0.7 and moment["end"] > 1.2, moment

    # The CLI gives the same answer.
    shown = env.run("find-frame", str(excerpt), "-p", "film").stdout
    assert target[:16] in shown and "bits)" in shown


def test_bad_uploads_get_a_clear_answer_and_never_a_500(
    base: Base, footage: Footage, login, server: str, tmp_path: Path
) -> None:  # noqa: ANN001
    dina = login("dina")
    (tmp_path / "text.png").write_bytes(b"not a picture at all " * 20)
    (tmp_path / "empty.jpg").write_bytes(b"")
    good = tmp_path / "good.png"
    Image.fromarray((np.random.default_rng(1).random((90, 160, 3)) * 255).astype("uint8")).save(
        good
    )
    (tmp_path / "broken.png").write_bytes(good.read_bytes()[:300])
    Image.new("L", (9000, 9000)).save(tmp_path / "huge.png")  # 81 megapixels, 100 KB
    Image.new("RGB", (320, 240)).save(tmp_path / "black.png")
    noise = np.random.default_rng(2).random((4, 60, 80, 3)) * 255
    frames = [Image.fromarray(each.astype("uint8")) for each in noise]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    expected = {
        "text.png": "not a picture or video",
        "empty.jpg": "empty",
        "broken.png": "not a picture or video",
        "huge.png": "too large a picture",
        "black.png": "too dark or flat",
    }
    for name, message in expected.items():
        response = _find(dina, tmp_path / name, name="../../etc/passwd\u202e.png")
        assert response.status_code == 400, (name, response.text)
        assert message in response.json()["detail"], (name, response.text)
    for name in ("good.png", "anim.gif"):  # nothing like them in the project: found nothing
        response = _find(dina, tmp_path / name)
        assert response.status_code == 200 and response.json()["clips"] == [], response.text

    # Over the size limit: refused from the headers, before the body is read.
    url = urlparse(server)
    with socket.create_connection((url.hostname, url.port), timeout=10) as raw:
        cookie = "; ".join(f"{k}={v}" for k, v in dina.cookies.items())
        raw.sendall(
            (
                "POST /api/p/film/find HTTP/1.1\r\nHost: x\r\n"
                f"Cookie: {cookie}\r\nX-CSRF-Token: {dina.csrf}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: {MAX_BYTES + 10**6}\r\n\r\n"
            ).encode()
        )
        assert raw.recv(200).startswith(b"HTTP/1.1 413")
