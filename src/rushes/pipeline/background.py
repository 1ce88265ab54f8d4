"""Keep the pipeline running inside `rushes serve`: poll for queued steps, process them on a
local process pool (or the Dask cluster in the settings), stop cleanly with the server."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack

from rushes.base import Base
from rushes.pipeline.runner import executor_for, pending_count, process, queue_missing

log = logging.getLogger("rushes.pipeline")
POLL_SECONDS = 5.0


class BackgroundProcessor(threading.Thread):
    def __init__(self, base: Base) -> None:
        super().__init__(name="rushes-pipeline", daemon=True)
        self.base = base
        self.stopping = threading.Event()

    def run(self) -> None:
        queue_missing(self.base)
        executor: Executor | None = None  # opened once, kept between polls
        with ExitStack() as opened:
            while not self.stopping.is_set():
                try:
                    if pending_count(self.base):
                        executor = executor or opened.enter_context(
                            executor_for(self.base.settings)
                        )
                        results = process(self.base, executor, stop=self.stopping)
                        if results:
                            log.info("pipeline: %d steps finished", len(results))
                except BrokenProcessPool:
                    log.warning("pipeline: a worker crashed; retrying its jobs")
                    opened.close()
                    executor = None
                    continue
                except Exception:  # noqa: BLE001 - keep serving; the next poll tries again
                    log.exception("pipeline: run failed")
                self.stopping.wait(POLL_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
