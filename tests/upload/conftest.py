"""A base serving /files/ on a loopback port, and crews holding field-kit tokens.

`crews` makes project "film" (crew members karim and rami) and project "other" (omar), each
with a bearer token bound to their project.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import pytest

from rushes.base import Base
from rushes.ingest import record_manifest
from rushes.review import accounts
from rushes.review.access import Role
from rushes.review.projects import create_project
from tests.web.conftest import server

__all__ = ["server"]


@dataclass
class Crews:
    url: str  # the creation URL, http://127.0.0.1:port/files/
    karim: str  # karim's token for project "film"
    omar: str  # omar's token for project "other"
    film_id: int
    rami: str = ""  # another crew member's token for project "film"


@pytest.fixture
def crews(base: Base, server: str) -> Crews:
    return enrol(base, f"{server}/files/")


def enrol(base: Base, url: str) -> Crews:
    """Make the two projects, their crew members and their tokens in `base`."""
    with base.catalog.write() as session:
        film = create_project(session, "film", "The Rescue")
        other = create_project(session, "other", "Another investigation")
        karim = accounts.create_user(session, "karim", "correct horse battery")
        accounts.add_member(session, film, karim, Role.CREW)
        omar = accounts.create_user(session, "omar", "correct horse battery")
        accounts.add_member(session, other, omar, Role.CREW)
        rami = accounts.create_user(session, "rami", "correct horse battery")
        accounts.add_member(session, film, rami, Role.CREW)
        tokens = (
            accounts.create_api_token(session, karim, film, "laptop"),
            accounts.create_api_token(session, omar, other, "laptop"),
        )
        film_id = film.id
        rami_token = accounts.create_api_token(session, rami, film, "phone")
    return Crews(url, *tokens, film_id, rami_token)


def headers(token: str, **extra: str) -> dict[str, str]:
    return {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}", **extra}


def encode(**values: str) -> str:
    """An Upload-Metadata header."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def original_metadata(data: bytes, filename: str = "DCIM/100/C0001.MP4") -> dict[str, str]:
    return {"kind": "original", "sha256": hashlib.sha256(data).hexdigest(), "filename": filename}


def manifest(base: Base, project_id: int, data: bytes, path: str = "DCIM/100/C0001.MP4") -> str:
    """Record a field kit's manifest entry for `data`, as the manifest API does."""
    sha256 = hashlib.sha256(data).hexdigest()
    with base.catalog.write() as session:
        record_manifest(
            session,
            sha256=sha256,
            size=len(data),
            project_id=project_id,
            crew="karim",
            source="card 3",
            raw_path=path.encode(),
            mtime_ns=None,
            actor="karim",
        )
    return sha256
