"""Positions and rates in notes and selects: odd digits and huge rates are a clear 400, never
a 500 (str.isdigit takes "²", which int() refuses; a rate of 1/999…9 rounds to zero)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rushes.media.timecode import parse_rate
from tests.web.conftest import Client, Footage

BAD_NOTES = [
    {"start": "²"},
    {"start": "٣"},  # an Arabic-Indic digit: int() takes it, but it is not a frame number
    {"start": 10**30},
    {"start": 1, "rate": "1/" + "9" * 40},
    {"start": 1, "rate": "1/9999999999"},
    {"start": 1, "rate": "1e-99999999"},
    {"start": 1, "rate": "²"},
    {"start": 1, "rate": "nan"},
]


def test_odd_digits_and_huge_rates_in_notes_and_selects_answer_400(
    footage: Footage, login: Callable[..., Client]
) -> None:
    dina = login("dina")
    sha = footage.karim[0]
    headers = {"X-CSRF-Token": dina.csrf}
    for fields in BAD_NOTES:
        answer = dina.post(
            f"/api/p/film/a/{sha}/notes", json={"body": "x", **fields}, headers=headers
        )
        assert answer.status_code == 400, (fields, answer.status_code, answer.text[:200])
        form = {"csrf": dina.csrf, "body": "x", **{k: str(v) for k, v in fields.items()}}
        page = dina.post(f"/p/film/a/{sha}/notes", data=form)
        assert page.status_code == 400, (fields, page.status_code)
    for rate in ("1/" + "9" * 40, "1/9999999999", "1e-99999999", "²"):
        take = {"start": 0, "end": 5, "rate": rate}
        answer = dina.post(f"/api/p/film/a/{sha}/selects", json=take, headers=headers)
        assert answer.status_code == 400, (rate, answer.status_code, answer.text[:200])
    good = dina.post(
        f"/api/p/film/a/{sha}/notes",
        json={"body": "fine", "start": "12", "rate": "25"},
        headers=headers,
    )
    assert good.status_code == 201, good.text


@pytest.mark.parametrize("text", ["1/" + "9" * 40, "1/9999999999", "1e-99999999", "²", "0", ""])
def test_parse_rate_refuses_what_is_not_a_frame_rate(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


def test_parse_rate_reads_the_rates_media_use() -> None:
    assert parse_rate("30000/1001").denominator == 1001
    assert parse_rate("25") == 25 and parse_rate("29.97") == parse_rate("2997/100")
