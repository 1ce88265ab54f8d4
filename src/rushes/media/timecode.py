"""Positions inside media as SMPTE timecode, and back to exact frame numbers.

A position is a frame number counted at a rate ("30000/1001"). NTSC rates (29.97, 59.94) are
shown as drop-frame timecode (``;`` before the frames), as editors expect, so the clock on
screen stays within a frame of wall time over hours.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

# ASCII digits only, and few of them: Fraction() alone would take "²"-like digits, read an
# exponent like "1e-99999999" by building a ten-million-digit number, or round "1/999…9" to 0.
_RATE = re.compile(r"[0-9]{1,10}(?:/[0-9]{1,10}|\.[0-9]{1,10})?")


def parse_rate(rate: str | Fraction | float) -> Fraction:
    """A frame rate above 0 and at most 1000 fps, as "30000/1001", "25" or "29.97"."""
    if isinstance(rate, str) and not _RATE.fullmatch(rate):
        raise ValueError(f"{rate[:40]!r} is not a frame rate")
    if isinstance(rate, float) and not math.isfinite(rate):
        raise ValueError(f"{rate!r} is not a frame rate")
    try:
        value = Fraction(rate) if not isinstance(rate, Fraction) else rate
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"{str(rate)[:40]!r} is not a frame rate") from exc
    value = value.limit_denominator(1001) if 0 < value <= 1000 else Fraction(0)
    if value == 0:
        raise ValueError(f"{str(rate)[:40]!r} is not a frame rate")
    return value


def _drop_frame(rate: Fraction) -> int:
    """Frames dropped per minute (2 at 29.97, 4 at 59.94), 0 for other rates."""
    if rate.denominator == 1001 and rate.numerator in (30000, 60000):
        return rate.numerator // 15000
    return 0


def smpte(frame: int, rate: str | Fraction, start: int = 0) -> str:
    """HH:MM:SS:FF for a frame number at this rate (``;FF`` when drop-frame)."""
    value = parse_rate(rate)
    nominal = max(1, round(value))  # a time-lapse below 1 fps still counts whole frames
    frame = max(0, int(frame) + start)
    drop = _drop_frame(value)
    if drop:
        per_ten = nominal * 600 - drop * 9
        per_minute = nominal * 60 - drop
        tens, rest = divmod(frame, per_ten)
        frame += drop * 9 * tens + (drop * ((rest - drop) // per_minute) if rest > drop else 0)
    frames = frame % nominal
    seconds = frame // nominal
    separator = ";" if drop else ":"
    return (
        f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}{separator}{frames:02d}"
    )


def frame_at(seconds: float, rate: str | Fraction) -> int:
    """The frame shown at a player time: the last frame starting at or before it.

    The small tolerance absorbs the float rounding of browser clocks (0.1 s * 30 = 2.9999…).
    """
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"{seconds!r} is not a time in the clip")
    return int(
        Fraction(seconds).limit_denominator(1_000_000) * parse_rate(rate) + Fraction(1, 1000)
    )


def seconds_of(frame: int, rate: str | Fraction) -> float:
    return float(Fraction(frame) / parse_rate(rate))


def recount(frame: int, rate: str | Fraction, to: str | Fraction) -> int:
    """The frame at rate `to` showing the moment of `frame` at `rate` (a note made at one rate,
    shown at the clip's real rate once it is known)."""
    return math.floor(Fraction(int(frame)) / parse_rate(rate) * parse_rate(to))
