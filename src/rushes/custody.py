"""The custody log: every touch of an original, as an append-only hash chain.

Each event's hash is SHA-256 over its link (`hashed_bytes`): the previous event's hash and the
SHA-256 of what the event says, salted (`body_hash`). Editing, deleting or reordering any event
breaks the chain from that point on, and an event shown to outside eyes without its content
(another project's footage in an evidence bag) still proves its link: its body hash is shown
instead, and the salt keeps anyone holding that footage from confirming what it says. Events
made before 2026-12 have no salt and are hashed whole, links included (`_v1_bytes`); they stay
as they were. The head row in the catalog records the last link, so a deleted tail shows too.
The format needs nothing beyond Python's standard library to check (see docs/evidence-model.md).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rushes import TOOL
from rushes.catalog import CustodyEvent, CustodyHead
from rushes.errors import CustodyError

GENESIS = "0" * 64
_MAX_PROBLEMS = 100


class Verb(StrEnum):
    """What happened. Kept close to PREMIS event types so archivists recognise them."""

    MANIFESTED = "manifested"  # hashed by the crew's field kit; the bytes are still in the field
    RECEIVED = "received"
    DUPLICATE_RECEIVED = "duplicate-received"
    PROBED = "probed"
    PROBE_FAILED = "probe-failed"
    FIXITY_OK = "fixity-ok"
    FIXITY_FAILED = "fixity-failed"
    # `rushes verify --quick`: the store's own SHA-256 checksum and retention, bytes not read
    STORE_CHECK_OK = "store-check-ok"
    STORE_CHECK_FAILED = "store-check-failed"
    ORIGINAL_DOWNLOADED = "original-downloaded"
    EXPORTED = "exported"
    SHARED = "shared"  # a redacted copy left the base: to whom, why, what was hidden
    DELETED = "deleted"
    REPAIRED = "repaired"
    LEGAL_HOLD = "legal-hold"  # the store's legal hold put on (or off) the original, per incident
    REPLICATED = "replicated"  # a hash-checked second copy of the original, in a replica vault
    BACKED_UP = "backed-up"  # a snapshot of the catalog (the vault's hashes, not its bytes)
    RESTORED = "restored"  # the base, or one original, brought back from a backup or replica
    CHAIN_VERIFIED = "chain-verified"
    TIMESTAMPED = "timestamped"  # a time-stamping authority signed the chain head (RFC 3161)
    PROVENANCE_READ = "provenance-read"  # the original's C2PA manifest was read and validated


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


_SAYS = ("seq", "at", "asset", "verb", "actor", "tool", "details")


def body_hash(event: dict[str, Any]) -> str:
    """SHA-256 of what a salted event says: every field but its links."""
    body = {k: event[k] for k in (*_SAYS, "salt")}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def link_bytes(body_sha256: str, prev_hash: str) -> bytes:
    """A salted event's hashed bytes: its body's hash and the link to the one before, so the
    chain can be checked from hashes alone, without what the events say."""
    return canonical_json({"body_hash": body_sha256, "prev_hash": prev_hash}).encode("utf-8")


def hashed_bytes(event: dict[str, Any]) -> bytes:
    """The exact bytes an event's hash is taken over (and a timestamp's message)."""
    if event.get("salt") is None:
        return _v1_bytes(event)
    return link_bytes(body_hash(event), event["prev_hash"])


def _v1_bytes(event: dict[str, Any]) -> bytes:
    """An unsalted event's: all of it but `hash`, links included. Shown without its content,
    such an event's link cannot be checked (bag_verifier says so)."""
    body = {k: event[k] for k in _SAYS}
    body["prev_hash"] = event["prev_hash"]
    return canonical_json(body).encode("utf-8")


def event_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(hashed_bytes(event)).hexdigest()


def as_record(event: CustodyEvent) -> dict[str, Any]:
    """The event as exported (JSON Lines) and as hashed; `salt` only where it has one."""
    record = {
        "seq": event.seq,
        "at": event.at,
        "asset": event.asset_sha256,
        "verb": event.verb,
        "actor": event.actor,
        "tool": event.tool,
        "details": json.loads(event.details),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
    if event.salt is not None:
        record["salt"] = event.salt
    return record


def link_record(event: CustodyEvent) -> dict[str, Any]:
    """The event without what it says: its place in the chain, and (salted) the hash of its
    content, from which its own hash is checked."""
    link = {"seq": event.seq, "prev_hash": event.prev_hash, "hash": event.hash}
    if event.salt is not None:
        link["body_hash"] = body_hash(as_record(event))
    return link


def _timestamp(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lock_head(session: Session) -> CustodyHead:
    """Lock the chain head for the rest of the transaction (a row lock on PostgreSQL; SQLite
    write transactions already hold the database lock). Writers that read before they write
    take it first, so two of them cannot both decide an asset is new."""
    head = session.execute(
        select(CustodyHead)
        .where(CustodyHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None:
        raise CustodyError("the custody chain head is missing: the log was tampered with")
    return head


def append(
    session: Session,
    verb: Verb,
    *,
    actor: str,
    asset: str | None = None,
    details: dict[str, Any] | None = None,
    tool: str = TOOL,
) -> CustodyEvent:
    """Append one event inside the caller's transaction; it lands only if that commits."""
    return append_many(session, [(verb, asset, details)], actor=actor, tool=tool)[0]


def append_many(
    session: Session,
    events: Iterable[tuple[Verb, str | None, dict[str, Any] | None]],
    *,
    actor: str,
    tool: str = TOOL,
) -> list[CustodyEvent]:
    """Append (verb, asset, details) events in order inside the caller's transaction, the head
    locked and moved once: a verify of 10,000 originals logs 10,000 events, and one round trip
    per event was most of its time."""
    head = lock_head(session)
    seq, prev = head.seq, head.hash
    made = []
    for verb, asset, details in events:
        seq += 1
        record = {
            "seq": seq,
            "at": _timestamp(),
            "asset": asset,
            "verb": str(verb),
            "actor": actor,
            "tool": tool,
            "details": details or {},
            "salt": secrets.token_hex(16),
            "prev_hash": prev,
        }
        digest = event_hash(record)
        made.append(
            CustodyEvent(
                seq=seq,
                at=record["at"],
                asset_sha256=asset,
                verb=record["verb"],
                actor=actor,
                tool=tool,
                details=canonical_json(record["details"]),
                salt=record["salt"],
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    session.add_all(made)
    head.seq, head.hash = seq, prev
    session.flush()
    return made


@dataclass
class ChainReport:
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def head_missing(self) -> bool:
        return self.head_hash == ""

    def problem(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
        elif len(self.problems) == _MAX_PROBLEMS:
            self.problems.append("… more problems not listed")


def events(session: Session, asset: str | None = None) -> Iterator[CustodyEvent]:
    query = select(CustodyEvent).order_by(CustodyEvent.seq)
    if asset is not None:
        query = query.where(CustodyEvent.asset_sha256 == asset)
    yield from session.scalars(query.execution_options(yield_per=1000))


# What the log says of the state of the vault's own copy of an original, latest first.
_COPY_STATE = (Verb.FIXITY_OK, Verb.FIXITY_FAILED, Verb.REPAIRED, Verb.RESTORED)


def copy_failed(session: Session, asset: str) -> bool:
    """Whether the vault's copy of `asset` failed its last fixity check and was not repaired or
    restored since. Events about a replica's copy name it in `details.copy` (a repair of the
    vault's own copy from a replica says "vault"); details are canonical JSON, where a quote
    inside a value is escaped, so `"copy":` can only be that key."""
    latest = session.scalar(
        select(CustodyEvent.verb)
        .where(
            CustodyEvent.asset_sha256 == asset,
            CustodyEvent.verb.in_([v.value for v in _COPY_STATE]),
            or_(
                ~CustodyEvent.details.contains('"copy":', autoescape=True),
                CustodyEvent.details.contains('"copy":"vault"', autoescape=True),
            ),
        )
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    )
    return latest == Verb.FIXITY_FAILED


def verify_chain(session: Session) -> ChainReport:
    """Walk the whole chain and name every event that does not check out."""
    head = session.get(CustodyHead, 1)
    report = ChainReport(head_seq=head.seq if head else 0, head_hash=head.hash if head else "")
    expected_seq, prev = 1, GENESIS
    for event in events(session):
        report.events += 1
        if event.seq != expected_seq:
            report.problem(
                f"events {expected_seq}..{event.seq - 1} are missing (deleted from the log)"
                if event.seq > expected_seq
                else f"event {event.seq} is out of order"
            )
        if event.prev_hash != prev:
            report.problem(f"event {event.seq}: link to the previous event is broken")
        try:
            intact = event_hash(as_record(event)) == event.hash
        except ValueError:
            report.problem(f"event {event.seq}: details are not valid JSON (edited)")
        else:
            if not intact:
                report.problem(f"event {event.seq} ({event.verb}): content does not match its hash")
        expected_seq, prev = event.seq + 1, event.hash
    if head is None:
        report.problem("the chain head is missing")
    elif (head.seq, head.hash) != (expected_seq - 1, prev):
        report.problem(
            f"the chain head names event {head.seq} but the log ends at event "
            f"{expected_seq - 1}: events were removed or the head was altered"
        )
    return report


def export_jsonl(session: Session, out: TextIO, asset: str | None = None) -> int:
    """Write events as JSON Lines, one canonical object per line; returns the count."""
    count = 0
    for event in events(session, asset):
        out.write(canonical_json(as_record(event)) + "\n")
        count += 1
    return count
