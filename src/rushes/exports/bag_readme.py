"""README.txt and bag-info.txt of an evidence bag: the words a lawyer reads first.

Plain text, one line per tag (a newline in a name would forge a tag line of its own), and
names flattened to one line for the same reason.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import bagit

from rushes import TOOL
from rushes.catalog import Asset, CustodyHead, Project
from rushes.catalog.models import Incident
from rushes.exports.pseudonyms import Pseudonyms
from rushes.exports.text import flat
from rushes.review.names import file_name


def bag_info(
    project: Project,
    incident: Incident | None,
    count: int,
    head: CustodyHead,
    target: Path,
    chosen: bool,
    no_location: bool,
) -> dict[str, str]:
    """bag-info.txt's tags: who made the bag, of what, and the chain head it holds."""
    subject = (
        f"incident {incident.code}: {flat(incident.title)}"
        + (" and footage chosen by hash" if chosen else "")
        if incident
        else "footage chosen by hash"
    )
    return {  # one line each: a newline in a name would forge a tag line of its own
        "Source-Organization": flat(project.name or project.slug),
        "Bagging-Date": datetime.now(UTC).date().isoformat(),
        "External-Description": (
            f"Evidence bag of project {project.slug}, {subject}: {count} original(s) with their "
            "records and chain of custody. Read README.txt; check with python3 verify_bag.py ."
        ),
        "External-Identifier": target.name,
        "Bag-Software-Agent": f"{TOOL} with bagit.py {bagit.VERSION}",
        "Custody-Chain-Head": f"{head.seq} {head.hash}",
        "Location-And-Device-Metadata": "removed" if no_location else "included",
    }


def contents_row(
    asset: Asset, project: Project, no_location: bool, hide: Pseudonyms | None = None
) -> list[str]:
    """One original as README.txt lists it: names, crews (or their pseudonyms) and arrival
    paths of its arrivals in this project, each once however often it arrived that way."""
    arrivals = [a for a in asset.arrivals if a.project_id == project.id]
    names = dict.fromkeys(
        flat(hide.replace(name) if hide else name)
        for name in (file_name(bytes(a.path_bytes)) for a in arrivals)
    )
    crews = dict.fromkeys(flat(hide.of(a.crew) if hide else a.crew) for a in arrivals if a.crew)
    paths = dict.fromkeys(a.via for a in arrivals)
    captured = f"{asset.captured_at:%Y-%m-%d %H:%M:%S} UTC" if asset.captured_at else "unknown"
    row = [", ".join(names), ", ".join(crews) or "unknown", captured]
    if not no_location:
        where = (asset.media or {}).get("location") or {}
        has = where.get("latitude") is not None and where.get("longitude") is not None
        row.append(f"{where['latitude']:.5f}, {where['longitude']:.5f}" if has else "unknown")
    return [*row, ", ".join(paths), asset.sha256]


def contents_table(rows: list[list[str]], no_location: bool) -> str:
    """A plain-text table, columns padded to their widest cell: readable in any editor."""
    heads = ["File name", "Filmed by", "Captured", "Place", "Arrived by", "SHA-256"]
    if no_location:
        heads.remove("Place")
    widths = [max(len(cell) for cell in column) for column in zip(heads, *rows, strict=False)]
    lines = [heads, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def readme(
    info: dict[str, str],
    incident: Incident | None,
    count: int,
    chosen: bool,
    no_location: bool,
    table: str,
    made_by: str,
) -> str:
    """README.txt: what the bag holds and how to check it, for a lawyer, not a programmer."""
    seq, digest = info["Custody-Chain-Head"].split()
    gps = "Where each clip was filmed is left out of this bag.\n\n" if no_location else ""
    subject = (
        f"the footage of incident {incident.code} ({flat(incident.title)})"
        + (" and footage chosen one by one" if chosen else "")
        if incident
        else "footage chosen one by one"
    )
    location = (
        "The records in this bag leave out where each clip was filmed and on which device "
        "(GPS position, camera make and model), and the incident's coordinates. The original "
        "files themselves are untouched, so any such tags the camera wrote INSIDE them are "
        "still there: open them only where that is acceptable."
        if no_location
        else "The records in this bag include where each clip was filmed (GPS) and on which "
        "device, when the camera recorded them. Treat the bag as sensitive."
    )
    crew = (
        "\n"
        + textwrap.fill(
            "The names of the crew who filmed are replaced in this bag by pseudonyms such "
            "as crew-1a2b3c4d (the same person has the same one throughout the bag, another in "
            "another bag; only the archive can tell who they are). An event that names crew "
            'shows its links and, under "pseudonymised", what it says with the names replaced: '
            "its links are checked, but what it says can no longer be checked against its "
            "fingerprint outside the archive, which can show the event as it is.",
            width=95,
        )
        + "\n"
        if info.get("Crew-Names", "included") != "included"
        else ""
    )
    return f"""EVIDENCE BAG
============

From: {info["Source-Organization"]}
Made: {info["Bagging-Date"]} by {info["Bag-Software-Agent"]}
Made by: {made_by}
What: {subject}, {count} original file(s).

THE ORIGINALS
File name: as it was on the camera's card. Arrived by: how it reached the archive (ingest:
a card read on the base; upload: sent over the internet; manifest: hashed in the field first).
{gps}{table}

WHAT IS INSIDE
- data/originals/: the original files exactly as they reached the archive, byte for byte.
  Each is named by its SHA-256 hash, a 64-character fingerprint of its contents: change one
  byte and the fingerprint changes completely.
- data/assets/: one record per original: its hashes, size, what the file contains, and every
  time it reached the archive (from which card or upload, which crew, original file name, when).
- data/custody/: the chain of custody (see below).
- data/incidents/: the incident record, with every change ever made to it, who made it and
  when. (Only when the bag was made for an incident.)
- data/notes/: notes the team marked as evidence on each original, with replies.
- data/derivatives/: small viewing copies (proxy videos, poster frames) made FROM the
  originals for convenience. They are NOT evidence: rely only on data/originals/.
- manifest-*.txt, tagmanifest-*.txt, bagit.txt, bag-info.txt: the BagIt packaging (a
  Library of Congress standard, RFC 8493): the SHA-256 and SHA-512 of every file.

{location}

HOW TO CHECK IT (offline, on any computer with Python 3)
Open a terminal in this folder and run:

    python3 verify_bag.py .

It needs no internet and nothing else installed. It re-computes the fingerprint of every file
and every custody event and ends with either "VERIFIED: ..." or a list of "FAILED: ..." lines
naming each file that is missing, added or changed. verify_bag.py is a short, readable program:
anyone can read what it checks. The standard tool `bagit.py --validate .` checks the packaging
as well.

WHAT A CHAIN OF CUSTODY IS
Every time the archive touched an original (received it, checked it, exported it) it wrote an
event: when, who, with which tool, what happened. Each event carries the fingerprint of the one
before it, so the events form a chain: editing, removing or reordering any event breaks every
link after it. data/custody/<sha256>.jsonl holds each original's events in full.
data/custody/chain.jsonl holds the whole chain from this bag's first event to the last one
before the bag was made (event {seq}, fingerprint {digest}); events about other footage appear
there only as their links (number, fingerprints, and a fingerprint of what they say that
shows nothing of it), which lets every link be checked without a gap.
{crew}
Making this bag was itself recorded in the archive's chain, as one "exported" event per
original written just after event {seq}. Those events name this bag and the SHA-256 of its
tagmanifest-sha256.txt (printed by verify_bag.py), so the archive can show that it made
exactly this bag. They cannot be inside the bag they describe.

TRUSTED TIMESTAMPS (data/timestamps/, when the archive has a time-stamping authority)
A whole chain could in principle be rewritten, every fingerprint recomputed. Against that, the
archive sends the fingerprint of its latest event to an independent time-stamping authority
(RFC 3161), which signs it with the time. Each .tsr file there is such a signature, exactly as
the authority sent it; timestamps.json says which event each one vouches for, and
tsa-roots.pem holds the authorities' root certificates. verify_bag.py checks that each one
vouches for the fingerprint that event has in data/custody/chain.jsonl, and where the standard
`openssl` program is installed it also checks the authority's signature (otherwise it prints
the openssl command to run). A signature proves that the chain up to that event existed, as it
is here, no later than the signed time. Without any, compare event {seq} and its fingerprint
with a copy of the chain head kept outside the archive (a signed message or printed report),
or with the archive's own log.

CONTENT CREDENTIALS (C2PA)
Some phones and camera apps sign what they film with a C2PA "content credential": who signed,
with which app or device, when, and what was done. When an original carried one, its record
in data/assets/ has "content_credentials": what the archive's C2PA reader found when the file
arrived, including whether the signature and the file still matched ("Trusted" or "Valid":
intact; "Invalid": the file or signature does not match; "unreadable": damaged). The
credential itself is inside the original file, untouched, so any C2PA reader (for example
c2patool, or contentcredentials.org/verify) can check it again. Viewing copies in
data/derivatives/ may carry the archive's own C2PA signature naming the original's SHA-256.
A credential shows who signed a file and that it has not changed since; it does not show
that what the picture shows is true.
"""
