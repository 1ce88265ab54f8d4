"""The vault keeps exactly the bytes it was given, once, read-only, and nothing half-written."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rushes.errors import SourceChangedError, VaultError, VaultFullError
from rushes.vault import Digest, LocalBackend, Vault, open_local
from rushes.vault.pump import CHUNK
from tests.shared import small_disk


def stored_bytes(vault: Vault, sha256: str) -> bytes:
    with vault.open(sha256) as f:
        return f.read()


def staging_files(root: Path) -> list[Path]:
    return list((root / "tmp").iterdir())


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096))
def test_any_bytes_round_trip_with_hashlib_digests(tmp_path: Path, data: bytes) -> None:
    vault = open_local(tmp_path / "vault")
    stored = vault.put_stream(io.BytesIO(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.sha512 == hashlib.sha512(data).hexdigest()
    assert stored.size == len(data)
    assert stored_bytes(vault, stored.sha256) == data
    assert staging_files(tmp_path / "vault") == []


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(min_size=0, max_size=300_000))
def test_digest_equals_sha256sum(tmp_path: Path, data: bytes) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    stored, _ = open_local(tmp_path / "vault").put_file(source)
    tool = subprocess.run(["sha256sum", str(source)], capture_output=True, text=True, check=True)
    assert stored.sha256 == tool.stdout.split()[0]


def test_multi_chunk_file_is_byte_exact(tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK + 12345)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    vault = open_local(tmp_path / "vault")
    stored, seen = vault.put_file(source)
    assert stored.created and seen.size == len(data)
    assert stored_bytes(vault, stored.sha256) == data


def test_same_bytes_are_stored_once_and_read_only(tmp_path: Path) -> None:
    vault = open_local(tmp_path / "vault")
    first = vault.put_stream(io.BytesIO(b"one original"))
    again = vault.put_stream(io.BytesIO(b"one original"))
    assert first.created and not again.created
    path = vault.local_path(first.sha256)
    assert path.stat().st_mode & 0o777 == 0o444
    assert list(vault.hashes()) == [first.sha256]
    assert path.relative_to(tmp_path / "vault").parts[:3] == (
        "originals",
        first.sha256[:2],
        first.sha256[2:4],
    )


def test_failure_mid_stream_leaves_nothing(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        calls = 0

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError(5, "Input/output error")
            return b"x" * size

    vault = open_local(tmp_path / "vault")
    with pytest.raises(OSError, match="Input/output"):
        vault.put_stream(Broken())  # type: ignore[arg-type]
    assert staging_files(tmp_path / "vault") == []
    assert list(vault.hashes()) == []


def test_abandoned_staging_is_swept_but_live_staging_is_not(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "vault")
    live = backend.stage()
    live.write(b"in progress")
    dead = tmp_path / "vault" / "tmp" / "deadbeef.part"
    dead.write_bytes(b"left by a killed process")
    LocalBackend(tmp_path / "vault")  # a new process opening the vault sweeps on start
    assert not dead.exists()
    assert live.path.exists()
    backend.discard(live)


def test_a_name_left_by_a_writer_killed_before_locking_goes_once_its_process_is_gone(
    tmp_path: Path,
) -> None:
    """Between creating its file and locking it a writer holds an `.init` name: a rerun right
    after a kill must not find it still there, nor take one a live process is using."""
    tmp = tmp_path / "vault" / "tmp"
    tmp.mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = socket.gethostname()
    killed = tmp / f"{host}@{gone.pid}.0001.init"
    alive = tmp / f"{host}@{os.getpid()}.0002.init"
    elsewhere = tmp / f"another-host@{gone.pid}.0003.init"  # a shared folder: not ours to judge
    for path in (killed, alive, elsewhere):
        path.touch()
    LocalBackend(tmp_path / "vault")
    assert sorted(p.name for p in tmp.iterdir()) == sorted([alive.name, elsewhere.name])
    os.utime(elsewhere, (0, 0))  # an hour on, no writer keeps an `.init` name that long
    LocalBackend(tmp_path / "vault")
    assert [p.name for p in tmp.iterdir()] == [alive.name]


def test_source_that_grows_while_read_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "growing.mov"
    source.write_bytes(os.urandom(4 * CHUNK))
    stop = threading.Event()

    def append() -> None:
        with open(source, "ab") as f:
            while not stop.is_set():
                f.write(b"more")
                f.flush()

    writer = threading.Thread(target=append)
    writer.start()
    try:
        with pytest.raises(SourceChangedError, match="changed while it was read"):
            open_local(tmp_path / "vault").put_file(source)
    finally:
        stop.set()
        writer.join()
    assert staging_files(tmp_path / "vault") == []


def test_source_that_vanishes_while_read_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "vanishing.mov"
    source.write_bytes(os.urandom(8 * CHUNK))
    vault = open_local(tmp_path / "vault")
    original_write = vault.backend.stage

    def stage_then_delete():  # the source disappears as soon as the copy starts
        staging = original_write()
        source.unlink()
        return staging

    vault.backend.stage = stage_then_delete  # type: ignore[method-assign]
    with pytest.raises(SourceChangedError, match="vanished"):
        vault.put_file(source)
    assert list(vault.hashes()) == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "not a regular file"),
        (lambda p: os.mkfifo(p), "not a regular file"),
        (lambda p: (os.symlink(p.with_name("b"), p), os.symlink(p, p.with_name("b"))), "loop"),
    ],
    ids=["missing", "folder", "fifo", "symlink-loop"],
)
def test_unreadable_sources_get_clear_errors(tmp_path: Path, make, message: str) -> None:
    source = tmp_path / "a"
    make(source)
    with pytest.raises(VaultError, match=message):
        open_local(tmp_path / "vault").put_file(source)


def test_full_disk_keeps_nothing_partial(tmp_path: Path) -> None:
    """A real full disk: the vault on a 1 MiB tmpfs (the suite runs as root in CI)."""
    with small_disk(tmp_path / "small", "1m") as root:
        vault = open_local(root / "vault")
        small = vault.put_stream(io.BytesIO(b"fits"))
        with pytest.raises(VaultFullError, match="full"):
            vault.put_stream(io.BytesIO(os.urandom(3 << 20)))
        assert staging_files(root / "vault") == []
        assert list(vault.hashes()) == [small.sha256]
        assert stored_bytes(vault, small.sha256) == b"fits"


def test_a_good_copy_repairs_a_damaged_original_and_the_damage_is_kept(tmp_path: Path) -> None:
    vault = open_local(tmp_path / "vault")
    data = os.urandom(100_000)
    stored = vault.put_stream(io.BytesIO(data))
    path = vault.local_path(stored.sha256)
    path.chmod(0o644)
    damaged = bytearray(data)
    damaged[500] ^= 0xFF
    path.write_bytes(bytes(damaged))
    again = vault.put_stream(io.BytesIO(data))
    assert not again.created and again.repair == "stored copy no longer matched its hash"
    assert stored_bytes(vault, stored.sha256) == data
    (kept,) = (tmp_path / "vault" / "quarantine").iterdir()
    assert kept.read_bytes() == bytes(damaged) and kept.name.startswith(stored.sha256)
    assert vault.check(stored.sha256, len(data), stored.sha512).ok


def test_unreadable_original_is_a_named_fixity_failure(tmp_path: Path) -> None:
    vault = open_local(tmp_path / "vault")
    stored = vault.put_stream(io.BytesIO(b"evidence"))
    path = vault.local_path(stored.sha256)
    path.unlink()
    path.mkdir()  # a folder where the file was: open succeeds, reading fails with EISDIR
    result = vault.check(stored.sha256, stored.size, stored.sha512)
    assert not result.ok and result.problem.startswith("unreadable")


def finished_upload(tmp_path: Path, data: bytes) -> Path:
    folder = tmp_path / "uploads" / "u1"
    folder.mkdir(parents=True)
    (folder / "data").write_bytes(data)
    return folder / "data"


def test_adopting_a_file_links_it_read_only_and_byte_exact(tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK + 777)
    source = finished_upload(tmp_path, data)
    vault = open_local(tmp_path / "vault")
    stored = vault.adopt(source)
    assert stored.created and stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.sha512 == hashlib.sha512(data).hexdigest()
    path = vault.local_path(stored.sha256)
    assert path.stat().st_ino == source.stat().st_ino  # linked, not copied
    assert source.stat().st_mode & 0o777 == 0o444  # the upload's name sees a read-only file
    assert stored_bytes(vault, stored.sha256) == data
    assert staging_files(tmp_path / "vault") == []
    assert vault.check(stored.sha256, len(data), stored.sha512).ok


def test_adopting_with_the_writers_digest_stores_what_hashing_would(tmp_path: Path) -> None:
    data = os.urandom(CHUNK + 99)
    digest = Digest()
    for piece in (data[:1000], data[1000:]):  # fed as the writer wrote, in pieces
        for update in digest.sinks:
            update(piece)
    vault = open_local(tmp_path / "vault")
    stored = vault.adopt(finished_upload(tmp_path, data), digest=digest)
    assert stored.created and stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.sha512 == hashlib.sha512(data).hexdigest()
    assert vault.check(stored.sha256, len(data), stored.sha512).ok


def test_adopting_bytes_already_stored_keeps_the_first_copy(tmp_path: Path) -> None:
    vault = open_local(tmp_path / "vault")
    first = vault.put_stream(io.BytesIO(b"sent twice"))
    source = finished_upload(tmp_path, b"sent twice")
    again = vault.adopt(source)
    assert not again.created and again.sha256 == first.sha256
    assert vault.local_path(first.sha256).stat().st_ino != source.stat().st_ino
    assert staging_files(tmp_path / "vault") == []


def test_adopting_repairs_a_damaged_original(tmp_path: Path) -> None:
    vault = open_local(tmp_path / "vault")
    data = os.urandom(50_000)
    stored = vault.put_stream(io.BytesIO(data))
    path = vault.local_path(stored.sha256)
    path.chmod(0o644)
    path.write_bytes(b"not the original")
    again = vault.adopt(finished_upload(tmp_path, data))
    assert again.repair == "stored copy no longer matched its hash"
    assert stored_bytes(vault, stored.sha256) == data
    (kept,) = (tmp_path / "vault" / "quarantine").iterdir()
    assert kept.read_bytes() == b"not the original"


def test_a_vetoed_adoption_keeps_nothing_and_leaves_the_file_alone(tmp_path: Path) -> None:
    data = os.urandom(100_000)
    source = finished_upload(tmp_path, data)
    mode = source.stat().st_mode
    vault = open_local(tmp_path / "vault")

    def declared(_size: int, sha256: str) -> None:
        if sha256 != "0" * 64:
            raise ValueError(f"hashes to {sha256}, not the declared one")

    with pytest.raises(ValueError, match="not the declared one"):
        vault.adopt(source, before_commit=declared)
    assert list(vault.hashes()) == []
    assert staging_files(tmp_path / "vault") == []
    assert source.read_bytes() == data and source.stat().st_mode == mode
    assert source.stat().st_nlink == 1


def test_an_abandoned_adoption_sweeps_only_the_vault_s_name(tmp_path: Path) -> None:
    """A process killed mid-adoption leaves a `.part` link; the sweep drops it, not the file."""
    source = finished_upload(tmp_path, b"uploaded")
    backend = LocalBackend(tmp_path / "vault")
    live = backend.stage_file(source)
    assert live is not None
    LocalBackend(tmp_path / "vault")  # the adopter is alive: its link stays
    assert live.path.exists()
    live.close()  # the adopter dies: its lock goes with it
    LocalBackend(tmp_path / "vault")
    assert not live.path.exists()
    assert source.read_bytes() == b"uploaded" and source.stat().st_nlink == 1


def test_adopting_from_another_filesystem_copies(tmp_path: Path) -> None:
    """Uploads on a tmpfs, the vault on tmp_path's disk: no hard link is possible (EXDEV)."""
    with small_disk(tmp_path / "other", "64m") as other:
        data = os.urandom(CHUNK + 99)
        source = finished_upload(other, data)
        vault = open_local(tmp_path / "vault")
        assert source.stat().st_dev != (tmp_path / "vault").stat().st_dev
        stored = vault.adopt(source)
        assert stored.created and stored.sha256 == hashlib.sha256(data).hexdigest()
        path = vault.local_path(stored.sha256)
        assert stored_bytes(vault, stored.sha256) == data
        assert path.stat().st_mode & 0o777 == 0o444
        assert staging_files(tmp_path / "vault") == []
