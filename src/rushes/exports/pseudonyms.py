"""Crew names replaced by pseudonyms in what leaves the base: share folders and evidence bags.

A pseudonym is `crew-` and 8 hex digits of an HMAC, keyed by the project's secret key, of the
export's id and the crew member's name: the same person has the same pseudonym throughout one
export and another one in the next, so exports cannot be joined up to follow a person. Nothing
maps pseudonyms back but the key, which never leaves the base: `reveal` (`rushes export who`)
tries each crew name of the project against a pseudonym for the archive's own use.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.catalog.models import Arrival, Membership, Project, User


def pseudonym(project: Project, export_id: str, crew: str) -> str:
    mac = hmac.new(project.label_key.encode(), f"{export_id}\0{crew}".encode(), hashlib.sha256)
    return f"crew-{mac.hexdigest()[:8]}"


def original_reference(project: Project, export_id: str, sha256: str) -> str:
    """How an export for outside eyes names an original: not by its SHA-256, which anyone
    holding the card could compute and follow to the published copy."""
    mac = hmac.new(
        project.label_key.encode(), f"{export_id}\0original\0{sha256}".encode(), hashlib.sha256
    )
    return f"original-{mac.hexdigest()[:16]}"


def crew_names(session: Session, project: Project) -> dict[str, str]:
    """Every name a crew member of the project goes by (login name, display name, the crew
    label of an arrival), each with the login name its pseudonym is made from."""
    names = {
        label: label
        for label in session.scalars(
            select(Arrival.crew).where(Arrival.project_id == project.id, Arrival.crew != "")
        )
    }
    for user in session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project.id, Membership.role == "crew")
    ):
        names[user.username] = user.username
        if user.display_name.strip():
            names[user.display_name] = user.username
    return names


# A name inside a longer text counts where it stands alone: not next to a letter or a digit
# (so "RAHED_0412.MP4" and "/media/rahed/card" give it away, "Vitality" does not hide "ali").
_ALONE = r"(?<![^\W_]){}(?![^\W_])"


@dataclass(frozen=True)
class Pseudonyms:
    """The crew names of one export, and what each becomes in it."""

    project: Project
    export_id: str
    names: dict[str, str]  # a name as written -> the login name behind it

    def of(self, name: str) -> str:
        return pseudonym(self.project, self.export_id, self.names.get(name, name))

    @cached_property
    def _within(self) -> re.Pattern[str] | None:
        longest_first = sorted((n for n in self.names if len(n) >= 3), key=len, reverse=True)
        if not longest_first:
            return None
        either = "|".join(re.escape(n) for n in longest_first)
        return re.compile(_ALONE.format(f"(?:{either})"), re.IGNORECASE)

    def _name_of(self, written: str) -> str:
        return next(n for n in self.names if n.casefold() == written.casefold())

    def replace(self, value: Any) -> Any:
        """`value` (JSON-like) with every crew name replaced, whole or inside a text (a file
        name, a path)."""
        if isinstance(value, str):
            if value in self.names:
                return self.of(value)
            if self._within is None:
                return value
            return self._within.sub(lambda m: self.of(self._name_of(m.group())), value)
        if isinstance(value, dict):
            return {key: self.replace(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.replace(item) for item in value]
        return value


def reveal(project: Project, export_id: str, shown: str, names: Iterable[str]) -> str | None:
    """The crew name behind `shown` in export `export_id`, or None."""
    for name in names:
        if hmac.compare_digest(pseudonym(project, export_id, name), shown):
            return name
    return None
