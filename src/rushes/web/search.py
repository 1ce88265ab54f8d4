"""The header's search box: one project's notes, assignments, incidents and files (rules in
`rushes.review.search`), as a page grouped by kind and as JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from rushes.review.search import KINDS, Hit, search
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, page

router = APIRouter(dependencies=[Depends(check_origin)])

# Longer than any query search accepts, so an over-long one gets search's own message.
Words = Annotated[str, Query(max_length=2000)]
Kind = Annotated[str, Query(max_length=20)]


def pieces(hit: Hit) -> list[tuple[str, bool]]:
    """The snippet cut into (text, found) runs, for <mark>."""
    runs: list[tuple[str, bool]] = []
    at = 0
    for start, end in hit.marks:
        if start < at:
            continue  # overlaps a word marked already
        runs += [(hit.snippet[at:start], False), (hit.snippet[start:end], True)]
        at = end
    runs.append((hit.snippet[at:], False))
    return [run for run in runs if run[0]]


@router.get("/p/{slug}/search", response_class=HTMLResponse)
def search_page(
    request: Request, viewer: InProject, session: Reading, q: Words = "", kind: Kind = ""
) -> HTMLResponse:
    found = search(session, viewer, q, kind or None)
    context = {
        "viewer": viewer,
        "query": q,
        "kind": kind,
        "kinds": KINDS,
        "found": found,
        "pieces": pieces,
    }
    return page(request, "search.html", context)


@router.get("/api/p/{slug}/search")
def search_api(
    viewer: InProject, session: Reading, q: Words = "", kind: Kind = ""
) -> dict[str, Any]:
    found = search(session, viewer, q, kind or None)
    return {
        "query": found.query,
        "results": {group: [asdict(hit) for hit in hits] for group, hits in found.groups.items()},
        "more": sorted(found.more),
    }
