"""Evidence bags: originals, their records and custody, packed so anyone can check them offline.

A bag is a BagIt bag (RFC 8493, made with bagit-python, SHA-256 and SHA-512 manifests):

    data/originals/<sha256><ext>       the original bytes, copied from the vault untouched
    data/assets/<sha256>.json          what the original is and every arrival of it
    data/derivatives/<sha256>/...      proxy and poster, for viewing only: not evidence
    data/custody/<sha256>.jsonl        the original's custody events, exactly as the log keeps them
    data/custody/chain.jsonl           the chain from the bag's first event to the head (below)
    data/incidents/<code>.json         the incident, its full history and its footage
    data/notes/<sha256>.json           notes marked as evidence, with their replies
    README.txt, verify_bag.py          for the lawyer: what this is and how to check it
                                       (written by rushes.exports.bag_readme)

The custody log is one chain for the whole archive, so one original's events are not adjacent:
between two of them sit other originals' events. To let a reader check the linkage offline
without handing over other footage's records, chain.jsonl carries every event from the bag's
first one to the head, in full for this bag's originals and as `{seq, prev_hash, body_hash,
hash}` only for the rest: every link can be checked (the event's hash is taken over its
`prev_hash` and its salted `body_hash`, rushes.custody), nothing about other footage is told
(events made before 2026-12 show `{seq, prev_hash, hash}`, whose links verify_bag.py can only
take on trust, and says so). The same
bytes may have arrived in another project too: events that name another project are withheld
the same way, so a bag tells nothing of who else holds the footage.

With crew pseudonymised (`Request.pseudonymise_crew`), every crew name in the bag's records is
replaced (rushes.exports.pseudonyms). An event that names crew then shows its links as a
withheld one does and, under `pseudonymised`, its content with the names replaced: the links
are checked to the head, but that content can no longer be checked against its hash outside
the archive, and
verify_bag.py says how many such events there are.

Making the bag is itself a custody event (`exported`, one per original). It is appended once
the bag is complete and names the SHA-256 of the bag's tagmanifest-sha256.txt, which covers
every file; a bag cannot contain the event that describes it, so the bag records the chain
head just before. bagit changes the process's working directory while it works: bags are made
in a process of their own (the command line, or the web's job in rushes.exports.bag_jobs),
never inside the server.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bagit
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes import custody
from rushes.base import Base
from rushes.catalog import Arrival, Asset, CustodyEvent, CustodyHead, Project
from rushes.catalog.models import ContentCredentials, Derivative, Incident, Note, Timestamp
from rushes.catalog.queries import asset_record, find_asset
from rushes.custody import Verb, canonical_json
from rushes.errors import CustodyError, InvalidInput, NotFoundError, VaultError
from rushes.exports.bag_readme import bag_info, contents_row, contents_table, readme
from rushes.exports.pseudonyms import Pseudonyms, crew_names
from rushes.exports.text import flat
from rushes.i18n import N_
from rushes.media.formats import suffix
from rushes.media.probe import strip_sensitive
from rushes.review.incident_records import as_record
from rushes.review.incidents import find_incident, history_of, linked_assets
from rushes.review.notes import Thread, thread_json
from rushes.review.projects import find_project
from rushes.stamps import stamp_quietly

ALGORITHMS = ["sha256", "sha512"]
DERIVATIVE_KINDS = ("proxy", "poster")
INCIDENT_LOCATION = ("latitude", "longitude", "accuracy_m")
VERIFIER = Path(__file__).with_name("bag_verifier.py")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Request:
    """What to pack: an incident's footage or a list of assets, of one project."""

    project: str
    target: Path
    actor: str
    incident: str | None = None
    assets: tuple[str, ...] = ()
    no_location: bool = False  # for a bag that leaves the team: no GPS, no device
    pseudonymise_crew: bool = False  # crew names replaced (see rushes.exports.pseudonyms)


@dataclass(frozen=True)
class Made:
    path: Path
    originals: list[str]
    oxum: str
    head: tuple[int, str]
    tag_manifest_sha256: str


def make_evidence_bag(
    base: Base, request: Request, progress: Callable[[int, int], None] | None = None
) -> Made:
    """Write the bag into TARGET.partial, record the export, then rename it to TARGET, so a
    half-made bag never looks finished. Refuses a TARGET (or leftover .partial) that exists.
    `progress(done, total)` hears of each original copied."""
    target = request.target.absolute()
    partial = target.with_name(target.name + ".partial")
    if partial.exists() or partial.is_symlink():
        raise InvalidInput(
            N_(
                "%(path)s is left from an export that was stopped before it finished (never "
                "recorded as a bag): remove it, then export again"
            ),
            path=partial,
        )
    if target.exists() or target.is_symlink():
        raise InvalidInput(
            N_("%(path)s already exists: a bag is never written over anything"), path=target
        )
    try:
        partial.mkdir(parents=True)
    except OSError as exc:
        raise InvalidInput(
            N_("cannot make %(path)s: %(reason)s"), path=partial, reason=exc.strerror
        ) from exc
    renamed = False
    stamp_quietly(base)  # so a token covers the bag's last events, where a TSA answers
    try:
        with base.catalog.snapshot() as session:
            project = find_project(session, request.project)
            incident = _incident(session, project, request.incident)
            assets = _assets(session, project, request, incident)
            head = session.get(CustodyHead, 1)
            if head is None:
                raise CustodyError("the custody chain head is missing: run `rushes verify`")
            hide = (
                Pseudonyms(project, secrets.token_hex(8), crew_names(session, project))
                if request.pseudonymise_crew
                else None
            )
            for done, asset in enumerate(assets, 1):
                _write_asset(base, session, project, asset, partial, request.no_location, hide)
                if progress:
                    progress(done, len(assets))
            shas = {a.sha256 for a in assets}
            first = _write_chain(session, project, shas, partial / "custody", hide)
            _write_timestamps(session, base, first, head.seq, partial / "timestamps")
            if incident is not None:
                _write_json(
                    partial / "incidents" / f"{incident.code}.json",
                    _shown(hide, _incident_record(session, incident, request.no_location)),
                )
            chosen = bool(request.assets)
            info = bag_info(
                project, incident, len(assets), head, target, chosen, request.no_location
            )
            info["Crew-Names"] = f"pseudonyms of export {hide.export_id}" if hide else "included"
            head_link = (head.seq, head.hash)
            table = contents_table(
                [contents_row(a, project, request.no_location, hide) for a in assets],
                request.no_location,
            )
        bag = bagit.make_bag(str(partial), info, checksums=ALGORITHMS)
        made_by = f"{flat(request.actor)}, {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
        (partial / "README.txt").write_text(
            readme(info, incident, len(assets), chosen, request.no_location, table, made_by),
            encoding="utf-8",
        )
        shutil.copyfile(VERIFIER, partial / "verify_bag.py")
        bag.save()  # the tag manifests now cover README.txt and verify_bag.py too
        fingerprint = hashlib.sha256((partial / "tagmanifest-sha256.txt").read_bytes())
        made = Made(
            target,
            [a.sha256 for a in assets],
            bag.info["Payload-Oxum"],
            head_link,
            fingerprint.hexdigest(),
        )
        with base.catalog.write() as session:
            for sha in made.originals:
                custody.append(
                    session,
                    Verb.EXPORTED,
                    actor=request.actor,
                    asset=sha,
                    details={
                        "bag": target.name,
                        "target": str(target),
                        "payload_oxum": made.oxum,
                        "incident": incident.code if incident else None,
                        "tag_manifest_sha256": made.tag_manifest_sha256,
                        "chain_head_seq": made.head[0],
                        "location_removed": request.no_location,
                        "crew_pseudonyms": hide.export_id if hide else None,
                    },
                )
            partial.rename(target)  # last: if anything before fails, nothing is renamed
            renamed = True
    except BaseException:
        # No finished bag without its `exported` events: a failed commit removes it too.
        shutil.rmtree(target if renamed else partial, ignore_errors=True)
        raise
    return made


def _incident(session: Session, project: Project, code: str | None) -> Incident | None:
    return None if code is None else find_incident(session, project, code)


def _assets(
    session: Session, project: Project, request: Request, incident: Incident | None
) -> list[Asset]:
    """The bag's originals: the incident's footage and the assets named (the union), each
    once, each one that arrived in this project and whose bytes are in the vault."""
    shas = []
    if incident is not None:
        shas = [row.asset_sha256 for row in linked_assets(session, incident, None)]
        if not shas and not request.assets:
            raise InvalidInput(
                N_("incident %(code)s has no footage linked: nothing to bag"), code=incident.code
            )
    shas += [find_asset(session, prefix).sha256 for prefix in request.assets]
    if not shas:
        raise InvalidInput(N_("give --incident or at least one --assets SHA-256"))
    assets = []
    for sha in dict.fromkeys(shas):
        asset = session.get(Asset, sha)
        arrived = session.scalar(
            select(Arrival.id).where(Arrival.asset_sha256 == sha, Arrival.project_id == project.id)
        )
        if asset is None or arrived is None:
            raise NotFoundError(
                N_("asset %(sha256)s is not in project %(project)s"),
                sha256=sha,
                project=project.slug,
            )
        if not asset.in_vault:
            raise InvalidInput(
                N_("asset %(sha256)s: the original is still in the field, not in the vault"),
                sha256=sha,
            )
        assets.append(asset)
    return assets


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def _shown(hide: Pseudonyms | None, value: Any) -> Any:
    return hide.replace(value) if hide else value


def _event_line(event: CustodyEvent, hide: Pseudonyms | None) -> str:
    """An event as a bag shows it: whole, or, when it names crew that are pseudonymised, its
    links and its content with the names replaced (which its hash no longer covers)."""
    record = custody.as_record(event)
    shown = _shown(hide, record)
    if shown == record:
        return canonical_json(record)
    link = custody.link_record(event)
    # Not the salt: with it, the names could be guessed one by one against the body hash.
    content = {name: value for name, value in shown.items() if name not in {*link, "salt"}}
    return canonical_json({**link, "pseudonymised": content})


def _write_asset(
    base: Base,
    session: Session,
    project: Project,
    asset: Asset,
    root: Path,
    no_location: bool,
    hide: Pseudonyms | None,
) -> None:
    sha = asset.sha256
    name = sha + _extension(asset)
    _copy_original(base, sha, root / "originals" / name)
    derivatives = _copy_derivatives(base, session, sha, root / "derivatives" / sha)
    media = strip_sensitive(asset.media) if no_location and asset.media else asset.media
    record = {
        **asset_record(asset, project.id),  # this project's arrivals only
        "media": media,
        "original": f"data/originals/{name}",
        "location_and_device_removed": no_location,
        "content_credentials": _credentials(session, sha, no_location),
        "derivatives": derivatives,
    }
    _write_json(root / "assets" / f"{sha}.json", _shown(hide, record))
    path = root / "custody" / f"{sha}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for event in custody.events(session, sha):
            if _told(event, project):
                out.write(_event_line(event, hide) + "\n")
    _write_json(
        root / "notes" / f"{sha}.json", _shown(hide, _evidence_notes(session, project, sha))
    )


def _credentials(session: Session, sha: str, no_location: bool) -> dict[str, Any] | None:
    """The C2PA manifest the original carried, as read on arrival (the original itself holds
    it too). Without location and device details, only whether it validated is kept."""
    found = session.get(ContentCredentials, sha)
    if found is None:
        return None
    if no_location:
        return {"state": found.state, "failures": found.summary.get("failures", [])}
    return {
        **found.summary,
        "read_at": found.read_at.isoformat(),
        "read_by": found.tool_version,
        "manifest_store": found.store,
    }


def _extension(asset: Asset) -> str:
    """The original's extension, so a player knows what it is: its first arrival's where it
    fits the probed format (rushes.media.formats.suffix)."""
    first = min(asset.arrivals, key=lambda a: a.id, default=None)
    return suffix((asset.media or {}).get("container"), first.path if first else "")


def _copy_original(base: Base, sha: str, path: Path) -> None:
    """A byte-exact copy (never a link: the bag may be edited by whoever receives it), checked
    against its name as it is written, so a rotten vault copy never leaves as evidence."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with base.vault.open(sha) as source, path.open("xb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha:
        raise VaultError(
            f"the vault copy of {sha} no longer matches its hash: run `rushes verify`; "
            "no bag was made"
        )


def _copy_derivatives(base: Base, session: Session, sha: str, folder: Path) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Derivative)
        .where(Derivative.asset_sha256 == sha, Derivative.kind.in_(DERIVATIVE_KINDS))
        .order_by(Derivative.name)
    )
    copied = []
    for row in rows:
        try:
            source = base.derivatives.open(sha, row.name)
        except FileNotFoundError:
            continue  # disposable: a missing one is rebuilt by the pipeline, not needed here
        folder.mkdir(parents=True, exist_ok=True)
        with source, open(folder / row.name, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        copied.append(
            {
                "file": f"data/derivatives/{sha}/{row.name}",
                "kind": row.kind,
                "media_type": row.media_type,
                "size": row.size,
            }
        )
    return copied


def _told(event: CustodyEvent, project: Project) -> bool:
    """Whether a bag of this project shows the event in full: not when it names another."""
    details = json.loads(event.details)
    return not isinstance(details, dict) or details.get("project") in (None, project.slug)


def _write_chain(
    session: Session, project: Project, shas: set[str], folder: Path, hide: Pseudonyms | None
) -> int:
    """Every event from the bag's first to the head: in full for this bag's originals, as its
    links only for the rest (see the module's docstring). Returns the first event's seq."""
    first = session.scalar(
        select(CustodyEvent.seq).where(CustodyEvent.asset_sha256.in_(shas)).order_by("seq")
    )
    query = select(CustodyEvent).where(CustodyEvent.seq >= (first or 0)).order_by("seq")
    with (folder / "chain.jsonl").open("w", encoding="utf-8", newline="\n") as out:
        for event in session.scalars(query.execution_options(yield_per=1000)):
            if event.asset_sha256 in shas and _told(event, project):
                line = _event_line(event, hide)
            else:
                line = canonical_json(custody.link_record(event))
            out.write(line + "\n")
    return first or 0


def _write_timestamps(session: Session, base: Base, first: int, last: int, folder: Path) -> None:
    """The TSA replies of the chain's events in the bag (`<seq>.tsr`, DER, as the TSA sent
    them), a list of what each stamps, and the TSAs' root certificates."""
    rows = session.scalars(
        select(Timestamp).where(Timestamp.seq.between(first, last)).order_by(Timestamp.seq)
    ).all()
    if not rows:
        return
    folder.mkdir()
    listed = []
    for row in rows:
        name = f"{row.seq}-{row.id}.tsr"
        (folder / name).write_bytes(row.response)
        listed.append(
            {
                "file": name,
                "seq": row.seq,
                "hash": row.head_hash,
                "tsa": row.tsa,
                "time": f"{row.gen_time:%Y-%m-%dT%H:%M:%SZ}",
            }
        )
    _write_json(folder / "timestamps.json", listed)
    if base.settings.tsa_ca and Path(base.settings.tsa_ca).is_file():
        shutil.copyfile(base.settings.tsa_ca, folder / "tsa-roots.pem")


def _evidence_notes(session: Session, project: Project, sha: str) -> list[dict[str, Any]]:
    notes = session.scalars(
        select(Note)
        .where(
            Note.project_id == project.id,
            Note.asset_sha256 == sha,
            Note.category == "evidence",
            Note.parent_id.is_(None),
        )
        .order_by(Note.created_at, Note.id)
    ).all()
    threads = []
    for note in notes:
        replies = session.scalars(
            select(Note).where(Note.parent_id == note.id).order_by(Note.created_at, Note.id)
        ).all()
        threads.append(thread_json(Thread(note, list(replies))))
    return threads


def _incident_record(session: Session, incident: Incident, no_location: bool) -> dict[str, Any]:
    record = as_record(session, incident, None)
    record["history"] = [
        {"at": c.at.isoformat(), "user": c.user, "field": c.field, "old": c.old, "new": c.new}
        for c in history_of(session, incident, None)
        if not (no_location and c.field in INCIDENT_LOCATION)
    ]
    record["created_at"] = incident.created_at.isoformat()
    record["updated_at"] = incident.updated_at.isoformat()
    if no_location:
        for name in INCIDENT_LOCATION:
            record.pop(name, None)
        record["location_removed"] = True
    return record
