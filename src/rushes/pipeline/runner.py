"""Run pipeline steps on any `concurrent.futures.Executor`, with all state in the catalog.

Each (asset, step) is a row in `steps`: pending → running → done | failed | skipped (a step
that finds the S3 store silent goes back to pending, named as waiting for it, for a minute). The
coordinator claims ready rows (their needs done) under a lease naming the worker, submits
`execute` to the executor, and collects results. `execute` opens the base from the settings
it is given, so it runs the same in a local process pool or on a Dask cluster's executor
(`distributed.Client(...).get_executor(pure=False)`: a step writes to the catalog, so equal
arguments do not make equal results). `executor_for` picks one from the settings. After a
crash, `recover` returns the rows of dead local workers (and any whose lease ran out) to
pending, so work resumes where it stopped.

A Dask worker on another host has no path to the base's folder. When the originals and the
derivatives are in object stores and the catalog on a server, a step run on a Dask worker
keeps its local files (the originals' cache, derivatives before they are sent) in the
worker's own folder, RUSHES_WORKER_DIR (else a temporary folder), never in the base's.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from rushes.base import Base, open_base
from rushes.catalog import Asset, utcnow
from rushes.catalog.models import StepState
from rushes.errors import ConfigError, StoreUnavailable
from rushes.pipeline.steps import BY_NAME, STEPS, Step, Work
from rushes.settings import Settings

FINISHED = ("done", "failed", "skipped")
MAX_ATTEMPTS = 3
_LEASE_MARGIN = timedelta(minutes=5)
# A step that found the S3 store silent is not the file's failure: it waits this long, pending,
# then runs again (by `rushes serve`'s next poll or the next `rushes process`).
STORE_RETRY = timedelta(minutes=1)
# A cluster with no worker would take steps and never run them: how long to wait for one.
WORKERS_WAIT_S = 10.0
WORKER_NICENESS = 10  # what `nice` gives by default: batch work behind interactive work


@dataclass(frozen=True)
class Result:
    sha256: str
    step: str
    status: str  # done | failed | skipped | pending (a worker died) | waiting (for the store)
    note: str | None = None


def queue(session: Session, sha256: str, steps: Iterable[Step] = STEPS) -> None:
    """Put every step of an asset whose bytes just arrived in the queue (inside the arrival's
    transaction), again where a step already ran without them (a field kit's manifest came
    first, and an older base tried it then)."""
    for step in steps:
        row = session.get(StepState, (sha256, step.name))
        if row is None:
            session.add(StepState(asset_sha256=sha256, step=step.name, status="pending"))
        elif row.status != "running":
            row.status, row.error = "pending", None


def queue_missing(base: Base) -> int:
    """Queue the steps an asset has no row for: assets from before a step existed."""
    added = 0
    with base.catalog.write() as session:
        for step in STEPS:
            missing = select(Asset.sha256).where(
                Asset.in_vault,  # a manifest's entry waits for its bytes: `queue` then
                ~exists().where(
                    and_(StepState.asset_sha256 == Asset.sha256, StepState.step == step.name)
                ),
            )
            for sha256 in session.scalars(missing).all():
                session.add(StepState(asset_sha256=sha256, step=step.name, status="pending"))
                added += 1
    return added


def requeue(
    base: Base, steps: Iterable[str], *, outdated_only: bool, assets: Iterable[str] | None = None
) -> int:
    """Send finished steps back to the queue: all of them (`--redo`) or those whose recorded
    version is not the current one (`--outdated`)."""
    count = 0
    with base.catalog.write() as session:
        for name in steps:
            query = update(StepState).where(StepState.step == name, StepState.status.in_(FINISHED))
            if outdated_only:
                query = query.where(StepState.tool_version != BY_NAME[name].version)
            if assets is not None:
                query = query.where(StepState.asset_sha256.in_(list(assets)))
            count += session.execute(query.values(status="pending", error=None)).rowcount
    return count


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def recover(base: Base) -> int:
    """Return to pending the rows whose worker is gone: a local process that no longer exists,
    or any worker whose lease has run out."""
    host = socket.gethostname()
    now = utcnow()
    reset = 0
    with base.catalog.write() as session:
        for row in session.scalars(select(StepState).where(StepState.status == "running")):
            name, _, pid = (row.worker or "").rpartition(":")
            dead_here = name == host and pid.isdigit() and not _alive(int(pid))
            if dead_here or row.lease_until is None or row.lease_until < now:
                row.status, row.worker, row.lease_until = "pending", None, None
                reset += 1
    return reset


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(
    base: Base, limit: int, steps: Iterable[str], assets: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """Mark up to `limit` ready rows as running and return them; settle rows that cannot run."""
    chosen: list[tuple[str, str]] = []
    asset_list = list(assets) if assets is not None else None
    with base.catalog.write() as session:
        for name in steps:
            step = BY_NAME[name]
            _skip_blocked(session, step, asset_list)
            if len(chosen) >= limit:
                continue
            need = aliased(StepState)
            query = select(StepState, Asset.kind).join(
                Asset, Asset.sha256 == StepState.asset_sha256
            )
            query = query.where(
                Asset.in_vault,  # no step runs on an original still in the field
                StepState.step == name,
                StepState.status == "pending",
                or_(StepState.lease_until.is_(None), StepState.lease_until < utcnow()),
            )
            if step.needs:
                query = query.where(
                    ~exists().where(
                        and_(
                            need.asset_sha256 == StepState.asset_sha256,
                            need.step.in_(step.needs),
                            need.status != "done",
                        )
                    )
                )
            if asset_list is not None:
                query = query.where(StepState.asset_sha256.in_(asset_list))
            query = query.order_by(StepState.asset_sha256).limit(limit - len(chosen))
            for row, kind in session.execute(query.with_for_update(skip_locked=True, of=StepState)):
                if step.kinds is not None and kind not in step.kinds:
                    _settle(row, "skipped", f"not for {kind} assets", step)
                    continue
                row.status, row.worker, row.started_at = "running", worker_id(), utcnow()
                row.lease_until = utcnow() + timedelta(seconds=base.settings.step_timeout)
                row.lease_until += _LEASE_MARGIN
                row.attempts += 1
                chosen.append((row.asset_sha256, name))
    return chosen


def _skip_blocked(session: Session, step: Step, assets: list[str] | None) -> None:
    """A step whose need failed or was skipped cannot run: say so instead of waiting forever."""
    if not step.needs:
        return
    need = aliased(StepState)
    query = (
        select(StepState, need.step, need.status)
        .join(need, need.asset_sha256 == StepState.asset_sha256)
        .where(
            StepState.step == step.name,
            StepState.status == "pending",
            need.step.in_(step.needs),
            need.status.in_(("failed", "skipped")),
        )
    )
    if assets is not None:
        query = query.where(StepState.asset_sha256.in_(assets))
    for row, need_name, need_status in session.execute(query):
        _settle(row, "skipped", f"{need_name} {need_status}", step)


def _settle(row: StepState, status: str, note: str | None, step: Step) -> None:
    row.status, row.error, row.tool_version = status, note, step.version
    row.worker, row.lease_until, row.finished_at = None, None, utcnow()


_OPENED: dict[Settings, Base] = {}


def execute(settings: Settings, sha256: str, name: str) -> Result:
    """Run one step in this worker; record done or failed with the reason. Never raises for
    a failure of the step itself, so one bad file cannot stop the run."""
    settings = _on_this_worker(settings)
    base = _OPENED.get(settings) or _OPENED.setdefault(settings, open_base(settings))
    step = BY_NAME[name]
    try:
        with _deadline(settings.step_timeout):
            note = step.run(Work(base, sha256))
        status = "done"
    except StoreUnavailable as exc:
        status, note = "waiting", f"waiting for the store: {exc}"
    except Exception as exc:  # noqa: BLE001 - any failure is recorded against the asset
        status, note = "failed", f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
    with base.catalog.write() as session:
        row = session.get(StepState, (sha256, name))
        if status == "waiting":
            row.status, row.error, row.worker = "pending", note, None
            row.lease_until = utcnow() + STORE_RETRY
        else:
            _settle(row, status, note, step)
        if status == "done":
            _unblock(session, sha256, name)
    return Result(sha256, name, status, note)


def _unblock(session: Session, sha256: str, done: str) -> None:
    """Queue again the steps that were skipped because ``done`` failed (or judged the asset
    of another kind), now that it has run again and succeeded: left skipped, a clip whose
    probe was redone after a fault was fixed would stay without thumbnails or proxy."""
    for step in STEPS:
        if done not in step.needs:
            continue
        row = session.get(StepState, (sha256, step.name))
        if row is not None and row.status == "skipped":
            row.status, row.error = "pending", None


def _on_this_worker(settings: Settings) -> Settings:
    """The settings with the local folders moved to this Dask worker's own, when nothing the
    step needs lies on the base's disk; otherwise (a local pool, a shared disk) unchanged."""
    shared = settings.vault_url and settings.derivatives_url
    if not shared or settings.database_url.startswith("sqlite") or not _in_dask_worker():
        return settings
    root = Path(os.environ.get("RUSHES_WORKER_DIR") or Path(tempfile.gettempdir()) / "rushes")
    return replace(
        settings,
        data_dir=root,
        vault_dir=root / "vault",
        vault_cache_dir=root / "vault-cache",
        derivatives_dir=root / "derivatives",
        upload_dir=root / "uploads",
    )


def _in_dask_worker() -> bool:
    if "distributed" not in sys.modules:  # a local pool's worker never imports Dask
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


class StepTimeout(Exception):
    pass


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Bound a step's wall-clock time where signals allow it (a pool worker's main thread);
    the media functions also bound their own decoding loops."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise StepTimeout(f"stopped after {seconds} s (RUSHES_STEP_TIMEOUT)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# What a pool's worker runs, loaded once by the forkserver that forks the workers: a worker
# spawned afresh spent ~1.3 s of a core importing them (numpy, faiss, the decoders) before its
# first step, and a pool of N spent N times that.
WORKER_MODULES = [
    "rushes.pipeline.runner",
    "rushes.pipeline.candidates",
    "rushes.media.fingerprint",
    "rushes.media.matching",
    "rushes.media.proxy",
    "rushes.media.shots",
    "rushes.media.thumbnails",
]


def local_executor(settings: Settings) -> ProcessPoolExecutor:
    """A process pool sized by RUSHES_WORKERS. Its workers are forked from a forkserver with the
    pipeline loaded, never from this process: a fork of this one would share its database
    connections and threads. The forkserver keeps the environment it started with, so each
    worker takes this process's as it is now (the S3 store's credentials are read from it).
    Workers run at a lower CPU priority, so the server beside them keeps answering people while
    they decode."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_MODULES)  # takes effect where none has started yet
    return ProcessPoolExecutor(
        max_workers=settings.workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(dict(os.environ),),
    )


def _start_worker(environ: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(environ)
    os.nice(WORKER_NICENESS)


@contextmanager
def executor_for(settings: Settings) -> Iterator[Executor]:
    """The Dask cluster at RUSHES_DASK_SCHEDULER, else a local pool; steps not yet started are
    cancelled on the way out (a stopping server does not wait for the queue)."""
    if not settings.dask_scheduler:
        pool = local_executor(settings)
        try:
            yield pool
        finally:
            pool.shutdown(cancel_futures=True)
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError(
            "RUSHES_DASK_SCHEDULER is set but Dask is not installed: "
            "pip install 'dask[distributed]'"
        ) from exc
    try:
        client = Client(settings.dask_scheduler)
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {settings.dask_scheduler} "
            f"(RUSHES_DASK_SCHEDULER): {exc}"
        ) from exc
    with client:
        try:
            client.wait_for_workers(1, timeout=WORKERS_WAIT_S)
        except TimeoutError as exc:
            raise ConfigError(
                f"the Dask scheduler at {settings.dask_scheduler} has no workers: start one "
                f"(`dask worker {settings.dask_scheduler}`, see docs/operations.md)"
            ) from exc
        executor = client.get_executor(pure=False)
        try:
            yield executor
        finally:
            executor.shutdown(wait=False)


def process(
    base: Base,
    executor: Executor,
    *,
    steps: Iterable[str] | None = None,
    assets: Iterable[str] | None = None,
    on_result: Callable[[Result], None] | None = None,
    capacity: int | None = None,
    stop: threading.Event | None = None,
) -> list[Result]:
    """Run every ready step until none is left (or `stop` is set); returns what was done."""
    names = [s.name for s in STEPS if steps is None or s.name in set(steps)]
    asset_list = list(assets) if assets is not None else None
    capacity = capacity or base.settings.workers * 2
    recover(base)
    inflight: dict[Future[Result], tuple[str, str]] = {}
    results: list[Result] = []
    while True:
        if not (stop and stop.is_set()) and len(inflight) < capacity:
            for sha, name in claim(base, capacity - len(inflight), names, asset_list):
                inflight[executor.submit(execute, base.settings, sha, name)] = (sha, name)
        if not inflight:
            return results
        finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
        for future in finished:
            sha, name = inflight.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - the worker itself died (e.g. a decoder crash)
                result = _worker_died(base, sha, name, exc)
            results.append(result)
            if on_result:
                on_result(result)


def _worker_died(base: Base, sha256: str, name: str, exc: BaseException) -> Result:
    """A crashed worker takes its neighbours' jobs down too: retry each a few times, so only
    the file that really kills the decoder ends up failed. A worker that cannot open the base
    (its settings, its store) is not the file's fault: the step waits for a worker that can."""
    if isinstance(exc, (ConfigError, StoreUnavailable)):
        note = f"a worker cannot open the base: {exc}"
        with base.catalog.write() as session:
            row = session.get(StepState, (sha256, name))
            row.status, row.error, row.worker = "pending", note, None
            row.lease_until = utcnow() + STORE_RETRY
        return Result(sha256, name, "waiting", note)
    note = f"worker died: {type(exc).__name__}: {exc}"
    with base.catalog.write() as session:
        row = session.get(StepState, (sha256, name))
        if row.attempts < MAX_ATTEMPTS:
            row.status, row.worker, row.lease_until = "pending", None, None
            return Result(sha256, name, "pending", note)
        _settle(row, "failed", note, BY_NAME[name])
    return Result(sha256, name, "failed", note)


def run_inline(base: Base, steps: Iterable[str], assets: Iterable[str]) -> list[Result]:
    """Run steps in this process, one at a time (ingest probes what it just stored)."""
    _OPENED.setdefault(base.settings, base)
    names, asset_list = list(steps), list(assets)
    results = []
    while claimed := claim(base, 50, names, asset_list):
        results += [execute(base.settings, sha, name) for sha, name in claimed]
    return results


def pending_count(base: Base, steps: Iterable[str] | None = None) -> int:
    """Steps waiting or running on originals that are here (not those still in the field)."""
    with base.catalog.read() as session:
        query = (
            select(func.count())
            .select_from(StepState)
            .join(Asset, Asset.sha256 == StepState.asset_sha256)
            .where(Asset.in_vault, StepState.status.in_(("pending", "running")))
        )
        if steps is not None:
            query = query.where(StepState.step.in_(list(steps)))
        return session.scalar(query) or 0
