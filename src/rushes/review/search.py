"""Search a project: notes, assignments, incidents and files, by the same rules as their pages.

A viewer finds exactly what their pages show them: directors and investigators the whole
project, its incidents included; crew the notes and files of the clips they see
(`access.visible_assets`) and the assignments they are on. Results come grouped by kind,
newest first, each with where it opens (a note opens the player at its time) and a snippet of
the text around the first word found.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from rushes.catalog.models import (
    Arrival,
    Assignment,
    AssignmentUser,
    Incident,
    Note,
    SearchEntry,
)
from rushes.catalog.search import KINDS, MAX_QUERY, find, normalise_mapped, terms
from rushes.errors import InvalidInput
from rushes.i18n import N_
from rushes.media.timecode import seconds_of
from rushes.review.access import Can, Viewer, notes_shown, own_crew, visible_assets
from rushes.review.names import asset_names

PER_KIND = 20  # results shown of each kind (all of one kind: `MORE`)
MORE = 200
SNIPPET = 160  # characters of text shown around the first word found


@dataclass(frozen=True)
class Hit:
    kind: str
    title: str  # what it is: the clip's name, the assignment's or incident's title
    snippet: str
    link: str
    marks: tuple[tuple[int, int], ...] = ()  # (start, end) of the words found in the snippet
    when: float | None = None  # a note's time in its clip, in seconds


@dataclass
class Results:
    query: str
    groups: dict[str, list[Hit]] = field(default_factory=dict)
    more: set[str] = field(default_factory=set)  # kinds with more hits than shown

    @property
    def count(self) -> int:
        return sum(len(hits) for hits in self.groups.values())


def search(session: Session, viewer: Viewer, query: str, kind: str | None = None) -> Results:
    """What the viewer may see that contains every word of ``query`` (all kinds, or one)."""
    query = query.strip()
    if len(query) > MAX_QUERY:
        raise InvalidInput(N_("q: a search is at most %(most)s characters"), most=MAX_QUERY)
    if kind is not None and kind not in KINDS:
        raise InvalidInput(N_("kind: one of %(choices)s"), choices=", ".join(KINDS))
    words = terms(query)
    results = Results(query)
    if not words:
        return results
    limit = MORE if kind else PER_KIND
    for each in (kind,) if kind else KINDS:
        refs = find(session, viewer.project.id, each, words, _allowed(viewer, each), limit + 1)
        if len(refs) > limit:
            results.more.add(each)
        if refs[:limit]:
            results.groups[each] = _hits(session, viewer, each, refs[:limit], words)
    return results


def _allowed(viewer: Viewer, kind: str) -> list[ColumnElement[bool]]:
    """The page rules, as conditions on `search_entries`."""
    if kind in ("note", "file") and not viewer.can(Can.SEE_ALL):
        project = viewer.project.id
        shown = (
            select(Note.id).where(Note.project_id == project, notes_shown(viewer))
            if kind == "note"
            else select(Arrival.id).where(
                Arrival.project_id == project, Arrival.crew == own_crew(viewer)
            )
        )
        return [SearchEntry.asset_sha256.in_(visible_assets(viewer)), SearchEntry.ref.in_(shown)]
    if kind == "incident" and not viewer.can(Can.SEE_ALL):
        return [false()]  # the register is not crew's (review.incidents.require_register)
    if kind == "assignment" and not (viewer.can(Can.SEE_ALL) or viewer.can(Can.ASSIGN)):
        mine = select(AssignmentUser.assignment_id).where(AssignmentUser.user_id == viewer.user.id)
        return [SearchEntry.ref.in_(mine)]
    return []


def _hits(
    session: Session, viewer: Viewer, kind: str, refs: list[int], words: list[str]
) -> list[Hit]:
    slug = viewer.project.slug
    order = {ref: n for n, ref in enumerate(refs)}
    hits: list[tuple[int, Hit]] = []
    if kind == "note":
        notes = session.scalars(select(Note).where(Note.id.in_(refs))).all()
        names = asset_names(
            session, viewer.project.id, {n.asset_sha256 for n in notes}, own_crew(viewer)
        )
        for note in notes:
            when = (
                seconds_of(note.start, note.rate) if note.start is not None and note.rate else None
            )
            snippet, marks = snip(note.body, words)
            title = (
                names[note.asset_sha256].name
                if note.asset_sha256 in names
                else note.asset_sha256[:12]
            )
            anchor = f"t={when:.3f}" if when is not None else f"note-{note.id}"
            link = f"/p/{slug}/a/{note.asset_sha256}#{anchor}"
            hits.append((order[note.id], Hit(kind, title, snippet, link, marks, when)))
    elif kind == "assignment":
        for job in session.scalars(select(Assignment).where(Assignment.id.in_(refs))):
            snippet, marks = snip(f"{job.title} — {job.brief}" if job.brief else job.title, words)
            hits.append(
                (
                    order[job.id],
                    Hit(kind, job.title, snippet, f"/p/{slug}/assignments/{job.id}", marks),
                )
            )
    elif kind == "incident":
        for incident in session.scalars(select(Incident).where(Incident.id.in_(refs))):
            body = " · ".join(p for p in (incident.code, incident.place, incident.description) if p)
            snippet, marks = snip(body, words)
            hits.append(
                (
                    order[incident.id],
                    Hit(
                        kind, incident.title, snippet, f"/p/{slug}/incidents/{incident.code}", marks
                    ),
                )
            )
    else:
        seen: set[str] = set()
        for arrival in session.scalars(select(Arrival).where(Arrival.id.in_(refs))):
            if arrival.asset_sha256 in seen:
                continue  # another copy of a clip already listed
            seen.add(arrival.asset_sha256)
            body = " · ".join(p for p in (arrival.path, arrival.source, arrival.crew) if p)
            snippet, marks = snip(body, words)
            title = arrival.path.rsplit("/", 1)[-1]
            hits.append(
                (
                    order[arrival.id],
                    Hit(kind, title, snippet, f"/p/{slug}/a/{arrival.asset_sha256}", marks),
                )
            )
    return [hit for _, hit in sorted(hits, key=lambda pair: pair[0])]


def snip(text: str, words: list[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Up to `SNIPPET` characters of ``text`` around the first of ``words`` found in it, and
    where each word found lies in that snippet (matched on the normalised text)."""
    folded, origin = normalise_mapped(text)
    spans = []
    for word in words:
        at = folded.find(word)
        if at >= 0 and word:
            spans.append(_whole_word(text, origin[at], origin[at + len(word) - 1] + 1))
    first = min((start for start, _ in spans), default=0)
    begin = max(0, first - SNIPPET // 3)
    end = min(len(text), begin + SNIPPET)
    snippet = ("…" if begin else "") + text[begin:end] + ("…" if end < len(text) else "")
    shift = 1 if begin else 0
    marks = tuple(
        sorted(
            (start - begin + shift, min(stop, end) - begin + shift)
            for start, stop in spans
            if begin <= start < end
        )
    )
    return snippet, marks


def _whole_word(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to the word it is part of ("سترة" found in "السُّترة" marks all of it)."""
    while start > 0 and _in_word(text[start - 1]):
        start -= 1
    while end < len(text) and _in_word(text[end]):
        end += 1
    return start, end


def _in_word(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char) in ("Mn", "Cf")
