"""Incident pages and their JSON API: the register (filters, exports, the form to record one),
one incident with its figures, footage, suggested clips and full history, and the vocabulary."""

from __future__ import annotations

import io
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from rushes.catalog.models import Incident, Project
from rushes.errors import AccessDenied, InvalidInput, NotFoundError
from rushes.exports import bag_jobs
from rushes.exports import incidents as exports
from rushes.holds import may_hold
from rushes.i18n import N_
from rushes.review import incident_fields as fields
from rushes.review import incident_records as register_records
from rushes.review import incidents as register
from rushes.review.access import Can, Viewer, visible_assets
from rushes.review.assignments import thumbs_of
from rushes.review.incident_suggestions import decide, suggestions_for
from rushes.web.auth import InProject, check_origin
from rushes.web.dependencies import Reading, Writing, get_base, page
from rushes.web.language import Problem

router = APIRouter(dependencies=[Depends(check_origin)])
FORM_FIELDS = (*fields.FIELDS, "code")


def _recorder(viewer: InProject) -> Viewer:
    """Refuse before reading the form, so a crew member gets 403 whatever they sent."""
    if not viewer.can(Can.RECORD):
        raise AccessDenied(N_("only admins, directors and investigators record incidents"))
    return viewer


Recorder = Annotated[Viewer, Depends(_recorder)]


def _reader(viewer: InProject) -> Viewer:
    register.require_register(viewer)
    return viewer


Reader = Annotated[Viewer, Depends(_reader)]
Short = Annotated[str, Form(max_length=100)]


async def _posted(request: Request) -> dict[str, str]:
    """The incident form's fields as posted (checked by review.incidents)."""
    form = await request.form()
    return {name: str(form[name]) for name in FORM_FIELDS if name in form}


Posted = Annotated[dict[str, str], Depends(_posted)]


def _query_filters(request: Request) -> fields.Filters:
    """`from` and `to` are Python keywords, so they are read from the query string by hand."""
    q = request.query_params
    return fields.Filters.parse(
        q.get("type", ""), q.get("from", ""), q.get("to", ""), q.get("verification", "")
    )


Filtered = Annotated[fields.Filters, Depends(_query_filters)]


def when(moment: datetime | None, offset: str | None) -> str:
    """'2016-04-12 14:30 +03:00': the local time where it happened, with its offset."""
    shown = fields.local(moment, offset)
    return f"{shown:%Y-%m-%d %H:%M} {offset or '+00:00'}" if shown else ""


def stored_offset(project: Project) -> str:
    """What an incident's offset field shows when none was recorded: empty where the project's
    time zone gives the offset of its date (DST included), else UTC, as such a time was kept."""
    return "" if project.time_zone else "+00:00"


def form_values(incident: Incident, project: Project) -> dict[str, Any]:
    """An incident as its edit form shows it: local times, empty for unknown."""
    values: dict[str, Any] = {n: getattr(incident, n) for n in fields.FIELDS}
    for edge in ("started", "ended"):
        shown = fields.local(values[f"{edge}_at"], values[f"{edge}_offset"])
        values[f"{edge}_at"] = f"{shown:%Y-%m-%dT%H:%M:%S}" if shown else ""
        values[f"{edge}_offset"] = values[f"{edge}_offset"] or stored_offset(project)
    return {k: "" if v is None else v for k, v in values.items()}


def _list_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    filters: fields.Filters,
    problem: Problem = "",
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    context = {
        "viewer": viewer,
        "incidents": register.list_incidents(session, viewer.project.id, filters),
        "filters": filters,
        "query": request.url.query,
        "types": register.incident_types(session, retired=True),
        "verifications": fields.VERIFICATIONS,
        "figures": fields.FIGURES,
        # A new incident's offsets start empty: where the project has no time zone the crew
        # must say where the time was lived (a trial's 14:02 in Aleppo was taken as UTC).
        "draft": draft or {},
        "problem": problem,
        "when": when,
    }
    return page(request, "incidents.html", context, 400 if problem else 200)


@router.get("/p/{slug}/incidents", response_class=HTMLResponse)
def incidents_page(
    request: Request, viewer: Reader, session: Reading, filters: Filtered
) -> HTMLResponse:
    return _list_page(request, session, viewer, filters)


@router.post("/p/{slug}/incidents")
def create(request: Request, viewer: Recorder, session: Writing, posted: Posted) -> Response:
    try:
        incident = register.create_incident(session, viewer, posted)
    except InvalidInput as exc:
        return _list_page(request, session, viewer, fields.Filters(), exc, posted)
    return _to(viewer, incident.code)


def _export(viewer: Viewer, session: Session, filters: fields.Filters, fmt: str) -> Response:
    out = io.StringIO()
    found = register_records.records(session, viewer.project.id, filters, visible_assets(viewer))
    exports.write(found, fmt, out, viewer.project.slug)
    name = f"{viewer.project.slug}-incidents.{fmt}"
    return Response(
        out.getvalue(),
        media_type=exports.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/p/{slug}/incidents.csv")
def export_csv(viewer: Reader, session: Reading, filters: Filtered) -> Response:
    return _export(viewer, session, filters, "csv")


@router.get("/p/{slug}/incidents.geojson")
def export_geojson(viewer: Reader, session: Reading, filters: Filtered) -> Response:
    return _export(viewer, session, filters, "geojson")


@router.get("/p/{slug}/incidents.json")
def export_json(viewer: Reader, session: Reading, filters: Filtered) -> Response:
    return _export(viewer, session, filters, "json")


def _detail(
    request: Request,
    session: Session,
    viewer: Viewer,
    code: str,
    problem: Problem = "",
    draft: dict[str, str] | None = None,
    form: str = "edit",
) -> HTMLResponse:
    """The incident's page; a `problem` is shown beside the form it came from (`edit`,
    `footage` or `related`), with what was typed in it (`draft`) kept."""
    incident = register.get_incident(session, viewer, code)
    footage = register.linked_assets(session, incident, visible_assets(viewer))
    suggested = suggestions_for(session, viewer, incident) if viewer.can(Can.RECORD) else []
    shas = [row.asset_sha256 for row in footage] + [s.sha256 for s in suggested]
    context = {
        "viewer": viewer,
        "incident": incident,
        "footage": footage,
        "suggestions": suggested,
        "thumbs": thumbs_of(session, viewer.project.id, shas),
        "related": register.related_of(session, incident),
        "history": register.history_of(session, incident, visible_assets(viewer)),
        "types": register.incident_types(session, retired=True),
        "verifications": fields.VERIFICATIONS,
        "relations": fields.RELATIONS,
        "figures": fields.FIGURES,
        "record": register_records.as_record(session, incident, None),
        "bags": bag_jobs.jobs_of(get_base(request).settings, viewer.project.slug, incident.code)
        if viewer.can(Can.DOWNLOAD)
        else [],
        "may_hold": may_hold(get_base(request)),
        "draft": draft if draft and form == "edit" else form_values(incident, viewer.project),
        "typed": draft if form != "edit" else {},
        "problem": problem,
        "problem_at": form,
        "when": when,
    }
    status = 404 if isinstance(problem, NotFoundError) else 400 if problem else 200
    return page(request, "incident.html", context, status)


def _to(viewer: Viewer, code: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/p/{viewer.project.slug}/incidents/{code}{anchor}", 303)


@router.get("/p/{slug}/incidents/{code}", response_class=HTMLResponse)
def incident_page(request: Request, code: str, viewer: Reader, session: Reading) -> HTMLResponse:
    return _detail(request, session, viewer, code)


@router.post("/p/{slug}/incidents/{code}")
def edit(
    request: Request, code: str, viewer: Recorder, session: Writing, posted: Posted
) -> Response:
    try:
        register.update_incident(session, viewer, code, posted)
    except InvalidInput as exc:
        return _detail(request, session, viewer, code, exc, posted)
    return _to(viewer, code)


@router.post("/p/{slug}/incidents/{code}/delete")
def delete(
    code: str,
    viewer: InProject,
    session: Writing,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    register.delete_incident(session, viewer, code, reason)
    return RedirectResponse(f"/p/{viewer.project.slug}/incidents", 303)


@router.post("/p/{slug}/incidents/{code}/footage")
def link(
    request: Request,
    code: str,
    viewer: Recorder,
    session: Writing,
    sha256: Short = "",
    relation: Short = "",
) -> Response:
    try:
        register.link_asset(session, viewer, code, sha256, relation)
    except (InvalidInput, NotFoundError) as exc:  # a mistyped hash: say so beside the form
        typed = {"sha256": sha256, "relation": relation}
        return _detail(request, session, viewer, code, exc, typed, "footage")
    return _to(viewer, code, "#footage")


@router.post("/p/{slug}/incidents/{code}/footage/{sha256}/delete")
def unlink(code: str, sha256: str, viewer: Recorder, session: Writing) -> Response:
    register.unlink_asset(session, viewer, code, sha256)
    return _to(viewer, code, "#footage")


@router.post("/p/{slug}/incidents/{code}/related")
def relate(
    request: Request, code: str, viewer: Recorder, session: Writing, other: Short = ""
) -> Response:
    try:
        register.relate(session, viewer, code, other.strip(), True)
    except (InvalidInput, NotFoundError) as exc:  # a mistyped id: say so beside the form
        return _detail(request, session, viewer, code, exc, {"other": other}, "related")
    return _to(viewer, code, "#related")


@router.post("/p/{slug}/incidents/{code}/related/{other}/delete")
def unrelate(code: str, other: str, viewer: Recorder, session: Writing) -> Response:
    register.relate(session, viewer, code, other, False)
    return _to(viewer, code, "#related")


@router.post("/p/{slug}/incidents/{code}/suggestions/{sha256}")
def answer(
    code: str,
    sha256: str,
    viewer: Recorder,
    session: Writing,
    decision: Short = "",
    relation: Short = "aftermath",
) -> Response:
    """`decision=accept` links the clip with `relation`; `decision=reject` hides it for good."""
    if decision not in ("accept", "reject"):
        raise InvalidInput(N_("decision: accept or reject"))
    decide(session, viewer, code, sha256, decision == "accept", relation)
    return _to(viewer, code, "#suggestions")


@router.post("/p/{slug}/incident-types")
def add_type(viewer: InProject, session: Writing, name: Short = "", label: Short = "") -> Response:
    register.add_type(session, viewer, name, label)
    return RedirectResponse(f"/p/{viewer.project.slug}/incidents#types", 303)


@router.post("/p/{slug}/incident-types/{name}/retire")
def retire_type(name: str, viewer: InProject, session: Writing) -> Response:
    register.retire_type(session, viewer, name)
    return RedirectResponse(f"/p/{viewer.project.slug}/incidents#types", 303)


# ---- JSON ------------------------------------------------------------------------------------


class ReasonBody(BaseModel):
    reason: str = Field(max_length=2000)


class LinkBody(BaseModel):
    sha256: str = Field(max_length=100)
    relation: str = Field("aftermath", max_length=20)


class RelatedBody(BaseModel):
    code: str = Field(max_length=100)


class DecisionBody(BaseModel):
    accept: bool
    relation: str = Field("aftermath", max_length=20)


def _full(session: Session, viewer: Viewer, code: str) -> dict[str, Any]:
    """One incident as the API gives it: its record, history and (for recorders) suggestions."""
    incident = register.get_incident(session, viewer, code)
    record = register_records.as_record(session, incident, visible_assets(viewer))
    record["history"] = [
        {**asdict(change), "at": change.at.isoformat()}
        for change in register.history_of(session, incident, visible_assets(viewer))
    ]
    if viewer.can(Can.RECORD):
        record["suggestions"] = [
            {"sha256": s.sha256, "reason": str(s.reason)}
            for s in suggestions_for(session, viewer, incident)
        ]
    return record


@router.get("/api/p/{slug}/incidents")
def incidents_json(viewer: Reader, session: Reading, filters: Filtered) -> dict[str, Any]:
    found = register_records.records(session, viewer.project.id, filters, visible_assets(viewer))
    return {"incidents": found}


@router.post("/api/p/{slug}/incidents", status_code=201)
def create_json(
    viewer: Recorder, session: Writing, body: Annotated[dict[str, Any], Body()]
) -> JSONResponse:
    incident = register.create_incident(session, viewer, body, via="api")
    session.flush()
    return JSONResponse(_full(session, viewer, incident.code), 201)


@router.get("/api/p/{slug}/incidents/{code}")
def incident_json(code: str, viewer: Reader, session: Reading) -> dict[str, Any]:
    return _full(session, viewer, code)


@router.patch("/api/p/{slug}/incidents/{code}")
def update_json(
    code: str, viewer: Recorder, session: Writing, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    register.update_incident(session, viewer, code, body)
    session.flush()
    return _full(session, viewer, code)


@router.delete("/api/p/{slug}/incidents/{code}")
def delete_json(code: str, body: ReasonBody, viewer: InProject, session: Writing) -> dict[str, Any]:
    incident = register.delete_incident(session, viewer, code, body.reason)
    return {"deleted": incident.code, "reason": incident.deleted_reason}


@router.post("/api/p/{slug}/incidents/{code}/footage")
def link_json(code: str, body: LinkBody, viewer: Recorder, session: Writing) -> dict[str, Any]:
    register.link_asset(session, viewer, code, body.sha256, body.relation)
    session.flush()
    return _full(session, viewer, code)


@router.delete("/api/p/{slug}/incidents/{code}/footage/{sha256}")
def unlink_json(code: str, sha256: str, viewer: Recorder, session: Writing) -> dict[str, Any]:
    register.unlink_asset(session, viewer, code, sha256)
    session.flush()
    return _full(session, viewer, code)


@router.post("/api/p/{slug}/incidents/{code}/related")
def relate_json(code: str, body: RelatedBody, viewer: Recorder, session: Writing) -> dict[str, Any]:
    register.relate(session, viewer, code, body.code, True)
    session.flush()
    return _full(session, viewer, code)


@router.delete("/api/p/{slug}/incidents/{code}/related/{other}")
def unrelate_json(code: str, other: str, viewer: Recorder, session: Writing) -> dict[str, Any]:
    register.relate(session, viewer, code, other, False)
    session.flush()
    return _full(session, viewer, code)


@router.post("/api/p/{slug}/incidents/{code}/suggestions/{sha256}")
def answer_json(
    code: str, sha256: str, body: DecisionBody, viewer: Recorder, session: Writing
) -> dict[str, Any]:
    decide(session, viewer, code, sha256, body.accept, body.relation)
    session.flush()
    return _full(session, viewer, code)
