"""Selects: circle a take from the player, and the project's ordered list of them, as a page
(reorderable with buttons, or by dragging when JavaScript runs) and as JSON for the edit."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from rushes.catalog.models import Select
from rushes.errors import AccessDenied
from rushes.exports.conform import STANDARD_RATES, label
from rushes.i18n import N_
from rushes.media.timecode import seconds_of, smpte
from rushes.review import selects as takes
from rushes.review.access import Can, Viewer, own_crew
from rushes.review.assignments import thumbs_of
from rushes.review.names import asset_names
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, Writing, page

router = APIRouter(dependencies=[Depends(check_origin)])
PAGE = 50  # takes per page: about 70 KB of HTML


def _selector(viewer: InProject) -> Viewer:
    """Refuse before reading the form, so a crew member gets 403 whatever they sent."""
    if not viewer.can(Can.SELECT):
        raise AccessDenied(N_("only directors and admins circle and order selects"))
    return viewer


Selector = Annotated[Viewer, Depends(_selector)]
Frame = Annotated[int, Form(ge=0, le=2**53)]
Rating = Annotated[int, Form(ge=0, le=5)]
Label = Annotated[str, Form(max_length=takes.MAX_LABEL)]


class TakeBody(BaseModel):
    start: int = Field(ge=0, le=2**53)
    end: int = Field(ge=0, le=2**53)
    rate: str = Field("", max_length=20)
    rating: int = Field(0, ge=0, le=5)
    label: str = Field("", max_length=takes.MAX_LABEL)


class OrderBody(BaseModel):
    ids: list[int] = Field(max_length=100_000)


def as_json(row: Select) -> dict[str, Any]:
    return {
        "id": row.id,
        "sha256": row.asset_sha256,
        "start": row.start,
        "end": row.end,
        "rate": row.rate,
        "in": smpte(row.start, row.rate),
        "out": smpte(row.end, row.rate),
        "rating": row.rating,
        "label": row.label,
        "position": row.position,
    }


def _to_list(viewer: Viewer, row: Select | None = None) -> RedirectResponse:
    """Back to the list, at the page and row of the take just changed."""
    where = f"?page={(row.position - 1) // PAGE + 1}#select-{row.id}" if row else ""
    return RedirectResponse(f"/p/{viewer.project.slug}/selects{where}", 303)


@router.post("/p/{slug}/a/{sha256}/selects")
def circle(
    sha256: str,
    viewer: Selector,
    session: Writing,
    start: Frame,
    end: Frame,
    rate: Annotated[str, Form(max_length=20)] = "",
    rating: Rating = 0,
    label: Label = "",
    back: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """From the player's form; `back=selects` goes on to the list, else back to the player."""
    row = takes.create_select(session, viewer, sha256, takes.Take(start, end, rate, rating, label))
    if back == "selects":
        return _to_list(viewer, row)
    at = seconds_of(start, row.rate)
    return RedirectResponse(f"/p/{viewer.project.slug}/a/{sha256}#t={at:.3f}", 303)


@router.post("/api/p/{slug}/a/{sha256}/selects", status_code=201)
def circle_json(sha256: str, body: TakeBody, viewer: Selector, session: Writing) -> JSONResponse:
    take = takes.Take(body.start, body.end, body.rate, body.rating, body.label)
    row = takes.create_select(session, viewer, sha256, take)
    return JSONResponse(as_json(row), 201)


@router.get("/p/{slug}/selects", response_class=HTMLResponse)
def selects_page(
    request: Request,
    viewer: InProject,
    session: Reading,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    edit: int | None = None,
) -> HTMLResponse:
    """A page of PAGE takes keeps the HTML small; `edit` opens one take's form."""
    everything = takes.list_selects(session, viewer)
    rows = everything[(page_number - 1) * PAGE : page_number * PAGE]
    context = {
        "viewer": viewer,
        "rows": rows,
        "total": len(everything),
        "page": page_number,
        "pages": max(1, math.ceil(len(everything) / PAGE)),
        "edit": edit,
        "thumbs": thumbs_of(session, viewer.project.id, (row.asset_sha256 for row in rows)),
        "names": asset_names(
            session, viewer.project.id, (row.asset_sha256 for row in rows), own_crew(viewer)
        ),
        "seconds_of": seconds_of,
        "timeline_rates": [(str(rate), label(rate)) for rate in STANDARD_RATES],
    }
    return page(request, "selects.html", context)


@router.get("/api/p/{slug}/selects")
def selects_json(viewer: InProject, session: Reading) -> dict[str, Any]:
    """The project's selects in order, ready for an edit decision list."""
    return {"selects": [as_json(row) for row in takes.list_selects(session, viewer)]}


@router.post("/api/p/{slug}/selects/order")
def reorder(body: OrderBody, viewer: Selector, session: Writing) -> dict[str, Any]:
    takes.set_order(session, viewer, body.ids)
    return {"ids": body.ids}


@router.post("/p/{slug}/selects/{select_id}/move")
def move(
    select_id: int, viewer: Selector, session: Writing, to: Annotated[int, Form()]
) -> Response:
    return _to_list(viewer, takes.move_select(session, viewer, select_id, to))


@router.post("/p/{slug}/selects/{select_id}")
def edit(
    select_id: int,
    viewer: Selector,
    session: Writing,
    start: Frame,
    end: Frame,
    rating: Rating = 0,
    label: Label = "",
) -> Response:
    take = takes.Take(start, end, "", rating, label)
    return _to_list(viewer, takes.update_select(session, viewer, select_id, take))


@router.post("/p/{slug}/selects/{select_id}/delete")
def delete(select_id: int, viewer: Selector, session: Writing) -> Response:
    takes.delete_select(session, viewer, select_id)
    return _to_list(viewer)
