"""`rushes export share`: redacted copies for outside eyes (rules in rushes.exports.share), and
`rushes export who`: whom a crew pseudonym of a share folder or evidence bag stands for."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from sqlalchemy import select

from rushes.catalog.models import CustodyEvent
from rushes.catalog.queries import find_asset
from rushes.cli.common import opened_base
from rushes.cli.console import err, out
from rushes.custody import Verb
from rushes.exports.pseudonyms import crew_names, reveal
from rushes.exports.share import Piece, pieces_of_selects, share
from rushes.review import audit
from rushes.review.projects import find_project


@click.command(name="share")
@click.option("--project", "-p", required=True, help="The project's slug.")
@click.option(
    "--assets", "shas", multiple=True, help="A clip's SHA-256 (a prefix will do); repeatable."
)
@click.option("--selects", is_flag=True, help="Every select of the project, just its range.")
@click.option(
    "-o", "--output", "target", required=True, type=click.Path(path_type=Path),
    help="A new folder for the copies and share.json.",
)  # fmt: skip
@click.option("--to", "to", required=True, help="Who receives the copies (for the custody log).")
@click.option("--why", required=True, help="Why they are shared (for the custody log).")
@click.option("--pseudonymise-crew", is_flag=True, help="Crew names replaced by pseudonyms.")
@click.option(
    "--keep-faces", is_flag=True, help="Do not hide faces (drawn regions are still hidden)."
)
@click.option("--actor", default=None, help="Who shares, for the custody log.")
def share_command(
    project: str,
    shas: tuple[str, ...],
    selects: bool,
    target: Path,
    to: str,
    why: str,
    pseudonymise_crew: bool,
    keep_faces: bool,
    actor: str | None,
) -> None:
    """Make redacted copies of clips for partners, press or the public: faces hidden in every
    frame, the regions and sounds redacted in the player hidden, no location, device, date or
    file name in the files. The originals are untouched; each gets a `shared` custody event."""
    if not shas and not selects:
        raise click.UsageError("give --assets, --selects or both")
    with opened_base() as base:
        with base.catalog.read() as session:
            pieces = [Piece(find_asset(session, sha).sha256) for sha in shas]
        if selects:
            pieces += pieces_of_selects(base, project)
        made = share(
            base,
            project,
            pieces,
            target,
            actor=actor or base.settings.actor,
            to=to,
            why=why,
            faces=not keep_faces,
            pseudonymise_crew=pseudonymise_crew,
        )
    for copy in made.copies:
        hidden = copy["hidden"]
        err.print(
            f"{copy['file']}: faces hidden in {hidden['frames_with_faces']} of {copy['frames']} "
            f"frames, regions in {hidden['frames_with_regions']}, "
            f"{hidden['muted_s']} s muted or bleeped"
        )
    out.print(escape(str(made.folder)))


@click.command(name="who")
@click.option("--project", "-p", required=True, help="The project's slug.")
@click.option("--actor", default=None, help="Who asks, for the audit trail.")
@click.argument("export_id")
@click.argument("shown")
def who_command(project: str, actor: str | None, export_id: str, shown: str) -> None:
    """The crew member behind pseudonym SHOWN in the share folder or evidence bag EXPORT_ID
    (share.json's "export", or bag-info.txt's Crew-Names). Only the base can tell, and each
    asking is kept in the audit trail."""
    export_id = export_id.removeprefix("pseudonyms of export ").strip()
    with opened_base() as base, base.catalog.write() as session:
        found = find_project(session, project)
        known = session.scalar(
            select(CustodyEvent.seq)
            .where(
                CustodyEvent.verb.in_([Verb.SHARED, Verb.EXPORTED]),
                CustodyEvent.details.contains(export_id),
            )
            .limit(1)
        )
        name = (
            reveal(found, export_id, shown, crew_names(session, found).values()) if known else None
        )
        audit.record(
            session,
            actor or base.settings.actor,
            "pseudonym-revealed",
            shown,
            project=project,
            export=export_id,
            found=name is not None,
        )
    if known is None:
        raise click.ClickException(f"no share folder or evidence bag {export_id} was made here")
    if name is None:
        raise click.ClickException(f"{shown} is no crew member of {project} in export {export_id}")
    out.print(escape(name))
