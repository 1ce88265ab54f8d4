"""The full-text index: what can be searched, kept in step with the catalog as it is written.

Every note and reply, assignment, incident and arrival (file name, card, crew) has one row in
`search_entries`, its searchable words normalised here, in Python, the same way as a query, so
both databases search the same text:

* Arabic: harakat (U+064B-U+065F), the dagger alef (U+0670) and tatweel are removed; the alef
  forms أ إ آ ٱ become ا, ى becomes ي and ة becomes ه (people type them either way); Persian
  yeh and kaf become their Arabic letters; Eastern Arabic digits become 0-9.
* Latin: case-folded. Presentation forms are unfolded (NFKC); zero-width and direction
  controls are dropped (a pasted name carries them).

SQLite searches the rows through an FTS5 table with the `trigram` tokenizer (substrings of three
characters or more; `unicode61` would split Arabic words at their diacritics); PostgreSQL through
GIN indexes of `to_tsvector('arabic', …) || to_tsvector('english', …)` (word stems) and
`pg_trgm` (substrings). Both are made by migration 0015, which fills the index from what exists.

The rows follow the catalog through the writer's `after_flush` hook (`index_changes`), in the
same transaction as the change: a note is searchable once it is saved, and gone with what it
was about. Who may see a row is not decided here but by `rushes.review.search`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session, load_only

from rushes.catalog.models import Arrival, Assignment, Incident, Note, SearchEntry

KINDS = ("note", "assignment", "incident", "file")

_DROP = dict.fromkeys(
    [*range(0x064B, 0x0660), 0x0670, 0x0640]  # harakat, dagger alef, tatweel
    + [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, 0x00AD]  # zero-width, marks
    + [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x061C]  # direction embeddings
) | dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0)], " ")  # controls: word breaks
_LETTERS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
        "ی": "ي",
        "ک": "ك",
        **{chr(0x0660 + d): str(d) for d in range(10)},  # ٠-٩
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # ۰-۹ (Persian)
    }
)
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """``text`` as it is indexed and searched (see the module docstring)."""
    folded = unicodedata.normalize("NFKC", text).translate(_DROP).translate(_LETTERS)
    return _SPACE.sub(" ", folded.casefold()).strip()


def normalise_mapped(text: str) -> tuple[str, list[int]]:
    """`normalise` character by character, with the index in ``text`` of every character of
    the result (to mark a match in the original), spaces left as they are."""
    out: list[str] = []
    origin: list[int] = []
    for at, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char).translate(_DROP).translate(_LETTERS):
            folded = piece.casefold()
            out.append(folded)
            origin.extend([at] * len(folded))
    return "".join(out), origin


def entry_text(row: Note | Assignment | Incident | Arrival) -> str:
    """The words of one catalog row that search finds it by."""
    if isinstance(row, Note):
        parts: Iterable[str | None] = (row.body,)
    elif isinstance(row, Assignment):
        parts = (row.title, row.brief)
    elif isinstance(row, Incident):
        parts = (row.code, row.title, row.place, row.type, row.description)
    else:
        parts = (row.path, row.source, row.crew)
    return normalise(" \n ".join(part for part in parts if part))


def _entry(row: Any) -> dict[str, Any] | None:
    """The index row of a catalog row, or None when it is not to be found (a deleted one)."""
    if isinstance(row, Note):
        kind, sha = "note", row.asset_sha256
    elif isinstance(row, Assignment):
        kind, sha = "assignment", None
    elif isinstance(row, Incident):
        if row.deleted_at is not None:
            return None
        kind, sha = "incident", None
    elif isinstance(row, Arrival):
        kind, sha = "file", row.asset_sha256
    else:
        return None
    return {
        "project_id": row.project_id,
        "kind": kind,
        "ref": row.id,
        "asset_sha256": sha,
        "text": entry_text(row),
    }


_WATCHED = {
    Note: ("body", "asset_sha256"),
    Assignment: ("title", "brief"),
    Incident: ("code", "title", "place", "type", "description", "deleted_at"),
    Arrival: ("path", "source", "crew"),
}


def _changed(row: Any) -> bool:
    state = inspect(row)
    return any(state.attrs[name].history.has_changes() for name in _WATCHED[type(row)])


def index_changes(session: Session, _context: Any) -> None:
    """The writer's after_flush hook: bring the index rows of what was flushed up to date."""
    stale: list[tuple[str, int]] = []
    fresh: list[dict[str, Any]] = []
    for row in session.new:
        if type(row) in _WATCHED and (entry := _entry(row)) is not None:
            fresh.append(entry)
    for row in session.dirty:
        if type(row) in _WATCHED and _changed(row):
            entry = _entry(row)
            stale.append((_kind(row), row.id))
            if entry is not None:
                fresh.append(entry)
    for row in session.deleted:
        if type(row) in _WATCHED:
            stale.append((_kind(row), row.id))
    if stale or fresh:
        _apply(session.connection(), stale, fresh)


def _kind(row: Any) -> str:
    return {Note: "note", Assignment: "assignment", Incident: "incident", Arrival: "file"}[
        type(row)
    ]


def _apply(
    connection: Connection, stale: list[tuple[str, int]], fresh: list[dict[str, Any]]
) -> None:
    table = SearchEntry.__table__
    for kind in {kind for kind, _ in stale}:
        refs = [ref for k, ref in stale if k == kind]
        connection.execute(delete(table).where(table.c.kind == kind, table.c.ref.in_(refs)))
    if fresh:
        connection.execute(insert(table), fresh)


def rebuild(connection: Connection) -> int:
    """Index every row again from scratch (migration 0015, `rushes search --reindex`)."""
    connection.execute(delete(SearchEntry.__table__))
    count = 0
    with Session(connection) as session:
        for batch in _batches(session):
            _apply(connection, [], batch)
            count += len(batch)
    return count


def _batches(session: Session, size: int = 2000) -> Iterator[list[dict[str, Any]]]:
    for model in _WATCHED:
        batch: list[dict[str, Any]] = []
        # Only the columns indexed: the models may have grown since this migration.
        columns = ("id", "project_id", *_WATCHED[model])
        if model in (Note, Arrival):
            columns = (*columns, "asset_sha256")
        query = session.query(model).options(load_only(*(getattr(model, c) for c in columns)))
        for row in query.yield_per(size):
            if (entry := _entry(row)) is not None:
                batch.append(entry)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch


# ---- Searching --------------------------------------------------------------------------------

MAX_QUERY = 200  # characters a query may have
MAX_TERMS = 8  # words of a query that count
MIN_INDEXED = 3  # characters a word needs to be looked up in the index (trigrams)
# Arabic prefixes a word is also searched without: the conjunctions و and ف, the prepositions
# ب ك ل, the article ال and their combinations ("والمستشفى" finds "مستشفى"). What is left is a
# substring of the word, so this only widens the search, never narrows it.
_PREFIXES = ("وال", "فال", "بال", "كال", "لل", "ال", "و", "ف", "ب")


def terms(query: str) -> list[str]:
    """The words of a query as they are looked for: normalised, their Arabic prefixes off."""
    found = []
    for word in normalise(query).split()[:MAX_TERMS]:
        for prefix in _PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= MIN_INDEXED:
                word = word[len(prefix) :]
                break
        found.append(word)
    return found


def matching(dialect: str, words: list[str]) -> ColumnElement[bool]:
    """A condition on `search_entries` that every one of ``words`` meets."""
    table = SearchEntry.__table__
    conditions: list[ColumnElement[bool]] = []
    if dialect == "sqlite":
        indexed = [w for w in words if len(w) >= MIN_INDEXED]
        if indexed:
            expression = " AND ".join('"' + w.replace('"', '""') + '"' for w in indexed)
            fts = (
                select(literal_column("rowid"))
                .select_from(text("search_fts"))
                .where(text("search_fts MATCH :fts").bindparams(fts=expression))
            )
            conditions.append(table.c.id.in_(fts.scalar_subquery()))
        conditions += [_contains(w) for w in words if len(w) < MIN_INDEXED]
    else:
        for n, word in enumerate(words):
            stems = text(
                f"search_entries.words @@ (plainto_tsquery('arabic'::regconfig, :stem{n})"
                f" || plainto_tsquery('english'::regconfig, :stem{n}))"
            ).bindparams(**{f"stem{n}": word})
            conditions.append(or_(stems, _contains(word)))
    return and_(*conditions)


# On PostgreSQL a search first takes up to PROBE rows from the GIN indexes (a bitmap scan), which
# is all of them when the words are rare, and only when there are that many asks for the newest
# in order, walking the newest rows until enough match: fast when the words are common. Either
# plan alone is slow for the other case (64 ms for a word in no row of 110,000 by walking).
PROBE = 400


def find(
    session: Session,
    project_id: int,
    kind: str,
    words: list[str],
    allowed: Iterable[ColumnElement[bool]],
    limit: int,
) -> list[int]:
    """Refs of the project's rows of ``kind`` holding every word and meeting ``allowed``,
    newest first, at most ``limit``."""
    table = SearchEntry.__table__
    query = select(table.c.ref).where(
        table.c.project_id == project_id,
        table.c.kind == kind,
        matching(session.get_bind().dialect.name, words),
        *allowed,
    )
    if session.get_bind().dialect.name == "postgresql":
        # Left to itself the planner may read the table in order for a kind with few rows.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_indexscan = off"))
        probe = session.scalars(query.limit(PROBE)).all()
        session.execute(text("SET LOCAL enable_seqscan = on"))
        session.execute(text("SET LOCAL enable_indexscan = on"))
        if len(probe) < PROBE:
            return sorted(probe, reverse=True)[:limit]
    return list(session.scalars(query.order_by(table.c.ref.desc()).limit(limit)))


def _contains(word: str) -> ColumnElement[bool]:
    return SearchEntry.__table__.c.text.contains(word, autoescape=True)
