"""Send what was imported, smallest and most urgent first, through a link that keeps breaking.

Order of one pass: every unsent manifest entry (custody starts at the card, and it is a few
bytes a file), then every proxy (what the director watches today), then originals: first those
the base asks for (a reviewer pressed "send original"; asked again before each original, so a
request made during a long sync is served next), then the rest smallest first, so as many
clips as possible are whole on the base by the time the link or the battery gives out.

Each upload's tus URL is stored before its first byte is sent; after a cut, a restart or a
reboot the kit asks the base how much it holds (HEAD) and goes on from there. Chunks carry
their SHA-256 and are sized to take a few seconds at the measured speed, so a cut loses little.
A network error (or 5xx) ends the pass; sync then waits (exponential backoff with jitter, in
whole seconds, at least one and at most a minute) and starts a new pass, for ever unless
`once`. A refusal that retrying will not change (a 422 for bytes that do not match their hash,
a 413, a 403) marks that one upload failed with the base's reason and the pass goes on;
`status` lists them.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from rushes.errors import RushesError
from rushes.field.client import Client, Refused, Unreachable
from rushes.field.home import Login, now
from rushes.field.notes import remember_wanted
from rushes.field.pacing import Backoff
from rushes.field.sealed import Damaged, Reader
from rushes.i18n import N_, _, ngettext
from rushes.vault.store import display_path

MANIFEST_BATCH = 10_000
Kind = Literal["proxy", "original"]
T = TypeVar("T")


class Stopped(RushesError):
    """The base refused the login itself (a revoked or foreign token): nothing can be sent."""


class Waiting(RushesError):
    """The original cannot be read now (card removed, file changed); tried again next pass."""


@dataclass(frozen=True)
class Item:
    sha256: str
    kind: Kind
    path: Path  # what to read: the proxy, or the original where it was imported
    size: int
    metadata: dict[str, str]
    label: str


@dataclass(frozen=True)
class Left:
    manifests: int
    proxies: int
    originals: int
    waiting: int  # originals not readable now
    failed: int

    @property
    def total(self) -> int:
        return self.manifests + self.proxies + self.originals + self.failed

    @property
    def sendable(self) -> int:
        """What another pass could send now (not the unreadable, not the refused)."""
        return self.manifests + self.proxies + self.originals - self.waiting


def retry_failed(conn: sqlite3.Connection) -> int:
    """Forget the refusals, so the next pass tries those uploads again; how many there were."""
    cursor = conn.execute(
        "UPDATE blobs SET proxy_failed = '', original_failed = '' "
        "WHERE proxy_failed != '' OR original_failed != ''"
    )
    return cursor.rowcount


def left(conn: sqlite3.Connection) -> Left:
    def one(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    return Left(
        manifests=one("SELECT COUNT(*) FROM files WHERE manifest_sent_at IS NULL"),
        proxies=one(f"SELECT COUNT(*) FROM blobs WHERE {_PROXY_PENDING}"),
        originals=one(f"SELECT COUNT(*) FROM blobs WHERE {_ORIGINAL_PENDING}"),
        waiting=one(
            f"SELECT COUNT(*) FROM blobs WHERE {_ORIGINAL_PENDING} AND original_waiting != ''"
        ),
        failed=one("SELECT COUNT(*) FROM blobs WHERE proxy_failed != '' OR original_failed != ''"),
    )


_PROXY_PENDING = (
    "proxy_path IS NOT NULL AND proxy_sent_at IS NULL AND proxy_failed = '' AND base_proxy = 0"
)
_ORIGINAL_PENDING = "original_sent_at IS NULL AND original_failed = '' AND in_vault = 0"


class ChunkSize:
    """Bytes per PATCH: about TARGET seconds of sending at the speed last seen."""

    LOW, HIGH, TARGET = 64 << 10, 16 << 20, 5.0

    def __init__(self, max_rate: int | None) -> None:
        self.size = self._clamp(max_rate * self.TARGET) if max_rate else 1 << 20

    def _clamp(self, n: float) -> int:
        return int(min(self.HIGH, max(self.LOW, n)))

    def measured(self, n: int, seconds: float) -> None:
        if n >= self.size // 2:  # a short last chunk says little about the link
            self.size = self._clamp(n / max(seconds, 1e-3) * self.TARGET)

    def cut(self) -> None:
        self.size = max(self.LOW, self.size // 2)


class Meter:
    """Progress on stderr: one bar for the whole pass and one for the file being sent."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self.overall: TaskID | None = None
        self.current: TaskID | None = None

    def __enter__(self) -> Meter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def begin_pass(self, total: int) -> None:
        if self.overall is not None:
            self.progress.remove_task(self.overall)
        self.overall = self.progress.add_task("[bold]" + _("all uploads"), total=total)

    def begin(self, item: Item, offset: int) -> None:
        self.end()
        label = f"{item.kind} {escape(item.label)}"
        self.current = self.progress.add_task(label, total=item.size, completed=offset)
        if self.overall is not None:
            self.progress.advance(self.overall, offset)

    def sent(self, n: int) -> None:
        for task in (self.current, self.overall):
            if task is not None:
                self.progress.advance(task, n)

    def end(self) -> None:
        if self.current is not None:
            self.progress.remove_task(self.current)
            self.current = None

    def say(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)


class Sync:
    def __init__(
        self,
        conn: sqlite3.Connection,
        client: Client,
        login: Login,
        meter: Meter,
        *,
        open_proxy: Callable[[Path], Reader],
        still_open: Callable[[], None] = lambda: None,
        max_rate: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`open_proxy` reads a sealed proxy of the kit's folder as its plaintext; `still_open`
        raises once the kit is locked, checked before every chunk, so a lock stops an upload."""
        self.conn, self.client, self.meter, self.sleep = conn, client, meter, sleep
        self.open_proxy, self.still_open = open_proxy, still_open
        self.api = f"api/p/{login.project}/field"
        self.chunks = ChunkSize(max_rate)
        self.backoff = Backoff()

    def run(self, once: bool = False) -> Left:
        """Passes until one ends without a network error and leaves nothing a new pass could
        send (a card imported during the pass), or after one pass with `once`."""
        while True:
            try:
                before = left(self.conn)
                self.one_pass()
                after = left(self.conn)
                if once or after.sendable == 0 or after == before:
                    return after
            except Unreachable as exc:
                self.meter.end()
                self.chunks.cut()
                if once:
                    self.meter.say(_("the base is unreachable: {reason}").format(reason=exc))
                    return left(self.conn)
                seconds = math.ceil(self.backoff.next())  # as said: whole seconds, at least 1
                self.meter.say(
                    ngettext(
                        "the base is unreachable ({reason}); trying again in {count} second",
                        "the base is unreachable ({reason}); trying again in {count} seconds",
                        seconds,
                    ).format(reason=exc, count=seconds)
                )
                self.sleep(seconds)

    def one_pass(self) -> None:
        self.send_manifests()
        pending = self.conn.execute(
            f"SELECT COALESCE(SUM(CASE WHEN {_PROXY_PENDING} THEN proxy_size ELSE 0 END), 0) "
            f"+ COALESCE(SUM(CASE WHEN {_ORIGINAL_PENDING} THEN size ELSE 0 END), 0) FROM blobs"
        ).fetchone()[0]
        self.meter.begin_pass(int(pending))
        for row in self.conn.execute(
            f"SELECT * FROM blobs WHERE {_PROXY_PENDING} ORDER BY first_seen"
        ).fetchall():
            self.send(self._proxy_item(row))
        tried: set[str] = set()
        while (row := self._next_original(tried)) is not None:
            tried.add(row["sha256"])
            try:
                item = self._original_item(row)
            except Waiting as exc:
                self._set(row["sha256"], original_waiting=str(exc))
                continue
            self.send(item)
        self.meter.end()

    # Manifests

    def send_manifests(self) -> None:
        for (source,) in self.conn.execute(
            "SELECT DISTINCT source FROM files WHERE manifest_sent_at IS NULL"
        ).fetchall():
            while rows := self.conn.execute(
                "SELECT files.*, blobs.media FROM files JOIN blobs USING (sha256) "
                "WHERE manifest_sent_at IS NULL AND source = ? ORDER BY id LIMIT ?",
                (source, MANIFEST_BATCH),
            ).fetchall():
                self._send_manifest(source, rows)

    def _send_manifest(self, source: str, rows: list[sqlite3.Row]) -> None:
        answer = self._post_manifest(source, rows)
        with self.conn:
            self._learn(answer)
            self.conn.executemany(
                "UPDATE files SET manifest_sent_at = ? WHERE id = ?",
                [(now(), r["id"]) for r in rows],
            )
        self.meter.say(
            ngettext(
                "manifest of {count} file from {card} sent",
                "manifest of {count} files from {card} sent",
                len(rows),
            ).format(count=len(rows), card=source or _("no label"))
        )

    def _post_manifest(self, source: str, rows: list[sqlite3.Row]) -> dict[str, Any]:
        entries = [
            {
                "sha256": r["sha256"],
                "size": r["size"],
                "path": r["card_path"],
                "mtime_ns": r["mtime_ns"],
                "media": json.loads(r["media"]) if r["media"] else None,
            }
            for r in rows
        ]
        return self._call(
            lambda: self.client.post_json(
                f"{self.api}/manifest", {"source": source, "entries": entries}
            )
        )

    def confirm(self) -> None:
        """Ask the base, by hash, which originals and proxies it holds of all not yet known to
        be there (the manifest sent again: the base answers each entry, and records nothing
        twice). Unreachable or Stopped when it cannot answer."""
        rows = self.conn.execute(
            "SELECT files.*, blobs.media FROM files JOIN blobs USING (sha256) "
            "WHERE files.id IN (SELECT MIN(id) FROM files GROUP BY sha256) "
            "AND (in_vault = 0 OR (proxy_path IS NOT NULL AND base_proxy = 0)) ORDER BY source"
        ).fetchall()
        for source in sorted({r["source"] for r in rows}):
            of_source = [r for r in rows if r["source"] == source]
            for start in range(0, len(of_source), MANIFEST_BATCH):
                answer = self._post_manifest(source, of_source[start : start + MANIFEST_BATCH])
                with self.conn:
                    self._learn(answer)

    def _learn(self, answer: dict[str, list[dict[str, object]]]) -> None:
        """What the base already has: nothing of it needs sending."""
        for entry in answer.get("entries", []):
            if entry.get("problem"):
                self.meter.say(f"{str(entry.get('sha256'))[:12]}: {entry['problem']}")
            self.conn.execute(
                "UPDATE blobs SET in_vault = MAX(in_vault, ?), base_proxy = MAX(base_proxy, ?) "
                "WHERE sha256 = ?",
                (
                    int(bool(entry.get("in_vault"))),
                    int(bool(entry.get("proxy"))),
                    entry.get("sha256"),
                ),
            )

    def _call(self, request: Callable[[], T]) -> T:
        """A manifest or wanted request: a refusal of these is a refusal of the login."""
        try:
            result = request()
        except Refused as exc:
            raise Stopped(
                _("the base refused the field kit: {reason} ({status})").format(
                    reason=_(exc.reason), status=exc.status
                )
            ) from exc
        self.backoff.reset()
        return result

    # Choosing what to send

    def _next_original(self, tried: set[str]) -> sqlite3.Row | None:
        wanted = self._call(lambda: self.client.get_json(f"{self.api}/wanted"))
        remember_wanted(self.conn, wanted.get("originals", []))
        for sha256 in wanted.get("originals", []):
            row = self.conn.execute(
                f"SELECT * FROM blobs WHERE sha256 = ? AND {_ORIGINAL_PENDING}", (sha256,)
            ).fetchone()
            if row is not None and sha256 not in tried:
                return row
        for row in self.conn.execute(
            f"SELECT * FROM blobs WHERE {_ORIGINAL_PENDING} ORDER BY size, first_seen"
        ):
            if row["sha256"] not in tried:
                return row
        return None

    def _proxy_item(self, row: sqlite3.Row) -> Item:
        meta = {"kind": "proxy", "sha256": row["proxy_sha256"], "original": row["sha256"]}
        label = f"of {self._card_name(row['sha256'])}"
        return Item(row["sha256"], "proxy", Path(row["proxy_path"]), row["proxy_size"], meta, label)

    def _original_item(self, row: sqlite3.Row) -> Item:
        """The original read from where it was imported, if it is still the same file there."""
        for file in self.conn.execute(
            "SELECT * FROM files WHERE sha256 = ? ORDER BY id DESC", (row["sha256"],)
        ):
            path = Path(os.fsdecode(file["local_path"]))
            try:
                st = os.stat(path)
            except OSError:
                continue
            if (st.st_size, st.st_mtime_ns) == (file["size"], file["mtime_ns"]):
                meta = {
                    "kind": "original",
                    "sha256": row["sha256"],
                    "filename": file["card_path"],
                    "source": file["source"],
                }
                if row["original_waiting"]:
                    self._set(row["sha256"], original_waiting="")
                shown = display_path(file["card_path"])
                return Item(row["sha256"], "original", path, row["size"], meta, shown)
        raise Waiting(N_("not readable where it was imported (card removed or file changed)"))

    def _card_name(self, sha256: str) -> str:
        found = self.conn.execute(
            "SELECT card_path FROM files WHERE sha256 = ? ORDER BY id LIMIT 1", (sha256,)
        ).fetchone()
        return display_path(found["card_path"]) if found else sha256[:12]

    # Sending

    def send(self, item: Item) -> None:
        try:
            self._upload(item)
        except Refused as exc:
            if exc.status == 401:
                raise Stopped(exc.reason) from exc
            if exc.status == 409 and item.kind == "proxy":
                # The base has not heard of the original: send its manifest again next pass.
                self.conn.execute(
                    "UPDATE files SET manifest_sent_at = NULL WHERE sha256 = ?", (item.sha256,)
                )
                self.meter.say(f"proxy {item.label}: {exc.reason}")
                return
            self._set(item.sha256, **{f"{item.kind}_failed": exc.reason or str(exc.status)})
            self.meter.say(
                _("{what} {name} refused by the base: {reason}").format(
                    what=_(item.kind), name=item.label, reason=_(exc.reason) or exc.status
                )
            )
        except Waiting as exc:
            self._set(item.sha256, original_waiting=str(exc))
            self.meter.say(f"{item.kind} {item.label}: {exc}")
        except Damaged as exc:  # a sealed proxy that does not open: make it again by importing
            self._set(item.sha256, proxy_failed=str(exc))
            self.meter.say(f"{item.kind} {item.label}: {exc}")

    def _upload(self, item: Item) -> None:
        column = f"{item.kind}_url"
        url = self.conn.execute(
            f"SELECT {column} FROM blobs WHERE sha256 = ?", (item.sha256,)
        ).fetchone()[0]
        offset = self.client.offset(url) if url else None
        if url and (offset is None or offset >= item.size):
            # Complete (the answer to the last PATCH was lost), or forgotten by the base: ask
            # whether it kept the file. If not, start again; a refusal then comes with a reason.
            if self._base_has(item):
                return
            url = None
        if url is None:
            url = self.client.create(item.size, item.metadata)
            self._set(item.sha256, **{column: url})
            offset = 0
        assert offset is not None
        self.meter.begin(item, offset)
        try:
            with self.open_proxy(item.path) if item.kind == "proxy" else open(item.path, "rb") as f:
                while offset < item.size:
                    self.still_open()
                    f.seek(offset)
                    chunk = f.read(min(self.chunks.size, item.size - offset))
                    if not chunk:
                        raise Waiting(N_("the file is shorter than when it was imported"))
                    started = time.monotonic()
                    offset = self.client.patch(url, offset, chunk, sent=self.meter.sent)
                    self.chunks.measured(len(chunk), time.monotonic() - started)
                    self.backoff.reset()
        except OSError as exc:
            raise Waiting(f"cannot read {item.path}: {exc.strerror or exc}") from exc
        self.meter.end()
        self._set(item.sha256, **{column: None, f"{item.kind}_sent_at": now()})

    def _base_has(self, item: Item) -> bool:
        """Ask with the manifest (resending it is harmless) whether the upload already landed."""
        row = self.conn.execute(
            "SELECT * FROM files WHERE sha256 = ? LIMIT 1", (item.sha256,)
        ).fetchone()
        entry = {"sha256": row["sha256"], "size": row["size"], "path": row["card_path"]}
        answer = self.client.post_json(
            f"{self.api}/manifest", {"source": row["source"], "entries": [entry]}
        )
        with self.conn:
            self._learn(answer)
        found = self.conn.execute(
            "SELECT in_vault, base_proxy FROM blobs WHERE sha256 = ?", (item.sha256,)
        ).fetchone()
        has = bool(found["in_vault"] if item.kind == "original" else found["base_proxy"])
        if has:
            self._set(item.sha256, **{f"{item.kind}_url": None, f"{item.kind}_sent_at": now()})
        return has

    def _set(self, sha256: str, **values: object) -> None:
        assignments = ", ".join(f"{name} = ?" for name in values)
        self.conn.execute(
            f"UPDATE blobs SET {assignments} WHERE sha256 = ?", (*values.values(), sha256)
        )
