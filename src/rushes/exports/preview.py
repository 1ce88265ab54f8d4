"""A clip's share preview: the redacted copy of its proxy, so a director can watch, before
anything leaves the base, what a share copy will hide and what it will not.

It is made by the same `rushes.media.redact.redact` as share copies (faces found in every
frame, the project's drawn regions and sounds hidden), only from the proxy rather than the
original. Like the proxy it is a derivative: disposable, rebuilt on demand, never evidence.

Redactions belong to a project, so a preview does too. Its name carries a key over the
project, the proxy it was made from and that project's redactions of the clip: when any of them
changes, the preview on file no longer answers to the key and is not shown (a preview still
rendering when a redaction changes finishes stale), and a change of redactions drops the
project's previews of the clip at once (`drop`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.base import Base
from rushes.catalog.models import Derivative, Redaction
from rushes.derivatives import Derivatives, digest
from rushes.errors import InvalidInput
from rushes.i18n import N_
from rushes.media.faces import detector
from rushes.media.redact import redact
from rushes.review.projects import find_project
from rushes.review.redactions import of_asset, plan

KIND = "preview"
MEDIA_TYPE = "video/mp4"


def name_of(key: str) -> str:
    return f"preview-{key[:16]}.mp4"


def _damaged(made: Derivative) -> bool:
    return bool((made.details or {}).get("damaged"))


def source(session: Session, sha256: str) -> Derivative | None:
    """The proxy a preview is made from: the largest video proxy that is not damaged."""
    proxies = session.scalars(
        select(Derivative).where(
            Derivative.asset_sha256 == sha256,
            Derivative.kind == "proxy",
            Derivative.media_type == MEDIA_TYPE,
        )
    ).all()
    return max(
        (p for p in proxies if not _damaged(p)),
        key=lambda p: (int((p.details or {}).get("height") or 0), p.size),
        default=None,
    )


def _key(project_id: int, proxy: Derivative, rows: list[Redaction]) -> str:
    material = {
        "project": project_id,
        "proxy": [proxy.name, (proxy.details or {}).get("sha256")],
        "redactions": [[r.kind, r.data] for r in rows],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def key(session: Session, project_id: int, sha256: str) -> str | None:
    """What the project's preview of the clip must answer to now; None: no proxy to make one
    from."""
    proxy = source(session, sha256)
    return None if proxy is None else _key(project_id, proxy, of_asset(session, project_id, sha256))


def current(session: Session, project_id: int, sha256: str) -> Derivative | None:
    """The preview showing the clip's redactions as they are now, if one was made."""
    wanted = key(session, project_id, sha256)
    if wanted is None:
        return None
    made = session.get(Derivative, (sha256, name_of(wanted)))
    return None if made is None or _damaged(made) else made


def _previews(session: Session, project_id: int, sha256: str) -> list[Derivative]:
    rows = session.scalars(
        select(Derivative).where(Derivative.asset_sha256 == sha256, Derivative.kind == KIND)
    ).all()
    return [r for r in rows if (r.details or {}).get("project") == project_id]


def drop(session: Session, derivatives: Derivatives, project_id: int, sha256: str) -> None:
    """Forget the project's previews of the clip (its redactions changed). The files go before
    the transaction commits: should it not, the rows name missing files, which the player
    treats as no preview."""
    for made in _previews(session, project_id, sha256):
        session.delete(made)
        derivatives.clear(sha256, made.name)


@contextmanager
def _readable(derivatives: Derivatives, sha256: str, name: str, scratch: Path) -> Iterator[Path]:
    """The proxy as a local file: where it is stored, or fetched into ``scratch`` from a
    remote store for as long as it is read."""
    if not derivatives.remote:
        yield derivatives.path(sha256, name)
        return
    local = scratch / name
    try:
        with derivatives.open(sha256, name) as remote, local.open("wb") as out:
            shutil.copyfileobj(remote, out, 1 << 20)
        yield local
    finally:
        local.unlink(missing_ok=True)


def render(
    base: Base,
    project_slug: str,
    sha256: str,
    scratch: Path,
    progress: Callable[[float], None] | None = None,
) -> Derivative:
    """Make the project's preview of the clip and keep it in place of its earlier ones."""
    with base.catalog.read() as session:
        project_id = find_project(session, project_slug).id
        proxy = source(session, sha256)
        if proxy is None:
            raise InvalidInput(N_("no proxy to preview yet: the pipeline has not made one"))
        rows = of_asset(session, project_id, sha256)
        regions, mutes = plan(rows)
        wanted, proxy_name = _key(project_id, proxy, rows), proxy.name
    name = name_of(wanted)
    target = base.derivatives.prepare(sha256) / name
    with _readable(base.derivatives, sha256, proxy_name, scratch) as proxy_file:
        made = redact(
            proxy_file, target, regions=regions, mutes=mutes, detect=detector(), progress=progress
        )
    row = Derivative(
        asset_sha256=sha256,
        name=name,
        kind=KIND,
        media_type=MEDIA_TYPE,
        size=target.stat().st_size,
        details={
            "project": project_id,
            "key": wanted,
            "from": proxy_name,
            "width": made.width,
            "height": made.height,
            "frames": made.frames,
            "face_frames": made.face_frames,
            "region_frames": made.region_frames,
            "sha256": digest(target),
        },
    )
    base.derivatives.publish(sha256, [name])
    with base.catalog.write() as session:
        # Made meanwhile by another job for the redactions as they are now: kept too.
        now = key(session, project_id, sha256)
        keep = {name, name_of(now) if now else name}
        earlier = [p.name for p in _previews(session, project_id, sha256) if p.name not in keep]
        for old in earlier:
            session.delete(session.get(Derivative, (sha256, old)))
        session.merge(row)
    for old in earlier:
        base.derivatives.clear(sha256, old)
    return row
