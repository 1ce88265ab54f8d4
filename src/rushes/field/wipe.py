"""Remove from the laptop what the base has confirmed it holds, so a seized laptop holds less.

Only the base's word counts: an original is gone from the kit once the base said, by its
SHA-256, that the original is in its vault; a proxy once the base said it has a proxy of it;
a note once it was shown here. Originals the base has not confirmed stay, with their proxies
and manifest entries. Card files are deleted only on request, only for originals the base
confirmed in this very run, and only after hashing the file again: what is deleted is exactly
the bytes the base holds.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from rushes.errors import os_reason
from rushes.field.importer import hash_file
from rushes.i18n import N_

ORPHAN_AFTER_S = 60.0


@dataclass
class Wiped:
    originals: int = 0  # contents whose manifest entries and proxies went
    proxies: int = 0
    proxy_bytes: int = 0
    notes: int = 0
    card_files: list[str] = field(default_factory=list)
    card_bytes: int = 0
    kept_card_files: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    only_here: int = 0  # originals the base has not confirmed: kept


def wipe(conn: sqlite3.Connection, proxies: Path, card_files: bool = False) -> Wiped:
    """Remove what the base confirmed (card files too with `card_files`), and sealed proxies
    in `proxies` that no entry names (left by an import cut short); what went."""
    wiped = Wiped()
    held = [r["sha256"] for r in conn.execute("SELECT sha256 FROM blobs WHERE in_vault = 1")]
    if card_files:
        for sha256 in held:
            _delete_card_files(conn, sha256, wiped)
    for row in conn.execute(
        "SELECT sha256, proxy_path FROM blobs WHERE proxy_path IS NOT NULL "
        "AND (in_vault = 1 OR base_proxy = 1)"
    ).fetchall():
        wiped.proxy_bytes += _remove(Path(row["proxy_path"]))
        wiped.proxies += 1
        conn.execute("UPDATE blobs SET proxy_path = NULL WHERE sha256 = ?", (row["sha256"],))
    with conn:
        for sha256 in held:
            conn.execute("DELETE FROM files WHERE sha256 = ?", (sha256,))
            conn.execute("DELETE FROM blobs WHERE sha256 = ?", (sha256,))
        wiped.originals = len(held)
        wiped.notes = conn.execute("DELETE FROM notes WHERE shown = 1").rowcount
    named = {
        r[0] for r in conn.execute("SELECT proxy_path FROM blobs WHERE proxy_path IS NOT NULL")
    }
    settled = time.time() - ORPHAN_AFTER_S  # younger: an import may be about to record it
    for path in proxies.glob("*.sealed"):
        if str(path) not in named and path.stat().st_mtime < settled:
            wiped.proxy_bytes += _remove(path)
            wiped.proxies += 1
    wiped.only_here = int(conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0])
    conn.execute("VACUUM")  # no removed row left in the database's free pages
    return wiped


def _remove(path: Path) -> int:
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size


def _delete_card_files(conn: sqlite3.Connection, sha256: str, wiped: Wiped) -> None:
    for row in conn.execute(
        "SELECT local_path, size, mtime_ns FROM files WHERE sha256 = ?", (sha256,)
    ).fetchall():
        path = Path(os.fsdecode(row["local_path"]))
        shown = os.fsdecode(row["local_path"])
        try:
            st = path.stat()
            if (st.st_size, st.st_mtime_ns) != (row["size"], row["mtime_ns"]):
                wiped.kept_card_files.append((shown, N_("changed since it was imported")))
                continue
            if hash_file(path) != sha256:
                wiped.kept_card_files.append((shown, N_("its bytes differ from the base's")))
                continue
            path.unlink()
        except FileNotFoundError:
            continue  # gone already (another import of the same card)
        except OSError as exc:
            wiped.kept_card_files.append((shown, os_reason(exc)))
            continue
        wiped.card_files.append(shown)
        wiped.card_bytes += row["size"]
