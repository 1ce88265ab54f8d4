"""`rushes show` and `rushes dups`: one asset, everything known about it and its copies.

Nothing the pipeline could not do is left unsaid: each step's state with its reason, and why a
clip cannot be compared when no copy could ever be found.
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes import custody
from rushes.catalog import Asset, Project
from rushes.catalog.models import Arrival, ContentCredentials, Fingerprint, StepState
from rushes.catalog.queries import (
    asset_record,
    cluster_of,
    near_duplicates_of,
    pipeline_steps,
    shots_of,
    without_paths,
)
from rushes.cli.common import find_asset_or_fail as _find
from rushes.cli.common import opened_base
from rushes.cli.console import out
from rushes.pipeline.steps import FINGERPRINT, STEPS
from rushes.vault import display_path


@click.command()
@click.argument("sha256")
@click.option("--json", "as_json", is_flag=True, help="Everything as one JSON document.")
def show(sha256: str, as_json: bool) -> None:
    """Show one asset: hashes, media, arrivals, pipeline steps, shots and custody events.

    Each arrival says how it came (ingest, upload, manifest); each failed or skipped step, why."""
    with opened_base() as base, base.catalog.read() as session:
        asset = _find(session, sha256)
        events = [custody.as_record(e) for e in custody.events(session, asset.sha256)]
        doc = {
            **asset_record(asset),
            "vault": base.vault.backend.locate(asset.sha256)
            if asset.in_vault
            else "not here yet: still in the field (listed by a field kit's manifest)",
            "steps": sorted(
                pipeline_steps(session, asset.sha256), key=lambda s: _ORDER.get(s["step"], 99)
            ),
            "shots": shots_of(session, asset.sha256),
            "content_credentials": _credentials(session, asset.sha256),
            "custody": events,
        }
    if as_json:
        out.print_json(json.dumps(doc))
        return
    for key in ("sha256", "sha512", "size", "kind", "captured_at", "captured_offset", "vault"):
        out.print(f"[bold]{key}:[/] {escape(str(doc[key]))}")
    if asset.probe_error:
        out.print(f"[bold red]not analysed:[/] {escape(asset.probe_error)}")
    if asset.media:
        out.print("[bold]media:[/]")
        out.print_json(json.dumps(asset.media))
    if found := doc["content_credentials"]:
        out.print(f"[bold]content credentials (C2PA):[/] {found['state']}")
        out.print_json(json.dumps({k: v for k, v in found.items() if k != "state"}))
    table = Table(title="arrivals")
    for column in ("received", "via", "project", "crew", "source", "path", "duplicate"):
        table.add_column(column, overflow="fold")
    for a in doc["arrivals"]:
        table.add_row(
            a["received_at"],
            VIA.get(a["via"], a["via"]),
            *(escape(display_path(a[k])) for k in ("project", "crew", "source", "path")),
            "yes" if a["duplicate"] else "",
        )
    out.print(table)
    _print_steps_and_shots(doc)
    table = Table(title="custody")
    for column in ("seq", "at", "verb", "actor", "tool"):
        table.add_column(column)
    for e in events:
        table.add_row(
            str(e["seq"]), e["at"], e["verb"], escape(display_path(e["actor"])), e["tool"]
        )
    out.print(table)


def _credentials(session: Session, sha256: str) -> dict[str, Any] | None:
    """The C2PA summary read on arrival (the whole store is in evidence bags)."""
    found = session.get(ContentCredentials, sha256)
    return {**found.summary, "read_at": found.read_at.isoformat()} if found else None


_ORDER = {step.name: i for i, step in enumerate(STEPS)}
VIA = {
    "ingest": "ingest (card or drive at the base)",
    "upload": "upload (sent over the network)",
    "manifest": "manifest (hashed in the field)",
}


def _print_steps_and_shots(doc: dict[str, Any]) -> None:
    table = Table(title="pipeline")
    for column in ("step", "status", "finished", "reason"):
        table.add_column(column, overflow="fold")
    for step in doc["steps"]:
        status = step["status"]
        table.add_row(
            step["step"],
            f"[bold red]{status}[/]" if status == "failed" else status,
            step["finished_at"] or "",
            escape(step["reason"] or ""),
        )
    out.print(table)
    if not doc["shots"]:
        out.print("shots: none found" if doc["kind"] == "video" else "shots: not for this kind")
        return
    table = Table(title=f"shots: {len(doc['shots'])}")
    for column in ("shot", "from", "to", "frames", "begins with"):
        table.add_column(column)
    for shot in doc["shots"]:
        table.add_row(
            str(shot["index"] + 1),
            f"{shot['start_s']:.3f} s",
            f"{shot['end_s']:.3f} s",
            f"{shot['start_frame']}-{shot['end_frame']}",
            shot["transition"],
        )
    out.print(table)


@click.command()
@click.argument("sha256")
@click.option("--json", "as_json", is_flag=True, help="As one JSON document.")
@click.option(
    "--project", "-p", default=None, help="Only this project's copies (for sharing with it)."
)
def dups(sha256: str, as_json: bool, project: str | None) -> None:
    """Other copies of a clip: near-duplicates with the matching segments, and its cluster."""
    with opened_base() as base, base.catalog.read() as session:
        asset = _find(session, sha256)
        within = None
        if project is not None:
            within = (
                select(Arrival.asset_sha256)
                .join(Project, Project.id == Arrival.project_id)
                .where(Project.slug == project)
            )
            if asset.sha256 not in session.scalars(within):
                raise click.ClickException(f"no asset {sha256} in project {project!r}")
        copies = near_duplicates_of(session, asset.sha256)
        cluster = cluster_of(session, asset.sha256, within)
        copies = [c for c in copies if c["sha256"] in cluster]
        unknown = _not_comparable(session, asset)
    if as_json:
        doc = {"sha256": asset.sha256, "copies": copies, "cluster": sorted(cluster)}
        out.print_json(json.dumps({**doc, "not_comparable": unknown}))
        return
    if unknown:
        out.print(f"{asset.sha256[:16]}: cannot be compared: {escape(unknown)}")
        return
    if not copies:
        out.print(f"{asset.sha256[:16]}: no other copies found")
        return
    table = Table(title=f"other copies of {asset.sha256[:16]}")
    for column in ("sha256", "score", "edited", "this clip", "other clip"):
        table.add_column(column)
    for copy in copies:
        spans = copy["segments"]
        table.add_row(
            copy["sha256"][:16],
            f"{copy['score']:.2f}",
            _edited(copy),
            "\n".join(f"{s[0]:.1f}-{s[1]:.1f} s" for s in spans),
            "\n".join(f"{s[2]:.1f}-{s[3]:.1f} s" for s in spans),
        )
    out.print(table)
    out.print(f"cluster: {len(cluster)} assets")


def _edited(copy: dict[str, Any]) -> str:
    """How the other copy's pictures differ from this one's: turned, flipped, cropped."""
    said = [] if copy["transform"] == "none" else [copy["transform"]]
    if copy["crop"] > 0:
        said.append(f"cropped {copy['crop']:.0%} a side")
    elif copy["crop"] < 0:
        said.append(f"shows {-copy['crop']:.0%} a side more")
    return ", ".join(said)


def _not_comparable(session: Session, asset: Asset) -> str | None:
    """Why no copy of this clip could be found whatever the archive holds, or None."""
    if asset.kind not in FINGERPRINT.kinds:
        article = "an" if asset.kind[:1] in ("a", "e", "i", "o", "u") else "a"
        return f"{article} {asset.kind} asset has no pictures to compare"
    row = session.get(Fingerprint, asset.sha256)
    if row is None:
        state = session.get(StepState, (asset.sha256, FINGERPRINT.name))
        if state is not None and state.status in ("failed", "skipped"):
            reason = without_paths(state.error or "no reason recorded")
            return f"the fingerprint step {state.status}: {reason}"
        return "not fingerprinted yet: run `rushes process`"
    # numpy and faiss load here, for `dups` only: not for `show`.
    from rushes.media.fingerprint import Fingerprint as Hashes
    from rushes.media.matching import too_little

    try:
        return too_little(Hashes.from_bytes(row.data))
    except ValueError:
        return "fingerprinted by an older rushes: run `rushes process --outdated`"
