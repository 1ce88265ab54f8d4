"""Read bytes once and feed several consumers in parallel.

hashlib and file writes release the GIL on large buffers, so SHA-256, SHA-512 and the vault
write each get a thread and the source is read exactly once: ingest runs at disk speed rather
than at the speed of the slowest hash.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

CHUNK = 8 << 20
_DEPTH = 4  # chunks in flight per consumer: bounds memory to about CHUNK * DEPTH * consumers


def pump(read: Callable[[int], bytes], sinks: Sequence[Callable[[bytes], object]]) -> int:
    """Feed every chunk from `read` to every sink; return the byte count.

    The first exception raised by `read` or by any sink stops the reading and is re-raised
    after all threads have finished, so no thread outlives the call.
    """
    queues: list[queue.Queue[bytes | None]] = [queue.Queue(maxsize=_DEPTH) for _ in sinks]
    failures: list[BaseException] = []

    def consume(q: queue.Queue[bytes | None], sink: Callable[[bytes], object]) -> None:
        while (chunk := q.get()) is not None:
            if failures:
                continue  # keep draining so the reader never blocks on a full queue
            try:
                sink(chunk)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                failures.append(exc)

    threads = [
        threading.Thread(target=consume, args=(q, sink), daemon=True)
        for q, sink in zip(queues, sinks, strict=True)
    ]
    for thread in threads:
        thread.start()
    total = 0
    try:
        while not failures and (chunk := read(CHUNK)):
            total += len(chunk)
            for q in queues:
                q.put(chunk)
    except BaseException as exc:  # noqa: BLE001
        failures.append(exc)
    finally:
        for q in queues:
            q.put(None)
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    return total
