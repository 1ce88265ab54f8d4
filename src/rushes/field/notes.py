"""Notes and assignments addressed to this crew member, and the originals the base asked for,
fetched when the link allows and kept on the laptop so they can be read offline.

The cursor is the last note id the base returned: ids only grow, so no note written while a
fetch was running is skipped (a time cursor could miss one committed a moment late). Every
assignment comes back on each fetch; one counts as new when its `updated_at` changed. What is
new is what was fetched and never shown, so notes fetched by one run and interrupted before
printing are still new on the next.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from rushes.field.client import Client

PAGE = 500  # the most the base returns at once


@dataclass(frozen=True)
class Inbox:
    notes: list[dict[str, Any]]
    assignments: list[dict[str, Any]]


def fetch(conn: sqlite3.Connection, client: Client) -> int:
    """Store what the base has for us; how many notes were not here before."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'notes_cursor'").fetchone()
    query: dict[str, str | int] = {"limit": PAGE}
    if row:
        query["since"] = row["value"]
    answer = client.get_json("api/me/notes", **query)
    added = 0
    with conn:
        for note in answer.get("notes", []):
            cursor = conn.execute(
                "INSERT OR IGNORE INTO notes (id, body) VALUES (?, ?)",
                (note["id"], json.dumps(note)),
            )
            added += cursor.rowcount
        for work in answer.get("assignments", []):
            conn.execute(
                "INSERT INTO assignments (id, body, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body, "
                "updated_at = excluded.updated_at, shown = 0 "
                "WHERE assignments.updated_at != excluded.updated_at",
                (work["id"], json.dumps(work), work["updated_at"]),
            )
        if answer.get("last_note_id") is not None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('notes_cursor', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(answer["last_note_id"]),),
            )
    return added


def take(conn: sqlite3.Connection, everything: bool = False) -> Inbox:
    """What to show (the unshown, or all), oldest first; it counts as shown from now on."""
    where = "" if everything else " WHERE shown = 0"
    with conn:
        notes = [
            json.loads(r["body"])
            for r in conn.execute(f"SELECT body FROM notes{where} ORDER BY id")
        ]
        work = [
            json.loads(r["body"])
            for r in conn.execute(f"SELECT body FROM assignments{where} ORDER BY id")
        ]
        conn.execute("UPDATE notes SET shown = 1 WHERE shown = 0")
        conn.execute("UPDATE assignments SET shown = 1 WHERE shown = 0")
    return Inbox(notes, work)


def fetch_wanted(conn: sqlite3.Connection, client: Client, project: str) -> list[str]:
    """Ask the base which originals it wants from us, and keep the answer."""
    answer = client.get_json(f"api/p/{project}/field/wanted")
    shas = [str(sha) for sha in answer.get("originals", [])]
    remember_wanted(conn, shas)
    return shas


def remember_wanted(conn: sqlite3.Connection, shas: list[str]) -> None:
    """The base's latest list of wanted originals, for `status` and `notes` offline."""
    with conn:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('wanted', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (json.dumps(shas),),
        )


def wanted(conn: sqlite3.Connection) -> list[str]:
    """The originals the base asked for at the last contact, not yet sent nor on the base."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'wanted'").fetchone()
    if row is None:
        return []
    done = {
        r["sha256"]
        for r in conn.execute(
            "SELECT sha256 FROM blobs WHERE original_sent_at IS NOT NULL OR in_vault"
        )
    }
    return [sha for sha in json.loads(row["value"]) if sha not in done]
