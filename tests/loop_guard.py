"""Fail any synchronous database checkout made on a thread that runs an event loop.

A blocking checkout there stops every request the process serves (and, with the pool's
connections held by thread-pool requests waiting for that loop, stops them for good). The
tests' conftest installs the guard for in-process servers; `python -m tests.loop_guard serve`
runs the real `rushes serve` with it for tests that need a separate process.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import traceback
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool

MARK = "database checkout on the event loop thread"
violations: list[str] = []


class LoopBlocked(AssertionError):
    """Raised by the checkout that would block the event loop."""


_guarded = {"main thread": False}


def _checkout(_dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # a worker thread, or a plain synchronous caller: fine
    if threading.current_thread() is threading.main_thread() and not _guarded["main thread"]:
        return  # a test's own loop (Playwright's sync API runs one): in-process servers run
        # on threads of their own
    where = "".join(traceback.format_stack(limit=14)[:-1])
    violations.append(where)
    print(f"{MARK}:\n{where}", file=sys.stderr, flush=True)
    raise LoopBlocked(f"{MARK}:\n{where}")


def install(*, main_thread: bool = False) -> None:
    """Guard the loops of other threads (in-process test servers); with `main_thread`, the
    main thread's too (a `rushes serve` process)."""
    _guarded["main thread"] = main_thread
    if not event.contains(Pool, "checkout", _checkout):
        event.listen(Pool, "checkout", _checkout)


if __name__ == "__main__":
    install(main_thread=True)
    from rushes.cli import main

    sys.argv[0] = "rushes"
    main()
