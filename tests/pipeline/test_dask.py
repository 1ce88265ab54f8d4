"""The pipeline on a real Dask cluster (two worker processes on loopback) gives what the local
process pool gives: every step done, the same fingerprints, shots, pairs and derivatives."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import distributed
import pytest
from sqlalchemy import select

from rushes.catalog.models import (
    Derivative,
    Fingerprint,
    NearDuplicate,
    ShotBoundary,
    StepState,
)
from rushes.pipeline.runner import _OPENED, process
from tests.clips import make_video
from tests.conftest import RUSHES, Env
from tests.s3 import SeaweedFS


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # any free port: test workers run side by side
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clip, a trimmed copy of it (a near-duplicate pair) and an unrelated clip."""
    card = tmp_path_factory.mktemp("card")
    make_video(card / "a.mp4", seconds=3, seed=1)
    make_video(card / "a-trimmed.mp4", seconds=2, seed=1)
    make_video(card / "b.mp4", seconds=2, seed=2)
    return card


def outputs(env: Env) -> dict[str, object]:
    """Everything the steps wrote, keyed so two bases with the same files compare equal."""
    with env.open() as base, base.catalog.read() as session:
        return {
            "steps": sorted(
                (r.asset_sha256, r.step, r.status, r.error)
                for r in session.scalars(select(StepState))
            ),
            "fingerprints": sorted(
                (r.asset_sha256, r.data) for r in session.scalars(select(Fingerprint))
            ),
            "shots": sorted(
                (r.asset_sha256, r.start_frame, r.end_frame, r.transition)
                for r in session.scalars(select(ShotBoundary))
            ),
            "derivatives": sorted(
                (r.asset_sha256, r.name) for r in session.scalars(select(Derivative))
            ),
            "pairs": sorted((r.asset_a, r.asset_b) for r in session.scalars(select(NearDuplicate))),
        }


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, card: Path) -> dict[str, object]:
    """The same card processed by the local pool (`rushes process`), for reference."""
    root = tmp_path_factory.mktemp("local")
    env = Env(root / "data", f"sqlite:///{root / 'catalog.sqlite3'}")
    env.run("ingest", str(card), "-p", "p")
    env.run("process")
    return outputs(env)


def data_dirs_opened() -> list[str]:
    """On a Dask worker: the bases `execute` has opened there."""
    return [str(settings.data_dir) for settings in _OPENED]


def test_a_dask_executor_runs_the_pipeline_as_the_local_pool_does(
    env: Env, card: Path, cluster: distributed.LocalCluster, local: dict[str, object]
) -> None:
    env.run("ingest", str(card), "-p", "p")
    with env.open() as base, distributed.Client(cluster) as client:
        # pure=False: a step writes to the catalog, so Dask must not reuse an earlier result.
        results = process(base, client.get_executor(pure=False))
        opened = client.run(data_dirs_opened)
    assert {r.status for r in results} == {"done"}, [r for r in results if r.status != "done"]
    assert outputs(env) == local
    assert len(local["fingerprints"]) == 3 and len(local["pairs"]) == 1
    assert any(str(env.data_dir) in dirs for dirs in opened.values())  # run there, not here


def test_rushes_process_uses_the_scheduler_in_the_settings(
    env: Env, card: Path, cluster: distributed.LocalCluster, local: dict[str, object]
) -> None:
    env.run("ingest", str(card), "-p", "p")
    result = subprocess.run(
        [*RUSHES, "process"],
        env={**env.vars, "RUSHES_DASK_SCHEDULER": cluster.scheduler_address},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "0 failed" in result.stdout
    assert outputs(env) == local
    with distributed.Client(cluster) as client:
        opened = client.run(data_dirs_opened)
    assert any(str(env.data_dir) in dirs for dirs in opened.values())


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_workers_with_no_path_to_the_base_s_folder_work_from_the_s3_stores(
    env: Env,
    card: Path,
    s3_server: SeaweedFS,
    tmp_path: Path,
    local: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Originals and derivatives in S3, the catalog on PostgreSQL: a worker given only its own
    folder fetches what it decodes and sends what it makes; the base's folder stays empty."""
    for name, value in s3_server.env.items():  # `outputs` opens the base in this process
        monkeypatch.setenv(name, value)
    bucket = s3_server.bucket()
    env.extra.update(
        {
            **s3_server.env,
            "RUSHES_VAULT_URL": f"s3://{bucket}/vault",
            "RUSHES_DERIVATIVES_URL": f"s3://{bucket}/copies",
        }
    )
    env.run("ingest", str(card), "-p", "p")
    shutil.rmtree(env.data_dir / "vault-cache")  # nothing on the base's disk for workers to use
    own = tmp_path / "worker"
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        env={**s3_server.env, "RUSHES_WORKER_DIR": str(own)},
    ) as cluster:
        result = subprocess.run(
            [*RUSHES, "process"],
            env={**env.vars, "RUSHES_DASK_SCHEDULER": cluster.scheduler_address},
            capture_output=True,
            text=True,
            check=True,
        )
    assert "0 failed" in result.stdout
    assert outputs(env) == local
    on_base_disk = [p for p in env.data_dir.rglob("*") if p.is_file() and "catalog" not in p.name]
    assert on_base_disk == []
    assert len(list((own / "vault-cache").glob("?" * 64))) == 3
    sent = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="copies/derivatives/")
    assert sorted(o["Key"].rsplit("/", 1)[1] for o in sent["Contents"]) == sorted(
        name
        for _, name in local["derivatives"]  # type: ignore[attr-defined]
    )
    assert list((own / "derivatives").rglob("*.*")) == []  # sent, not kept


# the scheduler's answer, whatever the catalog
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_cluster_without_workers_is_named_not_waited_on(env: Env, card: Path) -> None:
    """`rushes process` against a scheduler whose workers are gone says so and fails, rather
    than queueing the steps on it and waiting for ever."""
    env.run("ingest", str(card), "-p", "p")
    with distributed.LocalCluster(
        n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as empty:
        result = subprocess.run(
            [*RUSHES, "process", "--redo", "--step", "thumbnails"],
            env={**env.vars, "RUSHES_DASK_SCHEDULER": empty.scheduler_address},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    assert f"the Dask scheduler at {empty.scheduler_address} has no workers" in result.stderr


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_worker_that_cannot_open_the_store_fails_no_file(
    env: Env, card: Path, s3_server: SeaweedFS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker started without the store's keys: its steps wait for a worker that can, saying
    which store, instead of failing the files ("worker died") after three tries."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    bucket = s3_server.bucket()
    env.extra.update({**s3_server.env, "RUSHES_VAULT_URL": f"s3://{bucket}/vault"})
    env.run("ingest", str(card), "-p", "p")
    keyless = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    keyless["RUSHES_WORKER_DIR"] = str(tmp_path)
    with distributed.LocalCluster(
        n_workers=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0", env=keyless
    ) as cluster:
        result = subprocess.run(
            [*RUSHES, "process", "--step", "probe"],
            env={**env.vars, "RUSHES_DASK_SCHEDULER": cluster.scheduler_address},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert "WAITING probe" in result.stdout and f"s3://{bucket}/vault" in result.stdout
    assert "FAILED" not in result.stdout
    with env.open() as base, base.catalog.read() as session:
        probes = session.scalars(select(StepState).where(StepState.step == "probe")).all()
    assert {p.status for p in probes} == {"pending"} and len(probes) == 3
    shown = env.run("show", probes[0].asset_sha256[:12]).stdout
    assert f"s3://{bucket}/vault" in shown  # which store: a URL is not a server path to hide
