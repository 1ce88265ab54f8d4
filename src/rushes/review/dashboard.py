"""The incident dashboard's figures: totals, incidents per ISO week by type, the located points
and the timeline, all cut from one filtered read so the views can never disagree.

The filters are the register's (review.incident_fields.Filters: whole UTC days, as on the incident
list and in exports), and weeks are ISO weeks of the UTC day, so a date range and the weeks it
draws always agree. An unknown figure (None) is never added as 0: a total is "at least" the
known sum, with the number of incidents that lack the figure beside it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.orm import Session

from rushes.catalog.models import Incident, IncidentType
from rushes.errors import InvalidInput
from rushes.i18n import N_
from rushes.review import incident_fields as fields
from rushes.review import incidents as register
from rushes.review.access import Viewer

# Outcomes that add up across incidents; people present is a circumstance of each one.
TOTALLED = tuple(figure for figure in fields.FIGURES if figure != "people_present")
MAX_WEEKS = 104  # the chart's width: two years of weeks; older ones are counted, not drawn


@dataclass(frozen=True)
class Total:
    """One figure over the filtered incidents: `at_least` is exact when `unknown` is 0."""

    figure: str
    at_least: int
    unknown: int  # incidents without this figure


@dataclass(frozen=True)
class Week:
    """One ISO week (Monday to Sunday, UTC days) and its incidents by type."""

    year: int
    week: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Dashboard:
    filters: fields.Filters
    types: list[IncidentType]  # the whole vocabulary in order, retired types included
    incidents: list[Incident]  # every match, newest first
    totals: list[Total]
    weeks: list[Week]  # consecutive, oldest first, at most MAX_WEEKS
    weeks_left_out: int  # older weeks not drawn (their incidents are still in the totals)

    @property
    def located(self) -> list[Incident]:
        return [i for i in self.incidents if i.latitude is not None and i.longitude is not None]


def totals_of(incidents: list[Incident]) -> list[Total]:
    totals = []
    for figure in TOTALLED:
        known = [value for i in incidents if (value := getattr(i, figure)) is not None]
        totals.append(Total(figure, sum(known), len(incidents) - len(known)))
    return totals


def weeks_of(incidents: list[Incident]) -> tuple[list[Week], int]:
    """The last MAX_WEEKS ISO weeks up to the latest incident's, empty ones included, and how
    many earlier weeks (back to the first incident's) are left out.

    Only the drawn weeks are walked, by count: any stored date, however far apart (year 1 and
    year 9999 both made it here before input was bounded), costs the same and never steps past
    the last day Python knows."""
    counted: dict[tuple[int, int], Counter[str]] = {}
    for incident in incidents:
        year, week, _ = incident.started_at.date().isocalendar()
        counted.setdefault((year, week), Counter())[incident.type] += 1
    if not counted:
        return [], 0
    first = date.fromisocalendar(*min(counted), 1)
    last = date.fromisocalendar(*max(counted), 1)
    span = (last - first).days // 7 + 1
    drawn = min(span, MAX_WEEKS)
    weeks = []
    for back in range(drawn - 1, -1, -1):
        key = (last - timedelta(weeks=back)).isocalendar()[:2]
        weeks.append(Week(*key, counts=dict(counted.get(key, {}))))
    return weeks, span - drawn


def _check(filters: fields.Filters, types: list[IncidentType]) -> None:
    """A mistyped filter is an error to show, not an empty dashboard to misread."""
    if filters.start and filters.end and filters.end < filters.start:
        raise InvalidInput(
            N_("the range ends (%(end)s) before it starts (%(start)s)"),
            end=str(filters.end),
            start=str(filters.start),
        )
    if filters.type and filters.type not in {t.name for t in types}:
        raise InvalidInput(
            N_("no incident type '%(given)s'; known types: %(choices)s"),
            given=filters.type[:40],
            choices=", ".join(t.name for t in types),
        )


def dashboard(session: Session, viewer: Viewer, filters: fields.Filters) -> Dashboard:
    """Everything the dashboard shows for these filters, to those who read the register."""
    register.require_register(viewer)
    types = register.incident_types(session, retired=True)
    _check(filters, types)
    incidents = register.list_incidents(session, viewer.project.id, filters)[::-1]
    weeks, left_out = weeks_of(incidents)
    return Dashboard(
        filters=filters,
        types=types,
        incidents=incidents,
        totals=totals_of(incidents),
        weeks=weeks,
        weeks_left_out=left_out,
    )
