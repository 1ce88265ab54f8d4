"""Who is uploading, and what the base refuses before it takes a byte.

A field kit's bearer token names a crew member in one project (`identify`). Before an upload
is made, or its deferred length set, the base refuses what it could not finish: an upload the
catalog already contradicts (409), one past the account's open uploads (429), more bytes than
the project takes (413) or than the staging disk holds beside what the open uploads were
promised (507). Each runs in a thread: they read the catalog and the upload folders.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.base import Base
from rushes.catalog.models import Arrival, Asset, Membership, Project
from rushes.review import accounts
from rushes.upload import protocol
from rushes.upload.protocol import TusError
from rushes.upload.store import Upload, UploadStore


@dataclass(frozen=True)
class Caller:
    """The field kit on the other end: a crew member's token, bound to one project."""

    username: str
    project_id: int
    limit: int  # largest upload this project takes, in bytes


def identify(base: Base, token: str) -> Caller | None:
    """The crew member `token` belongs to, if still a member of its project (None: unknown)."""
    with base.catalog.read() as session:
        found = accounts.token_user(session, token)
        if found is None:
            return None
        user, api_token = found
        member = session.scalar(
            select(Membership.role).where(
                Membership.user_id == user.id, Membership.project_id == api_token.project_id
            )
        )
        project = session.get(Project, api_token.project_id)
        if member is None or project is None:
            return None
        limit = project.upload_limit or base.settings.upload_limit
        return Caller(user.username, project.id, limit)


def admit(base: Base, caller: Caller, meta: protocol.Metadata, length: int | None) -> None:
    """Refuse an upload the catalog already contradicts."""
    with base.catalog.read() as session:
        if meta.kind == "proxy":
            # Only the crew who listed (or sent) the original may give it a review proxy.
            if not _brought(session, caller, meta.original):
                raise TusError(
                    409,
                    f"send the manifest first: you listed no original "
                    f"{meta.original[:12]}… in this project for this proxy",
                )
            return
        asset = session.get(Asset, meta.sha256)
        # Said only to the crew who brought it: to others it would tell who holds which file.
        if (
            asset is not None
            and length is not None
            and asset.size != length
            and _brought(session, caller, meta.sha256)
        ):
            raise TusError(
                409,
                f"the base knows {meta.sha256[:12]}… as {asset.size} bytes, not {length}; "
                "hash the file again",
            )


def _brought(session: Session, caller: Caller, sha256: str) -> bool:
    """Whether the caller listed or sent the original `sha256` in their project."""
    found = session.scalar(
        select(Arrival.id)
        .where(
            Arrival.asset_sha256 == sha256,
            Arrival.project_id == caller.project_id,
            Arrival.crew == caller.username,
        )
        .limit(1)
    )
    return found is not None


def room(store: UploadStore, caller: Caller, length: int | None, open_uploads: int) -> None:
    """Refuse an upload past the account's `open_uploads`, or one the staging disk cannot hold
    beside what the open uploads were promised."""
    unfinished = _unfinished(store)
    if sum(u.info.crew == caller.username for u in unfinished) >= open_uploads:
        raise TusError(
            429,
            f"you have {open_uploads} unfinished uploads; finish or delete one first",
            {"Retry-After": "60"},
        )
    if length is not None:
        _fits(store, length, unfinished)


def fix_length(store: UploadStore, upload: Upload, declared: int, caller: Caller) -> None:
    """The deferred length arrives with a PATCH; once set it never changes."""
    if upload.info.length is not None:
        if declared != upload.info.length:
            raise TusError(400, f"Upload-Length is {upload.info.length} already")
        return
    if declared > caller.limit:
        raise TusError(413, f"{declared} bytes is over this project's limit of {caller.limit}")
    if declared < upload.offset():
        raise TusError(400, f"Upload-Length {declared} is less than the bytes received")
    others = [u for u in _unfinished(store) if u.id != upload.id]
    _fits(store, declared - upload.offset(), others)
    upload.set_length(declared)


def _unfinished(store: UploadStore) -> list[Upload]:
    """The uploads still open: neither taken in (or refused) nor expired."""
    return [u for u in store.uploads() if u.outcome() is None and not u.expired()]


def _fits(store: UploadStore, length: int, unfinished: list[Upload]) -> None:
    """Refuse `length` more bytes that the staging disk cannot hold beside what the other
    open uploads were promised."""
    promised = sum(max(0, (u.info.length or 0) - u.offset()) for u in unfinished)
    free = shutil.disk_usage(store.root).free - promised
    if length > free:
        raise TusError(
            507,
            f"the base has room for {max(0, free)} more bytes of uploads now, not {length}; "
            "send it later",
        )
