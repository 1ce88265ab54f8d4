"""The custody chain verifies end to end and names the event that was tampered with."""

from __future__ import annotations

import hashlib
import io
import json
import threading

from sqlalchemy import delete, update

from rushes import custody
from rushes.base import Base
from rushes.catalog import CustodyEvent, CustodyHead
from rushes.custody import GENESIS, Verb


def append_some(base: Base, count: int) -> None:
    with base.catalog.write() as session:
        for i in range(count):
            custody.append(
                session, Verb.RECEIVED, actor="rescuer", asset="ab" * 32, details={"n": i, "â": "ü"}
            )


def report(base: Base) -> custody.ChainReport:
    with base.catalog.read() as session:
        return custody.verify_chain(session)


def chain_records(base: Base) -> list[dict]:
    with base.catalog.read() as session:
        return [custody.as_record(e) for e in custody.events(session)]


def test_chain_links_and_verifies(base: Base) -> None:
    append_some(base, 5)
    result = report(base)
    assert result.ok, result.problems
    assert result.events == 5 and result.head_seq == 5
    records = chain_records(base)
    assert records[0]["prev_hash"] == GENESIS
    assert [r["prev_hash"] for r in records[1:]] == [r["hash"] for r in records[:-1]]


def test_events_appended_together_link_as_if_one_by_one(base: Base) -> None:
    append_some(base, 2)
    with base.catalog.write() as session:
        batch = [(Verb.FIXITY_OK, "cd" * 32, {"n": i}) for i in range(3)]
        custody.append_many(session, batch, actor="verify")
    append_some(base, 1)
    result = report(base)
    assert result.ok, result.problems
    assert result.events == 6 and result.head_seq == 6
    records = chain_records(base)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r["details"] for r in records[2:5]] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [r["prev_hash"] for r in records[1:]] == [r["hash"] for r in records[:-1]]


def test_rolled_back_transaction_leaves_no_event(base: Base) -> None:
    append_some(base, 1)
    try:
        with base.catalog.write() as session:
            custody.append(session, Verb.EXPORTED, actor="editor")
            raise RuntimeError("export failed")
    except RuntimeError:
        pass
    assert report(base).events == 1 and report(base).ok


def test_edited_event_is_named(base: Base) -> None:
    append_some(base, 4)
    with base.catalog.write() as session:
        session.execute(
            update(CustodyEvent).where(CustodyEvent.seq == 2).values(actor="someone else")
        )
    assert report(base).problems == ["event 2 (received): content does not match its hash"]


def test_edit_with_recomputed_hash_breaks_the_next_link(base: Base) -> None:
    append_some(base, 4)
    with base.catalog.write() as session:
        event = session.get(CustodyEvent, 2)
        event.details = custody.canonical_json({"n": 99})
        event.hash = custody.event_hash(custody.as_record(event))
    assert report(base).problems == ["event 3: link to the previous event is broken"]


def test_deleted_event_is_named(base: Base) -> None:
    append_some(base, 4)
    with base.catalog.write() as session:
        session.execute(delete(CustodyEvent).where(CustodyEvent.seq == 3))
    problems = report(base).problems
    assert "events 3..3 are missing (deleted from the log)" in problems
    assert "event 4: link to the previous event is broken" in problems


def test_deleted_last_event_is_caught_by_the_head(base: Base) -> None:
    append_some(base, 3)
    with base.catalog.write() as session:
        session.execute(delete(CustodyEvent).where(CustodyEvent.seq == 3))
    (problem,) = report(base).problems
    assert "head names event 3 but the log ends at event 2" in problem


def test_concurrent_appenders_never_fork_the_chain(base: Base) -> None:
    def worker() -> None:
        for _ in range(10):
            append_some(base, 1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = report(base)
    assert result.ok, result.problems
    assert result.events == 40
    with base.catalog.read() as session:
        assert session.get(CustodyHead, 1).seq == 40


def test_jsonl_export_verifies_with_the_standard_library_only(base: Base) -> None:
    append_some(base, 3)
    out = io.StringIO()
    with base.catalog.read() as session:
        assert custody.export_jsonl(session, out) == 3

    def sha256(value: object) -> str:  # as docs/evidence-model.md tells another reader to
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    prev = "0" * 64
    for line in out.getvalue().splitlines():
        event = json.loads(line)
        says = {k: v for k, v in event.items() if k not in ("prev_hash", "hash")}
        assert len(says["salt"]) == 32
        assert sha256({"body_hash": sha256(says), "prev_hash": prev}) == event["hash"]
        assert event["prev_hash"] == prev
        prev = event["hash"]
