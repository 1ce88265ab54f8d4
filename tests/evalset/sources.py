"""Source footage of varied kinds, each a reproducible stream of RGB frames.

Families:

* ``still``: every photograph that ships in scikit-image's data module, filmed as a hand-held
  camera would: a slow pan and zoom with a little shake;
* ``scene``: pictures drawn here from a seed: a street by day, the same at night, signs and
  screens of text, a crowd of faces, rubble and dust;
* ``fixture``: the unedited phone clips of tests/fixtures, which the thresholds were set on.

`sources(split)` divides stills and scenes by a fixed rule into ``"tune"`` and ``"eval"``, so a
threshold chosen on one half is measured on the other; the fixtures are always ``"tune"``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np
import skimage.data
from av.video.reformatter import VideoReformatter
from PIL import Image, ImageDraw, ImageFont

Split = Literal["tune", "eval"]
Family = Literal["still", "scene", "fixture"]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "video" / "threatexchange"
_SKIMAGE = Path(skimage.data.__file__).parent
# Stills left out: a second copy of another (the right stereo view, the RGB chessboard), too
# small to film (multipage.tif, the tiny gif), and the logo, which `copies` overlays.
_NOT_STILLS = {
    "motorcycle_right.png",
    "chessboard_RGB.png",
    "multipage.tif",
    "multipage_rgb.tif",
    "no_time_for_that_tiny.gif",
    "logo.png",
}
_FIXTURE_CLIPS = (
    "chair-orig-22-sd-bar",
    "doorknob-hd-no-bar",
    "pattern-hd-no-bar",
    "test-padded-dimensions",
)
SCENE_KINDS = ("day", "night", "text", "faces", "rubble")


@dataclass(frozen=True)
class Source:
    """One source of footage; ``frames`` renders it at any size, length and rate."""

    name: str
    family: Family
    seed: int

    def frames(self, size: tuple[int, int], count: int, fps: float = 30) -> Iterator[np.ndarray]:
        """``count`` RGB frames of ``size`` (width, height), ``fps`` frames a second."""
        if self.family == "fixture":
            yield from _fixture_frames(FIXTURES / f"{self.name}.mp4", size, count, fps)
            return
        canvas = _still(self.name) if self.family == "still" else _scene(self.name, self.seed)
        yield from _filmed(canvas, size, count, fps, self.seed)


def sources(split: Split) -> list[Source]:
    """The sources of one half of the set: every still and scene goes to exactly one half."""
    stills = sorted(
        p.name
        for p in _SKIMAGE.iterdir()
        if p.suffix in {".png", ".jpg", ".gif", ".tif"} and p.name not in _NOT_STILLS
    )
    chosen = [Source(name, "still", _seed(name)) for name in stills if _half(name) == split]
    # Scenes: seeds 0-999 tune, 1000 on evaluate; three of each kind per half.
    base = 0 if split == "tune" else 1000
    chosen += [
        Source(f"{kind}-{base + n}", "scene", base + n + 17 * k)
        for k, kind in enumerate(SCENE_KINDS)
        for n in range(3)
    ]
    if split == "tune":
        chosen += [Source(name, "fixture", 0) for name in _FIXTURE_CLIPS]
    return chosen


def _half(name: str) -> Split:
    return "tune" if hashlib.sha256(name.encode()).digest()[0] % 2 == 0 else "eval"


def _seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def _still(name: str) -> Image.Image:
    path = _SKIMAGE / name
    if path.suffix == ".gif":
        raise ValueError(f"{name}: animated stills are not filmed")
    image = Image.open(path)
    image.load()
    return image.convert("RGB")


def _filmed(
    canvas: Image.Image, size: tuple[int, int], count: int, fps: float, seed: int
) -> Iterator[np.ndarray]:
    """A hand-held camera on ``canvas``: a pan and zoom over the clip, and a little shake."""
    rng = np.random.default_rng(seed)
    cw, ch = canvas.size
    aspect = size[0] / size[1]
    # The largest window of the output's aspect that fits, then zoomed in by 1.0-1.6.
    full_w = min(cw, ch * aspect)
    zoom0, zoom1 = rng.uniform(1.1, 1.6, 2)
    direction = rng.uniform(0, 2 * math.pi)
    speed = rng.uniform(0.02, 0.06)  # share of the canvas width panned per second
    shake = np.cumsum(rng.normal(0, 0.0015, (count, 2)), axis=0)
    for i in range(count):
        t = i / fps
        zoom = zoom0 + (zoom1 - zoom0) * min(1.0, t / 10)
        w = full_w / zoom
        h = w / aspect
        cx = cw / 2 + (math.cos(direction) * speed * t + shake[i, 0]) * cw
        cy = ch / 2 + (math.sin(direction) * speed * t + shake[i, 1]) * ch
        # Bounce off the edges rather than leave the picture.
        cx = _fold(cx, w / 2, cw - w / 2)
        cy = _fold(cy, h / 2, ch - h / 2)
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        frame = canvas.transform(size, Image.Transform.EXTENT, box, Image.Resampling.BILINEAR)
        yield np.asarray(frame)


def _fold(x: float, lo: float, hi: float) -> float:
    if hi <= lo:
        return (lo + hi) / 2
    span = hi - lo
    x = (x - lo) % (2 * span)
    return lo + (x if x <= span else 2 * span - x)


def _fixture_frames(
    path: Path, size: tuple[int, int], count: int, fps: float
) -> Iterator[np.ndarray]:
    """The clip's frames scaled to ``size``, looped if it is shorter than asked, at ``fps``."""
    scaler = VideoReformatter()
    pictures: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 30)
        for frame in container.decode(stream):
            pictures.append(scaler.reformat(frame, size[0], size[1], "rgb24").to_ndarray())
            if len(pictures) >= count * rate / fps + 1:
                break
    for i in range(count):
        # Forward then backward, so a loop has no jump that would read as a cut.
        k = round(i * rate / fps) % (2 * len(pictures) - 1 or 1)
        yield pictures[k if k < len(pictures) else 2 * len(pictures) - 2 - k]


def _scene(name: str, seed: int) -> Image.Image:
    """A 1600x1000 picture of one kind, drawn from ``seed``."""
    kind = name.rsplit("-", 1)[0]
    rng = np.random.default_rng(seed)
    draw_scene = {
        "day": _street,
        "night": _street,
        "text": _signs,
        "faces": _faces,
        "rubble": _rubble,
    }[kind]
    return draw_scene(rng, night=kind == "night")


_W, _H = 1600, 1000


def _colour(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(lo, hi, 3))  # type: ignore[return-value]


def _street(rng: np.random.Generator, night: bool = False) -> Image.Image:
    """Buildings with windows against the sky, a road, cars; at night, mostly dark with lights."""
    sky = (8, 10, 22) if night else _colour(rng, 120, 230)
    image = Image.new("RGB", (_W, _H), sky)
    draw = ImageDraw.Draw(image)
    if not night:  # a gradient in the sky
        for y in range(0, _H // 2, 4):
            shade = tuple(max(0, c - y // 12) for c in sky)
            draw.rectangle((0, y, _W, y + 4), fill=shade)
    x = int(rng.integers(-60, 0))
    while x < _W:
        w, h = int(rng.integers(120, 320)), int(rng.integers(250, 750))
        wall = _colour(rng, 10, 40) if night else _colour(rng, 60, 200)
        top = _H - 220 - h
        draw.rectangle((x, top, x + w, _H - 220), fill=wall)
        lit = rng.uniform(0.1, 0.4) if night else 1.0
        for wy in range(top + 20, _H - 240, int(rng.integers(40, 70))):
            for wx in range(x + 12, x + w - 30, int(rng.integers(36, 60))):
                if night and rng.random() > lit:
                    continue
                glass = _colour(rng, 150, 256) if night else _colour(rng, 20, 120)
                draw.rectangle((wx, wy, wx + 20, wy + 26), fill=glass)
        if not night and rng.random() < 0.4:  # a collapsed corner
            draw.polygon(
                [(x, top), (x + w // 2, top + h // 3), (x + w, top)], fill=_colour(rng, 80, 140)
            )
        x += w + int(rng.integers(5, 40))
    road = (12, 12, 14) if night else (70, 70, 75)
    draw.rectangle((0, _H - 220, _W, _H), fill=road)
    for lx in range(int(rng.integers(0, 200)), _W, int(rng.integers(180, 320))):
        draw.rectangle((lx, _H - 120, lx + 80, _H - 110), fill=(200, 200, 170))
        if night:  # street lights and their pools
            draw.ellipse((lx - 6, _H - 430, lx + 6, _H - 418), fill=(255, 230, 160))
            draw.ellipse((lx - 90, _H - 90, lx + 90, _H - 40), fill=(40, 34, 20))
    for _ in range(int(rng.integers(3, 7))):
        cx = int(rng.integers(0, _W - 160))
        body = _colour(rng, 5, 60) if night else _colour(rng)
        draw.rounded_rectangle((cx, _H - 200, cx + 160, _H - 140), radius=14, fill=body)
        if night:
            draw.ellipse((cx + 140, _H - 180, cx + 160, _H - 165), fill=(255, 255, 220))
    return image


def _signs(rng: np.random.Generator, night: bool = False) -> Image.Image:
    """Panels of text at several sizes: signs, a news screen, a ticker."""
    image = Image.new("RGB", (_W, _H), _colour(rng, 30, 220))
    draw = ImageDraw.Draw(image)
    words = [
        "EMERGENCY",
        "HOSPITAL",
        "EXIT",
        "CIVIL DEFENCE",
        "WATER",
        "SHELTER",
        "NEWS",
        "LIVE",
        "SCHOOL",
        "BAKERY",
        "PHARMACY",
        "STREET",
        "BLOCK",
        "ZONE",
        "2024",
    ]
    for _ in range(int(rng.integers(6, 11))):
        x, y = int(rng.integers(0, _W - 300)), int(rng.integers(0, _H - 120))
        w, h = int(rng.integers(200, 700)), int(rng.integers(60, 260))
        panel = _colour(rng)
        draw.rectangle((x, y, x + w, y + h), fill=panel)
        ink = tuple(255 - c for c in panel)
        font = ImageFont.load_default(size=int(rng.integers(18, 64)))
        for line in range(int(rng.integers(1, 4))):
            text = " ".join(rng.choice(words, int(rng.integers(1, 4))))
            draw.text((x + 10, y + 8 + line * font.size * 1.2), text, fill=ink, font=font)
    draw.rectangle((0, _H - 90, _W, _H), fill=(160, 0, 0))
    ticker = ImageFont.load_default(size=48)
    draw.text((20, _H - 80), " +++ ".join(rng.choice(words, 8)), fill=(255, 255, 255), font=ticker)
    return image


def _faces(rng: np.random.Generator, night: bool = False) -> Image.Image:
    """A crowd: photographed faces (scikit-image's LFW sample) and drawn heads and shoulders."""
    image = Image.new("RGB", (_W, _H), _colour(rng, 40, 200))
    draw = ImageDraw.Draw(image)
    faces = np.load(_SKIMAGE / "lfw_subset.npy")[:100]  # the first 100 are faces
    for _ in range(int(rng.integers(10, 18))):
        side = int(rng.integers(90, 260))
        x, y = int(rng.integers(-40, _W - side)), int(rng.integers(0, _H - side))
        draw.rectangle((x - side // 3, y + side, x + side + side // 3, _H), fill=_colour(rng))
        if rng.random() < 0.5:
            face = faces[int(rng.integers(0, len(faces)))]
            tone = np.array(_colour(rng, 120, 256), np.float64) / 255
            rgb = (face[:, :, None] * tone * 255).astype(np.uint8)
            image.paste(Image.fromarray(rgb).resize((side, side), Image.Resampling.BICUBIC), (x, y))
        else:
            skin = _colour(rng, 90, 230)
            draw.ellipse((x, y, x + side, y + int(side * 1.2)), fill=skin)
            eye = side // 8
            for ex in (x + side // 3 - eye, x + 2 * side // 3 - eye):
                draw.ellipse(
                    (ex, y + side // 3, ex + 2 * eye, y + side // 3 + eye), fill=(20, 20, 20)
                )
            draw.arc(
                (x + side // 4, y + side // 2, x + 3 * side // 4, y + side),
                20,
                160,
                fill=(120, 30, 30),
                width=max(2, side // 25),
            )
    return image


def _rubble(rng: np.random.Generator, night: bool = False) -> Image.Image:
    """Broken concrete: grey and brown polygons, rebar lines, a haze of dust."""
    image = Image.new("RGB", (_W, _H), _colour(rng, 140, 200))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(120, 220))):
        cx, cy = rng.integers(0, _W), rng.integers(_H // 4, _H)
        r = int(rng.integers(20, 160))
        points = [
            (
                int(cx + r * math.cos(a) * rng.uniform(0.5, 1.2)),
                int(cy + r * math.sin(a) * rng.uniform(0.5, 1.2)),
            )
            for a in np.sort(rng.uniform(0, 2 * math.pi, int(rng.integers(4, 8))))
        ]
        grey = int(rng.integers(60, 200))
        draw.polygon(
            points, fill=(grey, grey - int(rng.integers(0, 30)), grey - int(rng.integers(0, 50)))
        )
    for _ in range(int(rng.integers(10, 30))):
        x, y = int(rng.integers(0, _W)), int(rng.integers(_H // 4, _H))
        draw.line(
            (x, y, x + int(rng.integers(-200, 200)), y - int(rng.integers(0, 200))),
            fill=(90, 50, 30),
            width=4,
        )
    haze = Image.new("RGB", (_W, _H), (200, 190, 170))
    return Image.blend(image, haze, float(rng.uniform(0.1, 0.4)))
