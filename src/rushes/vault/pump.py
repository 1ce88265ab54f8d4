"""Feed the same bytes to several consumers in parallel.

hashlib and file writes release the GIL on large buffers, so SHA-256, SHA-512 and the vault
write each get a thread and the source is read exactly once: ingest runs at disk speed rather
than at the speed of the slowest hash. `pump` pulls from a reader; `Pump` is pushed to by a
producer that has its own pace (the upload server, as bytes come off the network).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

CHUNK = 8 << 20
_DEPTH = 4  # chunks in flight per consumer: bounds memory to about chunk * DEPTH * consumers

T = TypeVar("T")


class Pump(Generic[T]):
    """A thread per sink, each fed every chunk in order. `feed` blocks while the slowest sink
    is `_DEPTH` chunks behind; `close` waits for a `feed` under way, then for every sink, and
    re-raises the first exception any of them raised. After a failure the sinks take nothing
    more (they drain what is fed): a producer with more to come checks `failures` as it goes,
    so as not to feed on for nothing."""

    def __init__(self, sinks: Sequence[Callable[[T], object]]) -> None:
        self.failures: list[BaseException] = []
        self._feeding = threading.Lock()
        self._queues: list[queue.Queue[T | None]] = [queue.Queue(maxsize=_DEPTH) for _ in sinks]
        self._threads = [
            threading.Thread(target=self._consume, args=(q, sink), daemon=True)
            for q, sink in zip(self._queues, sinks, strict=True)
        ]
        for thread in self._threads:
            thread.start()

    def _consume(self, q: queue.Queue[T | None], sink: Callable[[T], object]) -> None:
        while (chunk := q.get()) is not None:
            if self.failures:
                continue  # keep draining so the producer never blocks on a full queue
            try:
                sink(chunk)
            except BaseException as exc:  # noqa: BLE001 - re-raised by close()
                self.failures.append(exc)

    def room(self) -> bool:
        """`feed` would not wait (only the single producer adds, so this stays true until it
        feeds)."""
        return not any(q.full() for q in self._queues)

    def feed(self, chunk: T) -> None:
        """Hand `chunk` to every sink; it must not be changed afterwards."""
        with self._feeding:
            for q in self._queues:
                q.put(chunk)

    def close(self) -> None:
        """Wait for the sinks to finish; raise what failed."""
        with self._feeding:
            for q in self._queues:
                q.put(None)
        for thread in self._threads:
            thread.join()
        if self.failures:
            raise self.failures[0]


def pump(read: Callable[[int], bytes], sinks: Sequence[Callable[[bytes], object]]) -> int:
    """Feed every chunk from `read` to every sink; return the byte count.

    The first exception raised by `read` or by any sink stops the reading and is re-raised
    after all threads have finished, so no thread outlives the call.
    """
    feeder = Pump(sinks)
    total = 0
    try:
        while not feeder.failures and (chunk := read(CHUNK)):
            total += len(chunk)
            feeder.feed(chunk)
    except BaseException as exc:  # noqa: BLE001
        feeder.failures.append(exc)
    feeder.close()
    return total
