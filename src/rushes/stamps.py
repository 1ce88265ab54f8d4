"""Trusted timestamps (RFC 3161) of the custody chain head.

The hash chain shows any edit to the log but one: whoever can write the database can edit an
event and recompute every hash after it. A time-stamping authority's signature over the head,
kept here and in every bag, fixes the chain as it stood at that moment; `verify_stamps` checks
each token and that the event it names still has the hash that was signed, so a rewritten
chain is caught even when it is consistent.

The request's message is the head event's canonical bytes, so the token's imprint is the
event's own SHA-256: `openssl ts -verify -digest <event hash>` checks it with nothing from
rushes. Stamping never blocks the work that asks for it: when no TSA answers with a valid
token, the try's error is recorded (the status page shows it) and the next call tries again.
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimeStampRequest,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rushes import custody
from rushes.base import Base
from rushes.catalog import CustodyEvent, utcnow
from rushes.catalog.models import CustodyHead, Timestamp, TimestampTries
from rushes.custody import Verb
from rushes.errors import ConfigError, RushesError
from rushes.settings import Settings

TIMEOUT_S = 10.0  # a TSA that takes longer is down for this try
LARGEST_REPLY = 1 << 20  # tokens are a few kB; a TSA sending more is not one
EVERY = timedelta(hours=1)  # while events keep coming, the head is stamped at least this often
QUIET = timedelta(
    seconds=30
)  # a batch (a sync, an export) has ended after this long without events
RETRY = timedelta(minutes=1)  # after a failed try
POLL_S = 5.0  # how often the server looks whether a stamp is due

log = logging.getLogger("rushes.stamps")


class StampError(RushesError):
    pass


@dataclass(frozen=True)
class Stamped:
    seq: int
    tsa: str
    gen_time: datetime


def authorities(settings: Settings) -> list[str]:
    return settings.tsa_urls.split()


def roots(settings: Settings) -> list[x509.Certificate]:
    """The certificates a TSA's must chain to (RUSHES_TSA_CA)."""
    if settings.tsa_ca is None:
        raise ConfigError("RUSHES_TSA_CA is not set: timestamps cannot be checked")
    try:
        return x509.load_pem_x509_certificates(Path(settings.tsa_ca).read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"RUSHES_TSA_CA ({settings.tsa_ca}): {exc}") from exc


def unstamped_head(session: Session) -> CustodyEvent | None:
    """The head event, if anything but a stamp was logged after the last stamp."""
    last = session.scalar(select(func.max(Timestamp.seq))) or 0
    newer = session.scalar(
        select(func.count())
        .select_from(CustodyEvent)
        .where(CustodyEvent.seq > last, CustodyEvent.verb != Verb.TIMESTAMPED)
    )
    head = session.get(CustodyHead, 1)
    return session.get(CustodyEvent, head.seq) if newer and head else None


def stamp(base: Base) -> Stamped | None:
    """Have the chain head stamped by the first configured TSA that gives a valid token.

    None: no TSA configured, or nothing logged since the last stamp. Raises StampError (the
    try recorded) when none did; the caller's own work stands either way.
    """
    urls = authorities(base.settings)
    if not urls:
        return None
    with base.catalog.read() as session:
        head = unstamped_head(session)
        if head is None:
            return None
        seq, digest = head.seq, head.hash
        message = custody.hashed_bytes(custody.as_record(head))
    request = TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256).build()
    trusted = roots(base.settings)
    errors = []
    for url in urls:
        try:
            reply = _ask(url, request)
            _check(reply, bytes.fromhex(digest), trusted, request)
        except StampError as exc:
            errors.append(f"{url}: {exc}")
            continue
        made = Stamped(seq, url, reply.tst_info.gen_time)
        with base.catalog.write() as session:
            session.add(
                Timestamp(
                    seq=seq,
                    head_hash=digest,
                    tsa=url,
                    gen_time=made.gen_time,
                    response=reply.as_bytes(),
                )
            )
            custody.append(
                session,
                Verb.TIMESTAMPED,
                actor=base.settings.actor,
                details={"seq": seq, "hash": digest, "tsa": url, "time": _iso(made.gen_time)},
            )
            _tried(session, "")
        return made
    error = "; ".join(errors)
    with base.catalog.write() as session:
        _tried(session, error)
    raise StampError(f"no time-stamping authority stamped event {seq}: {error}")


def stamp_quietly(base: Base) -> str:
    """`stamp`, for commands that go on whatever happens: a line to show, or ""."""
    try:
        made = stamp(base)
    except (StampError, ConfigError) as exc:
        return f"not timestamped (tried again later): {exc}"
    if made is None:
        return ""
    return f"custody chain timestamped at event {made.seq} by {made.tsa} ({_iso(made.gen_time)})"


def due(session: Session, now: datetime) -> bool:
    """Whether the server should stamp now: the head moved, and either a batch has ended
    (nothing logged for QUIET) or the last stamp is older than EVERY; not within RETRY of a
    failed try."""
    tried = session.get(TimestampTries, 1)
    if tried and tried.error and now - tried.tried_at < RETRY:
        return False
    head = unstamped_head(session)
    if head is None:
        return False
    last = session.scalar(select(func.max(Timestamp.gen_time)))
    logged = datetime.fromisoformat(head.at.replace("Z", "+00:00"))
    return now - logged >= QUIET or last is None or now - last >= EVERY


def summary(session: Session, settings: Settings) -> dict[str, Any]:
    """Where stamping stands, for the status page: the last stamp, events logged since, and
    the last try's error while no stamp has followed it."""
    last = session.scalar(select(Timestamp).order_by(Timestamp.seq.desc()).limit(1))
    head = session.get(CustodyHead, 1)
    tried = session.get(TimestampTries, 1)
    return {
        "authorities": authorities(settings),
        "stamps": session.scalar(select(func.count()).select_from(Timestamp)),
        "last_seq": last.seq if last else None,
        "last_tsa": last.tsa if last else None,
        "last_time": _iso(last.gen_time) if last else None,
        "unstamped_events": (head.seq if head else 0) - (last.seq if last else 0),
        "error": tried.error if tried else "",
        "error_at": _iso(tried.tried_at) if tried and tried.error else None,
    }


class Keeper(threading.Thread):
    """Stamps the head inside `rushes serve` whenever `due`: after each batch of arrivals or
    exports, hourly while events keep coming, and again after a failed try."""

    def __init__(self, base: Base) -> None:
        super().__init__(name="rushes-stamps", daemon=True)
        self.base = base
        self.stopping = threading.Event()

    def run(self) -> None:
        # A look at once: a head left unstamped while no server ran is stamped at its start.
        while True:
            try:
                with self.base.catalog.read() as session:
                    go = due(session, utcnow())
                if go:
                    log.info("%s", stamp_quietly(self.base))
            except Exception:  # noqa: BLE001 - keep serving; the next poll tries again
                log.exception("timestamps: try failed")
            if self.stopping.wait(POLL_S):
                return

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=TIMEOUT_S * 2)


@dataclass
class StampReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    # Why the tokens could not be checked here (no RUSHES_TSA_CA): not proof either way, so no
    # failure, but said, so nobody takes stamps for checked that were not.
    unchecked: str = ""


def verify_stamps(session: Session, settings: Settings) -> StampReport:
    """Check every token (signature, chain to RUSHES_TSA_CA, imprint = the stamped hash) and
    that each stamped event still has that hash in today's chain. The first stamped event
    that does not is named: the chain was rewritten at or before it."""
    report = StampReport()
    rows = session.scalars(select(Timestamp).order_by(Timestamp.seq, Timestamp.id)).all()
    if not rows:
        return report
    try:
        trusted = roots(settings)
    except ConfigError as exc:
        report.unchecked = f"{len(rows)} not checked: {exc}"
        return report
    seqs = {row.seq for row in rows}
    today = dict(
        session.execute(
            select(CustodyEvent.seq, CustodyEvent.hash).where(CustodyEvent.seq.in_(seqs))
        ).all()
    )
    holds = 0  # the last stamped event that still matches
    rewritten = False
    for row in rows:
        report.checked += 1
        when = _iso(row.gen_time)
        try:
            reply = decode(row.response)
            imprint = reply.tst_info.message_imprint.message
            if imprint != bytes.fromhex(row.head_hash):
                raise StampError(
                    f"the token vouches for hash {imprint.hex()[:16]}…, not for this event's "
                    f"{row.head_hash[:16]}…: it belongs to another event or file"
                )
            _check(reply, bytes.fromhex(row.head_hash), trusted)
        except (StampError, ValueError) as exc:
            report.problems.append(f"timestamp of event {row.seq} by {row.tsa}: {exc}")
            continue
        if today.get(row.seq) == row.head_hash:
            holds = row.seq
        elif not rewritten:
            rewritten = True
            after = f"; event {holds} still matches its stamp" if holds else ""
            report.problems.append(
                f"event {row.seq} is not the event a TSA stamped at {when} (hash "
                f"{row.head_hash[:16]}…): the chain was rewritten at or before it{after}"
            )
    return report


def decode(data: bytes) -> TimeStampResponse:
    try:
        return decode_timestamp_response(data)
    except ValueError as exc:
        raise StampError(f"not a timestamp reply ({exc})") from exc


def _ask(url: str, request: TimeStampRequest) -> TimeStampResponse:
    """POST the request (RFC 3161 over HTTP) and decode the reply."""
    post = urllib.request.Request(
        url,
        data=request.as_bytes(),
        headers={"Content-Type": "application/timestamp-query"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(post, timeout=TIMEOUT_S) as answer:  # noqa: S310 - the admin's URL
            data = answer.read(LARGEST_REPLY + 1)
    except OSError as exc:  # refused, timed out, an HTTP error status
        raise StampError(f"unreachable ({getattr(exc, 'reason', exc)})") from exc
    if len(data) > LARGEST_REPLY:
        raise StampError("the reply is too large to be a timestamp")
    return decode(data)


def _check(
    reply: TimeStampResponse,
    digest: bytes,
    trusted: list[x509.Certificate],
    request: TimeStampRequest | None = None,
) -> None:
    """Signature, certificate chain to `trusted`, imprint = `digest` (and the request's
    nonce, for a fresh reply)."""
    builder = VerifierBuilder.from_request(request) if request else VerifierBuilder()
    for root in trusted:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify(reply, digest)
    except (VerificationError, ValueError) as exc:
        raise StampError(f"the token does not verify: {exc}") from exc


def _tried(session: Session, error: str) -> None:
    row = session.get(TimestampTries, 1) or TimestampTries(id=1)
    row.tried_at, row.error = utcnow(), error
    session.add(row)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
