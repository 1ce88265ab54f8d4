"""The rushes browser: a project's grid of poster frames, and the same list as JSON."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from rushes.errors import InvalidInput
from rushes.i18n import N_
from rushes.review import browse
from rushes.review.access import Can
from rushes.review.assignments import list_assignments
from rushes.review.dates import in_range
from rushes.review.incident_fields import Filters as IncidentFilters
from rushes.review.incidents import list_incidents
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, get_base, page

router = APIRouter(dependencies=[Depends(check_origin)])

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "on", "true", "yes")


def filters_from(
    day: str = "",
    day_of: Annotated[str, Query(max_length=20)] = "",
    crew: Annotated[str, Query(max_length=200)] = "",
    assignment: str = "",
    incident: Annotated[str, Query(max_length=40)] = "",
    has_notes: str = "",
    selected: str = "",
    collapse: str = "",
    order: str = "newest",
) -> browse.Filters:
    """The filter form's query parameters; empty ones mean "any"."""
    day, assignment = day.strip(), assignment.strip()
    if day and not _DAY.fullmatch(day):
        raise InvalidInput(N_("day '%(given)s': give a date as YYYY-MM-DD"), given=day[:40])
    if assignment and not re.fullmatch(r"[0-9]{1,9}", assignment):
        raise InvalidInput(
            N_("assignment '%(given)s': give an assignment number"), given=assignment[:40]
        )
    try:
        parsed_day = date.fromisoformat(day) if day else None
    except ValueError:
        raise InvalidInput(N_("day '%(given)s' is not a date"), given=day) from None
    if parsed_day:
        in_range("day", parsed_day)
    return browse.Filters(
        day=parsed_day,
        day_of=day_of.strip() or "captured",
        crew=crew.strip(),
        assignment=int(assignment) if assignment else None,
        incident=incident.strip(),
        has_notes=_flag(has_notes),
        selected=_flag(selected),
        collapse=_flag(collapse),
        order=order.strip() or "newest",
    )


ChosenFilters = Annotated[browse.Filters, Depends(filters_from)]


def _cursor(after: str) -> browse.Cursor | None:
    return browse.Cursor.decode(after.strip()) if after.strip() else None


def query_of(filters: browse.Filters, **extra: str) -> str:
    """The filters as a query string again, for the next page's link."""
    fields = {
        "day": filters.day.isoformat() if filters.day else "",
        "day_of": filters.day_of if filters.day_of != "captured" else "",
        "crew": filters.crew,
        "assignment": str(filters.assignment) if filters.assignment is not None else "",
        "incident": filters.incident,
        "has_notes": "1" if filters.has_notes else "",
        "selected": "1" if filters.selected else "",
        "collapse": "1" if filters.collapse else "",
        "order": filters.order if filters.order != "newest" else "",
        **extra,
    }
    return urlencode({k: v for k, v in fields.items() if v})


@router.get("/p/{slug}/", response_class=HTMLResponse)
def grid(
    request: Request,
    viewer: InProject,
    session: Reading,
    filters: ChosenFilters,
    after: Annotated[str, Query(max_length=120)] = "",
) -> HTMLResponse:
    found = browse.browse(session, viewer, get_base(request).vault, filters, _cursor(after))
    context = {
        "viewer": viewer,
        "page": found,
        "filters": filters,
        "paged": bool(after.strip()),
        "first_url": f"?{query_of(filters)}",
        "next_url": f"?{query_of(filters, after=found.next)}" if found.next else None,
        "assignments": list_assignments(session, viewer),
        "incidents": list_incidents(session, viewer.project.id, IncidentFilters())
        if viewer.can(Can.SEE_ALL)  # the register is not crew's (review.incidents)
        else [],
        "orders": browse.ORDERS,
        "crews": browse.crew_choices(session, viewer),
    }
    return page(request, "browse.html", context)


@router.get("/api/p/{slug}/assets")
def asset_list(
    request: Request,
    viewer: InProject,
    session: Reading,
    filters: ChosenFilters,
    after: Annotated[str, Query(max_length=120)] = "",
    limit: Annotated[int, Query(ge=1, le=browse.MAX_PAGE_SIZE)] = browse.PAGE_SIZE,
) -> dict[str, Any]:
    """One page of cards; follow `next` (a cursor for `after`) until it is null."""
    found = browse.browse(session, viewer, get_base(request).vault, filters, _cursor(after), limit)
    return {
        "assets": [browse.card_json(card, viewer) for card in found.cards],
        "next": found.next,
    }
