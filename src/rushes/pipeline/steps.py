"""The built-in pipeline steps. Each is a `Step`: a name, a version, what it needs first,
which kinds of asset it applies to, and a function of one asset.

A step's function runs in a worker process, reads the original from the vault, writes its
output (derivative files, catalog rows) replacing any earlier output, and returns a note when
it could only do part of its job. It is idempotent, so a crash-and-retry is always safe. Bump
`version` when a step's output would change: `rushes process --outdated` re-runs it.

The decoding steps import their media modules (numpy, faiss, the decoders) when they run: a
process that only queues steps or reads this table (`rushes ingest`, `rushes process` before its
workers start) does not pay ~0.3 s of a core for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import c2pa
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from rushes import custody
from rushes.base import Base
from rushes.catalog import Asset, utcnow
from rushes.catalog.models import (
    ContentCredentials,
    Derivative,
    Fingerprint,
    NearDuplicate,
    ShotBoundary,
)
from rushes.catalog.queries import relabel_clusters
from rushes.custody import Verb
from rushes.derivatives import digest
from rushes.errors import ProbeError
from rushes.media import credentials
from rushes.media.capture import captured
from rushes.media.probe import probe
from rushes.settings import Settings

if TYPE_CHECKING:
    from rushes.media.matching import Match
    from rushes.media.proxy import Proxy


@dataclass(frozen=True)
class Work:
    """One step's job: an asset of the base, and where its derivatives go."""

    base: Base
    sha256: str

    @property
    def source(self) -> Path:
        return self.base.vault.local_path(self.sha256)

    @property
    def actor(self) -> str:
        return self.base.settings.actor

    @property
    def timeout(self) -> float:
        return float(self.base.settings.step_timeout)


@dataclass(frozen=True)
class Step:
    name: str
    version: str
    needs: tuple[str, ...]
    kinds: frozenset[str] | None  # None: every kind
    run: Callable[[Work], str | None]


VISUAL = frozenset({"video"})
PICTURES = frozenset({"video", "image"})  # a photo gets a poster and a fingerprint as a frame


def run_probe(work: Work) -> str | None:
    """Describe the original. One that cannot be decoded stays preserved, with the reason."""
    try:
        info = probe(work.source)
    except ProbeError as exc:
        reason = exc.reason.replace(str(work.source), "the original")  # no server paths shown
        with work.base.catalog.write() as session:
            asset = session.get(Asset, work.sha256)
            asset.kind, asset.media, asset.probe_error = "other", None, reason
            custody.append(
                session,
                Verb.PROBE_FAILED,
                actor=work.actor,
                asset=work.sha256,
                details={"reason": reason},
            )
        return reason
    media = info.as_dict()
    with work.base.catalog.write() as session:
        asset = session.get(Asset, work.sha256)
        asset.kind, asset.media, asset.probe_error = info.kind, media, None
        asset.captured_at, asset.captured_offset = captured(media)
        custody.append(
            session,
            Verb.PROBED,
            actor=work.actor,
            asset=work.sha256,
            details={"kind": info.kind, "container": info.container},
        )
    return None


def run_provenance(work: Work) -> str | None:
    """Read the C2PA manifest the original carries, if any: kept beside it, logged, and a
    manifest that fails validation is reported as such (the original is only read)."""
    trust = work.base.settings.c2pa_trust
    found = credentials.read(work.source, trust.read_text("ascii") if trust else None)
    with work.base.catalog.write() as session:
        session.execute(
            delete(ContentCredentials).where(ContentCredentials.asset_sha256 == work.sha256)
        )
        if found is None:
            return None
        session.add(
            ContentCredentials(
                asset_sha256=work.sha256,
                state=found.state,
                summary=found.summary(),
                store=found.store,
                read_at=utcnow(),
                tool_version=f"c2pa-rs {c2pa.sdk_version()}",
            )
        )
        custody.append(
            session,
            Verb.PROVENANCE_READ,
            actor=work.actor,
            asset=work.sha256,
            details={
                "state": found.state,
                "signer": found.signer,
                "claim_generator": found.claim_generator,
                "failures": [f["code"] for f in found.failures],
            },
        )
    if found.state in ("Invalid", "unreadable"):
        return (
            "C2PA manifest "
            + found.state.lower()
            + ": "
            + "; ".join(f["explanation"] or f["code"] for f in found.failures[:3])
        )
    return None


def run_thumbnails(work: Work) -> str | None:
    return store_thumbnails(work.base, work.sha256, work.source)


def store_thumbnails(base: Base, sha256: str, source: Path, origin: str = "") -> str | None:
    """Poster and strip of asset `sha256`, made from `source` (its original, or with `origin`
    "field" the crew's proxy while the original is still in the field), replacing earlier ones.
    Returns what is missing, if anything."""
    from rushes.media.thumbnails import make_thumbnails

    for prefix in ("poster", "strip-"):
        base.derivatives.clear(sha256, prefix)
    made = make_thumbnails(source, base.derivatives.prepare(sha256))
    unsigned = None
    if made.poster is not None and not origin:  # the poster goes out in bags: signed
        unsigned = _sign(base, sha256, source, made.poster.path, "image/webp")
    extra = {"source": origin} if origin else {}
    rows = [
        Derivative(
            asset_sha256=sha256,
            name=t.path.name,
            kind=kind,
            media_type="image/webp",
            size=t.path.stat().st_size,
            details={
                "time": t.time,
                "width": t.width,
                "height": t.height,
                "sha256": digest(t.path),
                **extra,
            },
        )
        for kind, t in [("poster", made.poster)] + [("strip", s) for s in made.strip]
        if t is not None
    ]
    _replace_derivatives(base, sha256, ("poster", "strip"), rows)
    return "; ".join(p for p in (made.problem, unsigned) if p) or None


def run_proxy(work: Work) -> str | None:
    """A 360p and a 234p video proxy, or for a sound recording one sound-only proxy."""
    from rushes.media.proxy import RUNGS, make_audio_proxy, make_proxies

    with work.base.catalog.read() as session:
        kind = session.get(Asset, work.sha256).kind
    folder = work.base.derivatives.prepare(work.sha256)
    if kind == "audio":
        made = make_audio_proxy(work.source, folder / "proxy.m4a", timeout=work.timeout)
        unsigned = _sign(work.base, work.sha256, work.source, made.path, "audio/mp4")
        rows = [_proxy_row(work, made, "audio/mp4")]
        _replace_derivatives(work.base, work.sha256, ("proxy",), rows)
        return "; ".join(p for p in (made.problem, unsigned) if p) or None
    rows, problems = [], []
    ladder = [(folder / f"proxy-{height}.mp4", height) for height in RUNGS]
    made_all = make_proxies(work.source, ladder, timeout=work.timeout)
    for height, made in zip(RUNGS, made_all, strict=True):
        if unsigned := _sign(work.base, work.sha256, work.source, made.path, "video/mp4"):
            problems.append(f"{height}p: {unsigned}")
        rows.append(_proxy_row(work, made, "video/mp4"))
        if made.problem:
            problems.append(f"{height}p: {made.problem}")
    _replace_derivatives(work.base, work.sha256, ("proxy",), rows)
    return "; ".join(problems) or None


def check_signing(settings: Settings) -> None:
    """Read the C2PA certificate and key once when the pipeline starts: an unusable one is a
    ConfigError then, not a note on every proxy made afterwards."""
    if settings.c2pa_cert is not None and settings.c2pa_key is not None:
        credentials.Signing.from_files(settings.c2pa_cert, settings.c2pa_key)


def _sign(base: Base, sha256: str, original: Path, copy: Path, media_type: str) -> str | None:
    """Sign a copy (proxy, poster) of the original when the organisation has a C2PA
    certificate. A copy that could not be signed is still served; the reason is the step's
    note."""
    settings = base.settings
    if settings.c2pa_cert is None or settings.c2pa_key is None:
        return None
    signing = credentials.Signing.from_files(
        settings.c2pa_cert, settings.c2pa_key, settings.c2pa_tsa_url
    )
    try:
        credentials.sign_copy(
            signing, copy, media_type, original=original, original_sha256=sha256, title=copy.name
        )
    except c2pa.C2paError as exc:
        return f"{copy.name} not signed (C2PA): {exc}"
    return None


def _proxy_row(work: Work, made: Proxy, media_type: str) -> Derivative:
    return Derivative(
        asset_sha256=work.sha256,
        name=made.path.name,
        kind="proxy",
        media_type=media_type,
        size=made.path.stat().st_size,
        details={
            "width": made.width,
            "height": made.height,
            "frames": made.frames,
            "duration": made.duration,
            "audio": made.audio,
            "origin": str(made.origin),
            "problem": made.problem,
            "sha256": digest(made.path),
        },
    )


def _replace_derivatives(
    base: Base, sha256: str, kinds: tuple[str, ...], rows: list[Derivative]
) -> None:
    base.derivatives.publish(sha256, [row.name for row in rows])
    with base.catalog.write() as session:
        session.execute(
            delete(Derivative).where(Derivative.asset_sha256 == sha256, Derivative.kind.in_(kinds))
        )
        session.add_all(rows)


def run_fingerprint(work: Work) -> str | None:
    from rushes.media.fingerprint import fingerprint

    hashes = fingerprint(work.source, timeout_s=work.timeout)
    with work.base.catalog.write() as session:
        session.merge(
            Fingerprint(
                asset_sha256=work.sha256,
                data=hashes.to_bytes(),
                frames=len(hashes),
                tool_version=FINGERPRINT.version,
            )
        )
    return None if len(hashes) else "no frame could be hashed (black or unreadable picture)"


def run_near_duplicates(work: Work) -> str | None:
    """Match this clip against every fingerprinted clip the candidate search proposes."""
    record_pairs(work, judge_pairs(work))
    return None


@dataclass(frozen=True)
class Judgement:
    """What one clip's matching decided: the pairs it found, and the pairs stored before it
    read, which its finding replaces."""

    found: list[NearDuplicate]
    earlier: frozenset[str]


def judge_pairs(work: Work) -> Judgement:
    """Read and match, without writing: the slow half of `run_near_duplicates`."""
    from rushes.media.fingerprint import Fingerprint as Hashes
    from rushes.media.matching import match
    from rushes.pipeline.candidates import candidates

    with work.base.catalog.read() as session:
        earlier = frozenset(_others(session, work.sha256))
        own = session.get(Fingerprint, work.sha256)
        mine = Hashes.from_bytes(own.data)
        found = []
        for other_sha, other in candidates(session, work.sha256, mine):
            pair = match(mine, other)
            if pair is not None:
                found.append(_pair(work.sha256, other_sha, pair))
    return Judgement(found, earlier)


def record_pairs(work: Work, judgement: Judgement) -> None:
    """Replace the clip's pairs that were stored before it read, and the ones it found.

    A pair written since by another clip's step stays: that step matched this clip's
    fingerprint against one this step may not have seen (not yet made, or of an older format),
    so its finding is the newer. Deleting every pair of the clip lost such pairs when two
    clips' steps ran at once."""
    replaced = judgement.earlier | {
        p.asset_b if p.asset_a == work.sha256 else p.asset_a for p in judgement.found
    }
    with work.base.catalog.write() as session:
        # Two clips processed at once on PostgreSQL would both write their shared pair and
        # relabel the same cluster: take the catalog's writer lock so they go one after another.
        custody.lock_head(session)
        session.execute(
            delete(NearDuplicate).where(
                or_(
                    (NearDuplicate.asset_a == work.sha256) & NearDuplicate.asset_b.in_(replaced),
                    (NearDuplicate.asset_b == work.sha256) & NearDuplicate.asset_a.in_(replaced),
                )
            )
        )
        session.add_all(judgement.found)
        session.flush()
        relabel_clusters(session, work.sha256)


def _others(session: Session, sha256: str) -> Iterator[str]:
    """The other clip of each stored pair of ``sha256``."""
    for a, b in session.execute(
        select(NearDuplicate.asset_a, NearDuplicate.asset_b).where(
            or_(NearDuplicate.asset_a == sha256, NearDuplicate.asset_b == sha256)
        )
    ):
        yield b if a == sha256 else a


def _pair(sha: str, other: str, found: Match) -> NearDuplicate:
    """Store the pair once, as (a, b) with a < b, segments and edit in that orientation."""
    if sha > other:
        sha, other, found = other, sha, found.swapped()
    return NearDuplicate(
        asset_a=sha,
        asset_b=other,
        score=round(found.score, 4),
        segments={
            "mirrored": found.mirrored,
            "transform": found.transform,
            "crop": found.crop,
            "segments": [[s.a_start, s.a_end, s.b_start, s.b_end] for s in found.segments],
        },
    )


def run_shots(work: Work) -> str | None:
    from rushes.media.shots import detect_shots

    shots = detect_shots(work.source)
    with work.base.catalog.write() as session:
        session.execute(delete(ShotBoundary).where(ShotBoundary.asset_sha256 == work.sha256))
        session.add_all(
            ShotBoundary(
                asset_sha256=work.sha256,
                index=i,
                start_frame=s.start,
                start_pts=s.start_pts,
                end_frame=s.end,
                end_pts=s.end_pts,
                time_base=str(s.time_base),
                transition=s.transition,
            )
            for i, s in enumerate(shots)
        )
    return None


PROBE = Step("probe", "1", (), None, run_probe)
PROVENANCE = Step("provenance", "1", (), None, run_provenance)
THUMBNAILS = Step("thumbnails", "1", ("probe",), PICTURES, run_thumbnails)
FINGERPRINT = Step("fingerprint", "4", ("probe",), PICTURES, run_fingerprint)
NEAR_DUPLICATES = Step("near-duplicates", "2", ("fingerprint",), VISUAL, run_near_duplicates)
SHOTS = Step("shots", "1", ("probe",), VISUAL, run_shots)
PROXY = Step("proxy", "2", ("probe",), frozenset({"video", "audio"}), run_proxy)

STEPS: tuple[Step, ...] = (
    PROBE,
    PROVENANCE,
    THUMBNAILS,
    FINGERPRINT,
    NEAR_DUPLICATES,
    SHOTS,
    PROXY,
)
BY_NAME = {step.name: step for step in STEPS}
