"""Waiting for another thread's work without going deaf to Ctrl-C.

The kernel gives a process's SIGINT to any of its threads, often a worker's, and Python runs
the handler in the main thread only when that thread next runs: blocked in one long wait for
a future, it would notice the Ctrl-C only once the work (a big file sent or re-hashed) is done.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TypeVar

STEP_S = 0.1  # how soon a Ctrl-C is noticed

T = TypeVar("T")


def waited(future: Future[T]) -> T:
    """``future``'s result, waited for in short steps."""
    while True:
        try:
            return future.result(timeout=STEP_S)
        except TimeoutError:
            continue
