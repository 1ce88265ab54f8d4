"""What an asset is called where people see it: the file name it had on the card.

An asset is named by its SHA-256, which nobody can read aloud; the crew know their clips as
``C0042.MP4``. The name shown is the file name of the asset's first arrival in the project
being looked at, and only such arrivals count: another project's card, crew and path must never
show (the same clip may have reached two projects). An asset with no arrival here (none should
exist) falls back to its short hash. Names come from camera cards, so they are untrusted: the
name is taken from the exact bytes and made printable (non-UTF-8 bytes and control characters
escaped, see vault.display_path); pages escape it again as HTML, exports flatten it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from rushes.catalog.models import Arrival
from rushes.vault.store import display_path

HOW = {"manifest": "hashed in the field", "upload": "uploaded", "ingest": "ingested at the base"}
SHORT = 10  # hex digits of the hash shown next to a name
_SEPARATORS = re.compile(rb"[/\\]")  # a card read on Windows sends its path with backslashes


def file_name(path_bytes: bytes) -> str:
    """The last part of a path as it arrived, printable; empty for a path ending in a slash."""
    return display_path(_SEPARATORS.split(path_bytes)[-1])


@dataclass(frozen=True)
class AssetName:
    """An asset's names in one project: its first arrival's file name, then the others'."""

    sha256: str
    names: tuple[str, ...]  # distinct file names, in order of arrival

    @property
    def short(self) -> str:
        return self.sha256[:SHORT]

    @property
    def name(self) -> str:
        """The name to show: the first arrival's file name, else the short hash."""
        return self.names[0] if self.names else self.short

    @property
    def others(self) -> tuple[str, ...]:
        """Other file names the same bytes arrived under in this project."""
        return self.names[1:]


def asset_names(
    session: Session, project_id: int, shas: Iterable[str], crew: str | None = None
) -> dict[str, AssetName]:
    """Names of these assets in this project (every one asked for, with a hash fallback), from
    `crew`'s arrivals only when given (review.access.own_crew); callers have checked that
    whoever reads them may see the assets."""
    wanted = sorted(set(shas))
    found: dict[str, list[str]] = {sha: [] for sha in wanted}
    if wanted:
        rows = session.execute(
            select(Arrival.asset_sha256, Arrival.path_bytes)
            .where(Arrival.project_id == project_id, Arrival.asset_sha256.in_(wanted))
            .where(*_by(crew))
            .order_by(Arrival.id)
        )
        for sha, path_bytes in rows:
            name = file_name(bytes(path_bytes))
            if name and name not in found[sha]:
                found[sha].append(name)
    return {sha: AssetName(sha, tuple(names)) for sha, names in found.items()}


def asset_name(
    session: Session, project_id: int, sha256: str, crew: str | None = None
) -> AssetName:
    return asset_names(session, project_id, [sha256], crew)[sha256]


def _by(crew: str | None) -> list[ColumnElement[bool]]:
    return [] if crew is None else [Arrival.crew == crew]


@dataclass(frozen=True)
class Arrived:
    """One card file's arrival in the project, however many rows it took: the field kit's
    manifest and then its upload of the same file are one arrival that came two ways."""

    received_at: datetime  # the first of its rows
    via: tuple[str, ...]  # manifest | upload | ingest, in the order they came
    name: str
    path: str  # printable, as recorded
    crew: str
    source: str
    again: bool  # the same bytes had arrived before (a copy of a copy)

    @property
    def how(self) -> str:
        return ", then ".join(HOW.get(v, v) for v in self.via)


def arrivals_of(
    session: Session, project_id: int, sha256: str, crew: str | None = None
) -> list[Arrived]:
    """The asset's arrivals in this project (`crew`'s only, when given), each card file once,
    oldest first."""
    lines: dict[tuple[str, str], Arrived] = {}
    for row in session.scalars(
        select(Arrival)
        .where(Arrival.project_id == project_id, Arrival.asset_sha256 == sha256, *_by(crew))
        .order_by(Arrival.id)
    ):
        key = (row.crew, row.path_key)
        seen = lines.get(key)
        if seen is None:
            lines[key] = Arrived(
                received_at=row.received_at,
                via=(row.via,),
                name=file_name(bytes(row.path_bytes)) or row.path,
                path=row.path,
                crew=row.crew,
                source=row.source,
                again=row.duplicate,
            )
        elif row.via not in seen.via:
            lines[key] = replace(seen, via=(*seen.via, row.via))
    return list(lines.values())
