"""The incident dashboard: totals, a weekly chart by type, a map and a timeline, as one page
and as JSON, under the same filters (from, to, type, verification in the query string).

The chart and the map are drawn here as inline SVG, so the page reads without JavaScript and
without map tiles. When tiles are configured, dashboard.js swaps the drawn map for vendored
Leaflet on those tiles; only then does the page load Leaflet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from rushes.catalog.models import Incident
from rushes.i18n import N_
from rushes.review import dashboard as board
from rushes.review import incident_fields as fields
from rushes.web.auth import check_origin
from rushes.web.dependencies import Reading, get_base, page
from rushes.web.incidents import Filtered, Reader, when

router = APIRouter(dependencies=[Depends(check_origin)])

FIGURE_LABELS = {  # shown through |t: the page's language
    "people_present": N_("People present"),
    "rescued": N_("Rescued alive"),
    "bodies": N_("Bodies recovered"),
    "killed": N_("Killed"),
    "injured": N_("Injured"),
    "volunteers_killed": N_("Volunteers killed"),
    "volunteers_injured": N_("Volunteers injured"),
}
# Tableau 10: told apart by most colour-blind readers; a type keeps its colour across filters.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
CHART_W, CHART_H = 720, 240
MAP_W = 720
MAP_LABELS = 30  # points drawn with their code beside them; more would overlap
# The page's lists are cut here to keep its HTML under 150 KB (a 256 kbit/s link); the totals
# and the chart count every incident.
MAX_POINTS = 200
MAX_TIMELINE = 100
_GRID_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 45, 90)


def query_of(filters: fields.Filters) -> str:
    """The filters as a query string again, for the JSON link beside the form."""
    given = {
        "from": filters.start.isoformat() if filters.start else "",
        "to": filters.end.isoformat() if filters.end else "",
        "type": filters.type,
        "verification": filters.verification,
    }
    return urlencode({k: v for k, v in given.items() if v})


def hues_of(dash: board.Dashboard) -> dict[str, int]:
    """Each type's colour, as an index into PALETTE (the page's classes c0..c9), by its place
    in the vocabulary: the chart, the map and their legends agree, whatever the filters."""
    return {t.name: n % len(PALETTE) for n, t in enumerate(dash.types)}


def incident_url(slug: str, incident: Incident) -> str:
    return f"/p/{slug}/incidents/{quote(incident.code, safe='')}"


@dataclass(frozen=True)
class Bar:
    """One week's stacked bar: its outline, and what its title (the sentence a screen reader or
    a hover gives) says, put into words by the page in its language."""

    x: int
    y: int
    width: int
    height: int
    week: str  # 2021-W03
    monday: str
    total: int
    parts: tuple[tuple[str, int], ...]  # (type's label, count) in vocabulary order


@dataclass(frozen=True)
class Chart:
    """Whole-unit geometry, so the SVG stays small: one path per type draws all its segments
    (in `shapes`), and a transparent rect per bar carries the bar's title."""

    width: int
    height: int
    shapes: dict[int, str]  # hue -> path data of every segment of that colour
    bars: list[Bar]
    ticks: list[tuple[int, int]]  # (y, count) of each horizontal grid line
    labels: list[tuple[int, str]]  # (x, week) under the bars
    left: int
    right: int
    bottom: int


def _step(largest: int) -> int:
    """A 1-2-5 step that cuts 0..largest into at most five parts."""
    for power in range(10):
        for base in (1, 2, 5):
            if largest / (base * 10**power) <= 5:
                return base * 10**power
    return 10**10


def chart_of(dash: board.Dashboard, hues: dict[str, int]) -> Chart | None:
    """Stacked bars, one per week, one segment per type in vocabulary order."""
    if not dash.weeks:
        return None
    left, top, bottom = 40, 12, CHART_H - 36
    slot = max(1, (CHART_W - left - 8) // len(dash.weeks))
    right = left + slot * len(dash.weeks)
    width = min(40, max(1, round(slot * 0.8)))
    largest = max(week.total for week in dash.weeks)
    step = _step(largest)
    ceiling = step * math.ceil(largest / step)

    def y_of(count: int) -> int:
        return bottom - round(count * (bottom - top) / ceiling)

    shapes: dict[int, list[str]] = {}
    bars, every = [], math.ceil(len(dash.weeks) / 8)
    for n, week in enumerate(dash.weeks):
        x, stacked, parts = left + n * slot + (slot - width) // 2, 0, []
        for kind in dash.types:
            count = week.counts.get(kind.name, 0)
            if count:
                low, stacked = y_of(stacked), stacked + count
                high = y_of(stacked)
                shapes.setdefault(hues[kind.name], []).append(
                    f"M{x} {high}h{width}v{low - high}h-{width}z"
                )
                parts.append((kind.label, count))
        if parts:
            height, monday = bottom - y_of(stacked), week.monday.isoformat()
            bars.append(
                Bar(x, y_of(stacked), width, height, week.label, monday, week.total, tuple(parts))
            )
    return Chart(
        width=right + 8,
        height=CHART_H,
        shapes={hue: "".join(path) for hue, path in shapes.items()},
        bars=bars,
        ticks=[(y_of(v), v) for v in range(0, ceiling + 1, step)],
        labels=[
            (left + n * slot + slot // 2, week.label)
            for n, week in enumerate(dash.weeks)
            if n % every == 0
        ],
        left=left,
        right=right,
        bottom=bottom,
    )


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    hue: int
    incident: Incident


@dataclass(frozen=True)
class PlotMap:
    """Located incidents on a plain latitude/longitude grid (equirectangular, true to scale at
    the middle latitude), for reading without tiles or JavaScript."""

    width: int
    height: int
    points: list[Point]
    meridians: list[tuple[float, str]]  # (x, "37.10°E")
    parallels: list[tuple[float, str]]  # (y, "36.20°N")
    labelled: bool


def _degrees(value: float, step: float, positive: str, negative: str) -> str:
    decimals = max(0, -math.floor(math.log10(step)))
    return f"{abs(value):.{decimals}f}°{positive if value >= 0 else negative}"


def map_of(located: list[Incident], hues: dict[str, int]) -> PlotMap | None:
    places = [(i, i.latitude, i.longitude) for i in located]
    found = [(i, lat, lon) for i, lat, lon in places if lat is not None and lon is not None]
    if not found:
        return None
    lats, lons = [lat for _, lat, _ in found], [lon for _, _, lon in found]
    middle_lat, middle_lon = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    squeeze = max(0.2, math.cos(math.radians(middle_lat)))  # a degree of longitude, in latitude's
    span_y = max((max(lats) - min(lats)) * 1.2, 0.01)
    span_x = max((max(lons) - min(lons)) * 1.2 * squeeze, 0.01)
    height = round(min(480, max(240, MAP_W * span_y / span_x)))
    scale = min(MAP_W / span_x, height / span_y)  # pixels per degree of latitude
    west, east = middle_lon - MAP_W / scale / squeeze / 2, middle_lon + MAP_W / scale / squeeze / 2
    north, south = middle_lat + height / scale / 2, middle_lat - height / scale / 2

    def x_of(lon: float) -> float:
        return (lon - west) * squeeze * scale

    def y_of(lat: float) -> float:
        return (north - lat) * scale

    step = next((s for s in _GRID_STEPS if (east - west) / s <= 8), 90)
    meridians = [
        (x_of(n * step), _degrees(n * step, step, "E", "W"))
        for n in range(math.ceil(west / step), math.floor(east / step) + 1)
        if -180 <= n * step <= 180
    ]
    parallels = [
        (y_of(n * step), _degrees(n * step, step, "N", "S"))
        for n in range(math.ceil(south / step), math.floor(north / step) + 1)
        if -90 <= n * step <= 90
    ]
    points = [Point(x_of(lon), y_of(lat), hues[i.type], i) for i, lat, lon in found]
    return PlotMap(MAP_W, height, points, meridians, parallels, len(points) <= MAP_LABELS)


def incident_json(slug: str, incident: Incident) -> dict[str, Any]:
    """What a timeline row shows; the incident's own JSON has everything else."""
    local = fields.local(incident.started_at, incident.started_offset)
    return {
        "code": incident.code,
        "title": incident.title,
        "type": incident.type,
        "started_at": incident.started_at.isoformat(),
        "started_offset": incident.started_offset,
        "started_local": local.isoformat() if local else None,
        "place": incident.place,
        "latitude": incident.latitude,
        "longitude": incident.longitude,
        "accuracy_m": incident.accuracy_m,
        "verification": incident.verification,
        "figures": {figure: getattr(incident, figure) for figure in fields.FIGURES},
        "url": incident_url(slug, incident),
    }


def dashboard_json(slug: str, dash: board.Dashboard) -> dict[str, Any]:
    """The figures exactly as the page shows them; lists cut at the page's length too."""
    hues = hues_of(dash)
    return {
        "filters": {
            "from": dash.filters.start.isoformat() if dash.filters.start else None,
            "to": dash.filters.end.isoformat() if dash.filters.end else None,
            "type": dash.filters.type or None,
            "verification": dash.filters.verification or None,
        },
        "incident_count": len(dash.incidents),
        "totals": {t.figure: {"at_least": t.at_least, "unknown": t.unknown} for t in dash.totals},
        "types": [
            {
                "name": t.name,
                "label": t.label,
                "colour": PALETTE[hues[t.name]],
                "retired": t.retired,
            }
            for t in dash.types
        ],
        "weeks": [
            {"week": w.label, "monday": w.monday.isoformat(), "counts": w.counts}
            for w in dash.weeks
        ],
        "weeks_left_out": dash.weeks_left_out,
        "located_count": len(dash.located),
        "points": [
            {
                "code": i.code,
                "title": i.title,
                "type": i.type,
                "latitude": i.latitude,
                "longitude": i.longitude,
                "url": incident_url(slug, i),
            }
            for i in dash.located[:MAX_POINTS]
        ],
        "timeline": [incident_json(slug, i) for i in dash.incidents[:MAX_TIMELINE]],
    }


@router.get("/p/{slug}/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, viewer: Reader, session: Reading, filters: Filtered
) -> HTMLResponse:
    dash = board.dashboard(session, viewer, filters)
    hues = hues_of(dash)
    tiles = get_base(request).settings.map_tiles
    present = {i.type for i in dash.incidents}
    context = {
        "viewer": viewer,
        "dash": dash,
        "query": query_of(filters),
        "hues": hues,
        "legend": [t for t in dash.types if t.name in present],
        "figure_labels": FIGURE_LABELS,
        "type_labels": {t.name: t.label for t in dash.types},
        "chart": chart_of(dash, hues),
        "plot": map_of(dash.located[:MAX_POINTS], hues),
        "timeline": dash.incidents[:MAX_TIMELINE],
        "max_points": MAX_POINTS,
        "verifications": fields.VERIFICATIONS,
        "tiles": tiles,
        "tile_host": urlsplit(tiles).hostname or "",
        "incident_url": incident_url,
        "when": when,
    }
    return page(request, "dashboard.html", context)


@router.get("/api/p/{slug}/dashboard")
def dashboard_api(viewer: Reader, session: Reading, filters: Filtered) -> dict[str, Any]:
    """Totals, weeks, points and timeline under the same query parameters as the page."""
    return dashboard_json(viewer.project.slug, board.dashboard(session, viewer, filters))


@router.get("/dashboard/palette.css", include_in_schema=False)
def palette_css() -> Response:
    """The type colours as classes c0..c9: a stylesheet, since the page's CSP allows no inline
    style, built from PALETTE so the page and the JSON's colours stay one list."""
    rules = "".join(f".c{n}{{fill:{c};background:{c}}}" for n, c in enumerate(PALETTE))
    return Response(rules, media_type="text/css", headers={"Cache-Control": "max-age=3600"})
