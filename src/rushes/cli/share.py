"""`rushes export share`: redacted copies for outside eyes (rules in rushes.exports.share)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from rushes.catalog.queries import find_asset
from rushes.cli.common import err, opened_base, out
from rushes.exports.share import Piece, pieces_of_selects, share


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
            f"frames, regions in {hidden['frames_with_regions']}, {hidden['muted_s']} s muted"
        )
    out.print(escape(str(made.folder)))
