"""A finished upload goes where it belongs: an original into the vault, a proxy beside its original.

Runs under the upload's lease once its last byte is fsynced. Every step may run twice with the
same result: the vault is content-addressed, the arrival is looked up before it is recorded (in
the same transaction), the proxy is renamed into place. So a base killed halfway finishes the
job on the next HEAD, PATCH or start. An original's `data` file is not copied: the vault adopts
it (hashes it once, hard-links it into place) and `conclude` then drops the upload's name for it,
so the upload code never writes the vault's original. Bytes that do not hash to the SHA-256 the
crew declared never enter the vault: the adoption is vetoed before it is committed.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.base import Base
from rushes.catalog.models import Arrival, Asset, Derivative
from rushes.errors import InvalidInput
from rushes.ingest import path_key, record_arrival
from rushes.pipeline.steps import store_thumbnails
from rushes.upload.store import Info, Outcome, Upload
from rushes.vault import Digest
from rushes.vault.local import fsync_dir
from rushes.vault.pump import pump

PROXY = "proxy-360.mp4"
log = logging.getLogger(__name__)


class Rejected(InvalidInput):
    """The bytes received are not the file the crew declared; nothing of them was kept."""


def finish(base: Base, upload: Upload, digest: Digest | None = None) -> Outcome:
    """Take a complete upload in and record its outcome (caller holds the lease). `digest`:
    the vault's digest of all its bytes, fed as they were written, if the server kept one."""
    size = upload.offset()
    try:
        if upload.info.kind == "original":
            outcome = Outcome("stored", size, _original(base, upload, digest))
        else:
            outcome = Outcome("stored", size, _proxy(base, upload))
    except Rejected as exc:
        outcome = Outcome("rejected", size, str(exc))
    upload.conclude(outcome)
    return outcome


def _original(base: Base, upload: Upload, digest: Digest | None) -> str:
    info = upload.info

    def declared(_size: int, sha256: str) -> None:
        _check(info, sha256)

    stored = base.vault.adopt(upload.data, before_commit=declared, digest=digest)
    raw_path = info.filename.encode("utf-8", "surrogateescape")
    with base.catalog.write() as session:
        if _recorded(session, info, raw_path):
            return "recorded before"
        return record_arrival(
            session,
            stored,
            project_id=info.project_id,
            crew=info.crew,
            source=info.source,
            raw_path=raw_path,
            mtime_ns=None,
            sample=None,
            actor=info.crew,
            via="upload",
        )


def _recorded(session: Session, info: Info, raw_path: bytes) -> bool:
    """This upload's arrival is in the catalog already (intake interrupted after recording)."""
    found = session.scalar(
        select(Arrival.id).where(
            Arrival.asset_sha256 == info.sha256,
            Arrival.project_id == info.project_id,
            Arrival.crew == info.crew,
            Arrival.path_key == path_key(raw_path),
            Arrival.via == "upload",
        )
    )
    return found is not None


def _proxy(base: Base, upload: Upload) -> str:
    """Written beside its final name and renamed into place, unless the base's own pipeline
    made a proxy of that original already (a field proxy never replaces it)."""
    info = upload.info
    folder = base.derivatives.prepare(info.original)
    target = base.derivatives.path(info.original, PROXY)
    partial = folder / f".upload-{upload.id}.part"
    digest = hashlib.sha256()
    try:
        with open(upload.data, "rb", buffering=0) as source, open(partial, "wb") as out:
            size = pump(source.read, [digest.update, out.write])
            out.flush()
            os.fsync(out.fileno())
        _check(info, digest.hexdigest())
        with base.catalog.write() as session:
            row = session.get(Derivative, (info.original, PROXY))
            kept = (row.details or {}) if row is not None else None
            if kept is not None and kept.get("source") != "field":
                return "the base's own proxy was kept"
            if kept is not None and kept.get("crew") not in (None, info.crew):
                return "the proxy the original's own crew sent was kept"
            os.replace(partial, target)
            fsync_dir(folder)
            base.derivatives.publish(info.original, [PROXY])
            if row is None:
                row = Derivative(asset_sha256=info.original, name=PROXY)
                session.add(row)
            row.kind, row.media_type, row.size = "proxy", "video/mp4", size
            row.details = {"source": "field", "sha256": info.sha256, "crew": info.crew}
            in_field = not session.get(Asset, info.original).in_vault
    finally:
        partial.unlink(missing_ok=True)
    if in_field:  # else the pipeline makes them from the original
        _posters(base, info.original, target)
    return "proxy stored"


def _posters(base: Base, sha256: str, proxy: Path) -> None:
    """The director's grid shows a clip still in the field by frames of its proxy. Nothing that
    goes wrong here refuses the proxy: the clip is then listed without a picture."""
    try:
        problem = store_thumbnails(base, sha256, proxy, origin="field")
    except Exception:
        log.exception("no poster from the field proxy of %s", sha256)
        return
    if problem:
        log.info("field proxy of %s: %s", sha256, problem)


def _check(info: Info, sha256: str) -> None:
    if sha256 != info.sha256:
        what = info.filename or f"the proxy of {info.original[:12]}"
        raise Rejected(
            f"{what}: the bytes received hash to {sha256}, not to the declared {info.sha256}; "
            "nothing was kept. Hash the file again on the laptop and send it anew."
        )
