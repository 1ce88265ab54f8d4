"""`rushes search` and `rushes find-frame`: find things in a project from the base's shell (as
the base's operator, who sees the whole project, or `--as` a member)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
from rich.markup import escape
from sqlalchemy import select

from rushes.catalog.models import User
from rushes.cli.common import opened_base
from rushes.cli.console import out
from rushes.errors import NotFoundError
from rushes.review import find as finder
from rushes.review.access import Role, Viewer, viewer_for
from rushes.review.projects import find_project
from rushes.review.search import KINDS, search

LABELS = {"note": "Notes", "assignment": "Assignments", "incident": "Incidents", "file": "Files"}


@click.command("search")
@click.argument("query")
@click.option("--project", "-p", required=True, help="The project to search.")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Only this kind, up to 200.")
@click.option("--as", "username", default=None, help="See only what this member's pages show them.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per result.")
def search_command(
    query: str, project: str, kind: str | None, username: str | None, as_json: bool
) -> None:
    """Find notes and replies, assignments, incidents and files containing every word of
    QUERY, in Arabic or English (diacritics, alef forms, ta marbuta and the prefixes و, ال
    are ignored; a word may be part of a longer one)."""
    with opened_base() as base, base.catalog.read() as session:
        place = find_project(session, project)
        if username is None:
            viewer = Viewer(User(id=0, username="(base)"), place, Role.ADMIN)
        else:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFoundError(f"no user {username!r}")
            viewer = viewer_for(session, user, project)
        found = search(session, viewer, query, kind)
    if as_json:
        for group, hits in found.groups.items():
            for hit in hits:
                out.print_json(json.dumps({**asdict(hit), "kind": group}), indent=None)
        return
    if not found.count:
        out.print(f"nothing in {project} contains {escape(query)!r}")
        return
    for group, hits in found.groups.items():
        more = " (more: --kind " + group + ")" if group in found.more else ""
        out.print(f"[bold]{LABELS[group]}[/bold] {len(hits)}{more}")
        for hit in hits:
            at = f" at {hit.when:.1f} s" if hit.when is not None else ""
            out.print(f"  {escape(hit.title)}{at}: {escape(hit.snippet)}")
            out.print(f"    {hit.link}", style="dim")


@click.command("find-frame")
@click.argument("picture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", "-p", required=True, help="The project to search.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per clip.")
def find_frame_command(picture: Path, project: str, as_json: bool) -> None:
    """Which clips show the moment in PICTURE: a still (a screenshot) or a clip of up to two
    minutes, turned, mirrored, cropped or re-encoded as it may be. Closest first, with the
    time ranges and how many bits (of 256) apart the closest frame is."""
    with opened_base() as base, base.catalog.read() as session:
        viewer = Viewer(User(id=0, username="(base)"), find_project(session, project), Role.ADMIN)
        query = finder.read_query(picture)
        found = finder.find(session, viewer, query)
    if as_json:
        for clip in found:
            out.print_json(json.dumps(asdict(clip)), indent=None)
        return
    if not found:
        out.print(f"no clip of {project} shows this moment")
        if finder.little_detail(query):
            out.print("the picture has little detail, so a clip showing it may not be found")
        return
    for clip in found:
        out.print(f"[bold]{clip.sha256[:16]}[/bold] {escape(clip.name)}")
        for m in clip.moments:
            out.print(f"  {m.start:.1f}-{m.end:.1f} s (closest at {m.at:.1f} s, {m.distance} bits)")
