"""`rushes export evidence` (an evidence bag) and `rushes verify-bag` (check one, offline).

`evidence` joins the `export` group in cli/export.py; `verify-bag` is a top-level
command that runs the very verifier each bag carries as verify_bag.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from rushes.cli.common import opened_base
from rushes.cli.console import err, out
from rushes.exports import bag_verifier
from rushes.exports.evidence import Request, make_evidence_bag
from rushes.stamps import stamp_quietly


@click.command()
@click.option("--project", "-p", required=True, help="The project's slug.")
@click.option("--incident", default=None, help="Bag this incident's footage (its code).")
@click.option(
    "--assets",
    "shas",
    multiple=True,
    help="Bag this asset (SHA-256 or a unique prefix); repeat for each.",
)
@click.option(
    "--output",
    "-o",
    "target",
    required=True,
    type=click.Path(path_type=Path),
    help="The bag's folder; must not exist yet.",
)
@click.option(
    "--no-location",
    is_flag=True,
    help="Leave GPS and device out of the records, for a bag that goes beyond the team.",
)
@click.option(
    "--pseudonymise-crew",
    is_flag=True,
    help="Crew names replaced by pseudonyms of this bag (`rushes export who` maps them back).",
)
@click.option("--actor", default=None, help="Who makes the bag, for the custody log.")
def evidence(
    project: str,
    incident: str | None,
    shas: tuple[str, ...],
    target: Path,
    no_location: bool,
    pseudonymise_crew: bool,
    actor: str | None,
) -> None:
    """Pack originals, their records, custody chain and evidence notes into a BagIt bag that
    anyone can check offline with `python3 verify_bag.py` inside it. --incident and --assets
    may be combined: the bag holds the incident's footage and the assets named."""
    if incident is None and not shas:
        raise click.UsageError("give --incident, --assets or both (the bag holds the union)")
    with opened_base() as base:
        request = Request(
            project=project,
            target=target,
            actor=actor or base.settings.actor,
            incident=incident,
            assets=shas,
            no_location=no_location,
            pseudonymise_crew=pseudonymise_crew,
        )
        made = make_evidence_bag(base, request)
        stamped = stamp_quietly(base)  # the export itself, in the log outside the bag
    err.print(
        f"{len(made.originals)} originals, Payload-Oxum {made.oxum}, chain head before the "
        f"export: event {made.head[0]}; SHA-256 of tagmanifest-sha256.txt: "
        f"{made.tag_manifest_sha256}"
    )
    if stamped:
        err.print(escape(stamped))
    out.print(escape(str(made.path)))


@click.command(name="verify-bag")
@click.argument("path", type=click.Path(path_type=Path))
def verify_bag(path: Path) -> None:
    """Check an evidence bag: every file against both manifests and the custody chain.
    Prints VERIFIED or each problem (FAILED: ...), and exits 0 or 1."""
    sys.exit(bag_verifier.main([str(path)]))
