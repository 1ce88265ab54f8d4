"""What an incident's fields may hold, read from a form, JSON or a CSV row.

A figure is a whole number or None (unknown), never 0 for unknown; a time comes with the UTC
offset it was given in, or takes the project's zone on that date, and is kept in UTC with the
offset beside it, so a page shows the local time the crew lived.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from rushes.errors import InvalidInput
from rushes.i18n import N_, Term
from rushes.review.dates import in_range

FIGURES = (
    "people_present",
    "rescued",
    "bodies",
    "injured",
    "killed",
    "volunteers_injured",
    "volunteers_killed",
)
RELATIONS = ("strike", "aftermath", "rescue", "testimony")
VERIFICATIONS = ("unverified", "partly", "verified")
TEXTS = {"title": 300, "place": 300, "description": 20_000}
FIELDS = (
    "title",
    "type",
    "started_at",
    "started_offset",
    "ended_at",
    "ended_offset",
    "place",
    "latitude",
    "longitude",
    "accuracy_m",
    *FIGURES,
    "verification",
    "description",
)
MAX_FIGURE = 10_000_000

_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")


@dataclass(frozen=True)
class Filters:
    """Which incidents a list, export or dashboard shows; dates are whole UTC days."""

    type: str | None = None
    start: date | None = None
    end: date | None = None
    verification: str | None = None

    @classmethod
    def parse(
        cls, type: str = "", start: str = "", end: str = "", verification: str = ""
    ) -> Filters:
        """From query-string or command-line text; empty means no filter."""
        if verification and verification not in VERIFICATIONS:
            raise InvalidInput(
                N_("verification: one of %(choices)s"), choices=", ".join(VERIFICATIONS)
            )
        return cls(type or None, _day("from", start), _day("to", end), verification or None)


def _day(name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            N_("%(field)s: give a date as YYYY-MM-DD, not '%(given)s'"),
            field=Term(name),
            given=text[:40],
        ) from None
    return in_range(name, day)


def _figure(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise InvalidInput(
            N_("%(field)s: give a whole number (or leave it empty if unknown)"), field=Term(name)
        )
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            N_("%(field)s: give a whole number, not '%(given)s'"),
            field=Term(name),
            given=str(value)[:40],
        ) from None
    if number < 0:
        raise InvalidInput(
            N_("%(field)s: cannot be negative (got %(given)s)"), field=Term(name), given=number
        )
    if number > MAX_FIGURE:
        raise InvalidInput(
            N_("%(field)s: %(given)s is more than %(most)s"),
            field=Term(name),
            given=number,
            most=f"{MAX_FIGURE:,}",
        )
    return number


def _number(name: str, value: Any, low: float, high: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        raise InvalidInput(
            N_("%(field)s: give a number, not '%(given)s'"),
            field=Term(name),
            given=str(value)[:40],
        ) from None
    if not low <= number <= high:  # also refuses NaN
        raise InvalidInput(
            N_("%(field)s: %(given)s is outside %(low)s to %(high)s"),
            field=Term(name),
            given=value,
            low=f"{low:g}",
            high=f"{high:g}",
        )
    return number


def _offset(name: str, value: Any) -> timezone:
    found = _OFFSET.fullmatch(str(value).strip())
    if not found or int(found[2]) > 14 or int(found[3]) > 59:
        raise InvalidInput(
            N_("%(field)s: give a UTC offset as +HH:MM (e.g. +03:00), not '%(given)s'"),
            field=Term(name),
            given=value,
        )
    sign = -1 if found[1] == "-" else 1
    return timezone(sign * timedelta(hours=int(found[2]), minutes=int(found[3])))


def offset_text(moment: datetime) -> str:
    """'+03:00' for a time in UTC+3."""
    seconds = int((moment.utcoffset() or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    return f"{sign}{abs(seconds) // 3600:02d}:{abs(seconds) % 3600 // 60:02d}"


def _moment(
    name: str, value: Any, offset: Any, zone: ZoneInfo | None = None
) -> tuple[datetime | None, str | None]:
    """(UTC time, offset text) from an ISO time with its offset, or a local time and an offset,
    or a local time alone in `zone` (the project's: its offset on that date, DST included)."""
    if value is None or value == "":
        return None, None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise InvalidInput(
                N_(
                    "%(field)s: give a time as YYYY-MM-DDTHH:MM with its UTC offset, "
                    "not '%(given)s'"
                ),
                field=Term(name),
                given=value,
            ) from None
    if offset not in (None, ""):
        given = _offset(f"{name[:-3]}_offset", offset)
        if moment.tzinfo is not None and moment.utcoffset() != given.utcoffset(None):
            raise InvalidInput(
                N_("%(field)s: its offset differs from %(other)s %(given)s"),
                field=Term(name),
                other=Term(f"{name[:-3]}_offset"),
                given=offset,
            )
        moment = moment.replace(tzinfo=given)
    if moment.tzinfo is None and zone is not None:
        moment = moment.replace(tzinfo=zone)
    if moment.tzinfo is None:
        raise InvalidInput(
            N_("%(field)s: give the UTC offset too (e.g. +03:00): local time where?"),
            field=Term(name),
        )
    in_range(name, moment.date())
    return moment.astimezone(UTC), offset_text(moment)


def parse(raw: Mapping[str, Any], zone: ZoneInfo | None = None) -> dict[str, Any]:
    """Typed values for the fields present in `raw` (form, JSON or CSV); "" means unknown.
    A time without an offset is local time in `zone`, the project's, if it has one.

    Raises InvalidInput naming the field for a value that cannot be right on its own."""
    unknown = set(raw) - set(FIELDS) - {"code"}
    if unknown:
        raise InvalidInput(N_("unknown field(s): %(names)s"), names=", ".join(sorted(unknown)))
    values: dict[str, Any] = {}
    for name, limit in TEXTS.items():
        if name in raw:
            text = str(raw[name] or "").replace("\r\n", "\n").strip()
            if len(text) > limit:
                raise InvalidInput(
                    N_("%(field)s: at most %(most)s characters"), field=Term(name), most=limit
                )
            values[name] = text
    if "title" in values and not values["title"]:
        raise InvalidInput(N_("title: cannot be empty"))
    if "type" in raw:
        values["type"] = str(raw["type"] or "").strip()
    if "code" in raw:
        values["code"] = str(raw["code"] or "").strip()
    for name in FIGURES:
        if name in raw:
            values[name] = _figure(name, raw[name])
    for name, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        if name in raw:
            values[name] = _number(name, raw[name], low, high)
    if "accuracy_m" in raw:
        values["accuracy_m"] = _number("accuracy_m", raw["accuracy_m"], 0, 20_000_000)
    for edge in ("started", "ended"):
        if f"{edge}_at" in raw or f"{edge}_offset" in raw:
            moment, offset = _moment(
                f"{edge}_at", raw.get(f"{edge}_at"), raw.get(f"{edge}_offset"), zone
            )
            values[f"{edge}_at"], values[f"{edge}_offset"] = moment, offset
    if "verification" in raw:
        values["verification"] = str(raw["verification"] or "unverified").strip()
        if values["verification"] not in VERIFICATIONS:
            raise InvalidInput(
                N_("verification: one of %(choices)s"), choices=", ".join(VERIFICATIONS)
            )
    return values


def check_whole(state: Mapping[str, Any]) -> None:
    """Rules between fields: figures within the people present, end after start, a full place."""
    if state.get("started_at") is None:
        raise InvalidInput(N_("started_at: an incident needs its start time"))
    if state.get("ended_at") is not None and state["ended_at"] < state["started_at"]:
        raise InvalidInput(N_("ended_at: the end is before the start"))
    present = state.get("people_present")
    if present is not None:
        for name in FIGURES[1:]:
            if state.get(name) is not None and state[name] > present:
                raise InvalidInput(
                    N_("%(field)s: %(given)s is more than the %(present)s people present"),
                    field=Term(name),
                    given=state[name],
                    present=present,
                )
    if (state.get("latitude") is None) != (state.get("longitude") is None):
        raise InvalidInput(N_("latitude/longitude: give both or neither"))


def local(moment: datetime | None, offset: str | None) -> datetime | None:
    """The time as it was on the wall where it happened."""
    if moment is None:
        return None
    try:
        return moment.astimezone(_offset("offset", offset)) if offset else moment
    except OverflowError:  # a stored edge like 9999-12-31T23:00Z at +14:00 (before bounds)
        return moment
