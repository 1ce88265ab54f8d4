"""`rushes ingest` and `rushes verify` through the real command, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from rushes import custody
from rushes.catalog import Arrival, Asset
from tests.clips import make_photo, make_video, random_bytes_file, truncate_copy
from tests.conftest import RUSHES, Env
from tests.shared import small_disk


def damage(env: Env, sha: str) -> None:
    """Flip one byte of a stored original, as rot or a careless hand would."""
    stored = env.vault / "originals" / sha[:2] / sha[2:4] / sha
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vault_is_whole(env: Env) -> list[str]:
    return vault_is_whole_at(env.vault)


def vault_is_whole_at(vault: Path) -> list[str]:
    """Every stored original hashes to its name, and nothing is left in staging."""
    names = []
    for path in (vault / "originals").glob("??/??/*"):
        assert sha256_of(path) == path.name, f"{path} does not hash to its name"
        names.append(path.name)
    assert [p.name for p in (vault / "tmp").iterdir()] == []
    return names


def assets_json(env: Env) -> list[dict]:
    out = env.run("assets", "--json", "--limit", "1000").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_fixture_card_ingests_verifies_and_a_corrupted_original_is_named(
    env: Env, fixtures_dir: Path
) -> None:
    first = env.run(
        "ingest", str(fixtures_dir), "-p", "aleppo", "--crew", "Rahed", "--source", "c3"
    )
    assert "16 files: 16 new" in first.stdout  # 14 clips, their LICENSE and README
    again = env.run(
        "ingest", str(fixtures_dir), "-p", "aleppo", "--crew", "Rahed", "--source", "c3"
    )
    assert "16 files: 16 unchanged" in again.stdout
    expected = {sha256_of(p) for p in fixtures_dir.iterdir()}
    assert set(vault_is_whole(env)) == expected
    listed = assets_json(env)
    assert {a["sha256"] for a in listed} == expected
    kinds = sorted(a["kind"] for a in listed)
    assert kinds == ["other"] * 2 + ["video"] * 14

    verified = env.run("verify")
    assert "originals checked: 16, failed: 0" in verified.stdout
    assert "intact" in verified.stdout

    victim = sha256_of(fixtures_dir / "chair-22-sd-grey-bar.mp4")
    damage(env, victim)
    failed = env.run("verify", check=False)
    assert failed.returncode == 1
    assert f"FAILED {victim}: content SHA-256 is now" in failed.stdout
    shown = json.loads(env.run("show", victim[:10], "--json").stdout)
    assert [e["verb"] for e in shown["custody"]] == [
        "received",
        "probed",
        "fixity-ok",
        "fixity-failed",
    ]


def test_same_bytes_from_another_card_are_a_duplicate_arrival(env: Env, tmp_path: Path) -> None:
    card1, card2 = tmp_path / "card1", tmp_path / "card2"
    card1.mkdir(), card2.mkdir()
    clip = make_video(card1 / "MVI_0001.MP4")
    shutil.copy(clip, card2 / "forwarded.mp4")
    env.run("ingest", str(card1), "-p", "p", "--crew", "Rahed")
    out = env.run("ingest", str(card2), "-p", "p", "--crew", "Omar").stdout
    assert "1 file: 1 duplicate" in out
    shown = json.loads(env.run("show", sha256_of(clip), "--json").stdout)
    assert [(a["crew"], a["duplicate"]) for a in shown["arrivals"]] == [
        ("Rahed", False),
        ("Omar", True),
    ]
    assert [e["verb"] for e in shown["custody"]] == ["received", "probed", "duplicate-received"]
    assert len(vault_is_whole(env)) == 1


def test_a_card_named_twice_is_ingested_once(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    (card / "DCIM").mkdir(parents=True)
    clip = make_video(card / "DCIM" / "MVI_0001.MP4")
    (card / "notes.txt").write_text("street 4", encoding="utf-8")
    out = env.run("ingest", str(card), f"{card}/", str(card / "DCIM"), "-p", "p").stdout
    assert "2 files: 2 new" in out and "duplicate" not in out, out
    shown = json.loads(env.run("show", sha256_of(clip), "--json").stdout)
    assert len(shown["arrivals"]) == 1


def test_capture_time_place_and_device_are_recorded(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    taken = datetime(2016, 4, 12, 10, 33, 21, tzinfo=timezone(timedelta(hours=3)))
    clip = make_video(
        card / "strike.mp4", gps=(36.2021, 37.1343), creation_time=taken, make="Apple", model="X"
    )
    photo = make_photo(card / "IMG_1.jpg", gps=(36.2, 37.13), taken_at=taken, make="Canon")
    env.run("ingest", str(card), "-p", "p")
    with env.open() as opened, opened.catalog.read() as session:
        video = session.get(Asset, sha256_of(clip))
        image = session.get(Asset, sha256_of(photo))
        assert video.kind == "video" and image.kind == "image"
        assert video.captured_at == taken.astimezone(UTC)
        assert image.captured_at == taken.astimezone(UTC) and image.captured_offset == "+03:00"
        assert video.media["location"]["latitude"] == pytest.approx(36.2021, abs=1e-4)
        assert image.media["device"]["make"] == "Canon"


def test_bad_input_is_named_and_every_readable_file_is_kept(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    (card / "DCIM").mkdir(parents=True)
    good = make_video(card / "DCIM" / "good.mp4")
    keep = {
        "empty": card / "empty.mov",
        "text": card / "notes.txt",
        "random": random_bytes_file(card / "random.mp4", 5000),
        "truncated": truncate_copy(good, card / "DCIM" / "truncated.mp4", 0.4),
    }
    keep["empty"].write_bytes(b"")
    keep["text"].write_text("not a video")
    hostile = [
        b"..%2F..%2Fetc%2Fpasswd.mp4",
        b"\x1b[31mred\x1b[0m\x07bell.mov",
        b"\xff\xfe not utf-8 \xc3(.mp4",
        b"l" * 250 + b".mp4",
        b"new\nline.mp4",
        b"new\\nline.mp4",  # a backslash and an n: not to be told from the line above
    ]
    for i, name in enumerate(hostile):
        path = os.path.join(os.fsencode(card), name)
        with open(path, "wb") as f:
            f.write(f"hostile {i}".encode())
        keep[f"hostile{i}"] = Path(os.fsdecode(path))
    os.symlink(card / "loop-b", card / "loop-a")
    os.symlink(card / "loop-a", card / "loop-b")
    os.symlink(card / "gone.mp4", card / "broken.mp4")
    os.symlink(card / "DCIM", card / "dcim-link")
    os.mkfifo(card / "pipe.mp4")

    result = env.run("ingest", str(card), "-p", "p", check=False)
    assert result.returncode == 1, result.stdout
    out = result.stdout
    assert "symlink loop" in out and "broken symlink" in out
    assert "symlink to a folder, not followed" in out and "not a regular file" in out
    assert "\x1b" not in out and "\x07" not in out  # control characters are escaped
    assert "\\x1b[31mred" in out and "\\xff\\xfe not utf-8" in out

    stored = set(vault_is_whole(env))
    assert {sha256_of(p) for p in [good, *keep.values()]} <= stored
    with env.open() as opened, opened.catalog.read() as session:
        truncated = session.get(Asset, sha256_of(keep["truncated"]))
        text = session.get(Asset, sha256_of(keep["text"]))
        assert text.probe_error and text.kind == "other"
        assert (
            truncated.probe_error
            == "truncated: the MP4 index (moov) is missing; the recording was cut off before "
            "the camera finished the file"
            or truncated.kind == "video"
        )
        raw = [a.path_bytes for a in session.query(Arrival)]
        assert os.path.join(os.fsencode(card), hostile[2]) in raw  # exact bytes kept
    events = [json.loads(line) for line in env.run("custody", "export").stdout.splitlines()]
    named = {e["details"]["path"].rsplit("/", 1)[-1] for e in events if "path" in e["details"]}
    assert {"new\\nline.mp4", "new\\\\nline.mp4"} <= named  # two names, told apart


def test_permission_denied_is_a_per_file_failure(env: Env, tmp_path: Path) -> None:
    """Root reads everything, so ingest runs without the capabilities that bypass permissions."""
    card = tmp_path / "card"
    card.mkdir()
    (card / "ok.mov").write_bytes(b"readable")
    (card / "secret.mov").write_bytes(b"unreadable")
    (card / "secret.mov").chmod(0o000)
    caps = "-dac_override,-dac_read_search"
    result = subprocess.run(
        [
            "setpriv",
            "--bounding-set",
            caps,
            "--inh-caps",
            caps,
            *RUSHES,
            "ingest",
            str(card),
            "-p",
            "p",
        ],
        env=env.vars,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 new" in result.stdout and "1 failed" in result.stdout
    assert "permission denied" in result.stdout


def test_killed_ingest_leaves_nothing_partial_and_a_rerun_finishes(
    env: Env, tmp_path: Path
) -> None:
    """SIGKILL at moments chosen by what the run is doing: mid-write of a staging file, and
    between the vault and the catalog (more originals stored than arrivals recorded)."""
    card = tmp_path / "card"
    card.mkdir()
    files = [
        random_bytes_file(card / f"clip{i:02}.mov", (i % 4 + 2) << 20, seed=i) for i in range(12)
    ]
    args = [*RUSHES, "ingest", str(card), "-p", "p", "--source", "card 1"]

    def stored_count() -> int:
        return len(list((env.vault / "originals").glob("??/??/*")))

    moments = {"mid-write": lambda: any((env.vault / "tmp").glob("*.part"))}
    for name in ("mid-write", "after-vault", "mid-write"):
        before = stored_count()
        proc = subprocess.Popen(
            args, env=env.vars, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        hit = False
        while time.monotonic() < deadline and proc.poll() is None:
            hit = moments[name]() if name in moments else stored_count() > before
            if hit:
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert hit, f"the run ended before the {name} moment"
        for path in (env.vault / "originals").glob("??/??/*"):
            assert sha256_of(path) == path.name, "a partial original reached the vault"

    final = env.run(*args[3:])
    assert "12 files:" in final.stdout and "failed" not in final.stdout
    assert set(vault_is_whole(env)) == {sha256_of(p) for p in files}
    with env.open() as opened, opened.catalog.read() as session:
        arrivals = session.query(Arrival).all()
        assert len(arrivals) == 12  # each file arrived once, however often the run was killed
        assert custody.verify_chain(session).ok
    assert env.run("verify").returncode == 0


def test_another_file_at_the_same_path_size_and_time_is_not_skipped(
    env: Env, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    clip = card / "ZOOM0001.WAV"
    clip.write_bytes(b"CLIP-A-content")
    os.utime(clip, (946684800, 946684800))
    env.run("ingest", str(card), "-p", "p", "--source", "card")
    clip.write_bytes(b"CLIP-B-content")  # a new card in the same reader: same name and size
    os.utime(clip, (946684800, 946684800))
    out = env.run("ingest", str(card), "-p", "p", "--source", "card").stdout
    assert "1 file: 1 new" in out
    assert len(vault_is_whole(env)) == 2


def test_symlinks_out_of_the_card_and_deep_folders(env: Env, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    levels = [str(card)]
    for _ in range(1200):  # deeper than Python's recursion limit
        levels.append(levels[-1] + "/a")
        os.mkdir(levels[-1])
    deep = Path(levels[-1])
    try:
        (deep / "bottom.mov").write_bytes(b"deep down")
        (card / "top.mov").write_bytes(b"on top")
        secret = tmp_path / "host-secret"
        secret.write_bytes(b"not from the card")
        os.symlink(secret, card / "MVI_0001.MP4")
        os.symlink(card / "top.mov", card / "alias.mov")  # inside the card: followed
        out = env.run("ingest", str(card), "-p", "p").stdout
        assert "symlink to a file outside the card, not followed" in out
        stored = set(vault_is_whole(env))
        assert sha256_of(secret) not in stored
        assert {sha256_of(card / "top.mov"), sha256_of(deep / "bottom.mov")} <= stored
    finally:  # bottom-up: shutil.rmtree (and so pytest's cleanup) recurses and would fail
        (deep / "bottom.mov").unlink(missing_ok=True)
        for level in reversed(levels[1:]):
            os.rmdir(level)


def test_labels_that_cannot_go_into_the_log_are_usage_errors(env: Env, tmp_path: Path) -> None:
    (tmp_path / "card").mkdir()
    for option in (["--source", "x" * 501], ["--crew", "\x1b[2Jclear"]):
        result = env.run("ingest", str(tmp_path / "card"), "-p", "p", *option, check=False)
        assert result.returncode == 2, result.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_full_vault_stops_the_run_and_keeps_every_file_before_it(
    env: Env, tmp_path: Path
) -> None:
    """A real full disk under the vault (a 2 MiB tmpfs; CI runs as root) in the middle of a
    card: the files before it are stored and recorded, in order, although the next file is
    read while the one before is stored; the one that did not fit is named; none after it is
    tried; nothing partial is left; a rerun once there is room finishes."""
    with small_disk(tmp_path / "small", "2m") as small:
        env.extra["RUSHES_VAULT_DIR"] = str(small / "vault")
        card = tmp_path / "card"
        card.mkdir()
        sizes = {"a.mov": 300 << 10, "b.mov": 300 << 10, "c.mov": 3 << 20, "d.mov": 300 << 10}
        files = [
            random_bytes_file(card / name, size, seed=i)
            for i, (name, size) in enumerate(sizes.items())
        ]
        run = env.run("ingest", str(card), "-p", "p", check=False)
        assert run.returncode != 0, run.stdout
        said = run.stdout + run.stderr
        assert "4 files: 2 new, 1 failed, 1 not attempted" in said and "is full" in said, said
        assert [line for line in said.splitlines() if "failed" in line][0].count("c.mov") == 1
        stored = {p.name for p in (small / "vault" / "originals").glob("??/??/*")}
        assert stored == {sha256_of(files[0]), sha256_of(files[1])}
        assert list((small / "vault" / "tmp").iterdir()) == []
        with env.open() as opened, opened.catalog.read() as session:
            assert {a.asset_sha256 for a in session.query(Arrival)} == stored

        remount = ["mount", "-o", "remount,size=8m", str(small)]
        subprocess.run(remount, check=True)
        again = env.run("ingest", str(card), "-p", "p")
        assert "4 files:" in again.stdout and "failed" not in again.stdout, again.stdout
        assert set(vault_is_whole_at(small / "vault")) == {sha256_of(f) for f in files}


def custody_verbs(env: Env, sha: str) -> list[str]:
    return [e["verb"] for e in json.loads(env.run("show", sha, "--json").stdout)["custody"]]


def test_the_same_ingest_again_repairs_an_original_that_failed_its_check(
    env: Env, tmp_path: Path
) -> None:
    """A byte flips in the vault; verify names it and the remedy; the very command that
    ingested the card stores the file again (the card holds the good bytes), reports it
    repaired and logs the repair. The card's other files are still skipped, not re-read."""
    card = tmp_path / "card3"
    card.mkdir()
    files = [random_bytes_file(card / f"C000{i}.MP4", 200_000 + i, seed=i) for i in range(3)]
    ingest = ("ingest", str(card), "-p", "aleppo", "--crew", "rahed", "--source", "card 3")
    env.run(*ingest)
    victim, *fine = (sha256_of(f) for f in files)
    damage(env, victim)
    failed = env.run("verify", check=False)
    assert failed.returncode == 1
    assert f"FAILED {victim}: content SHA-256 is now" in failed.stdout
    assert "to repair: run the same `rushes ingest PATH -p PROJECT` again" in failed.stdout
    before = {sha: custody_verbs(env, sha) for sha in fine}

    again = env.run(*ingest)
    assert "3 files: 1 repaired, 2 unchanged" in again.stdout, again.stdout
    (row,) = (line for line in again.stdout.splitlines() if files[0].name in line)
    assert "repaired" in row and victim[:16] in row
    assert set(vault_is_whole(env)) == {sha256_of(f) for f in files}
    (kept,) = (env.vault / "quarantine").iterdir()  # the damaged copy, set aside
    assert kept.name.startswith(victim)
    assert custody_verbs(env, victim)[-3:] == ["fixity-failed", "duplicate-received", "repaired"]
    assert {sha: custody_verbs(env, sha) for sha in fine} == before  # not read, not recorded
    assert "originals checked: 3, failed: 0" in env.run("verify").stdout
    assert "3 files: 3 unchanged" in env.run(*ingest).stdout  # repaired: skipped again


def test_the_same_ingest_again_restores_an_original_gone_from_the_vault(
    env: Env, tmp_path: Path
) -> None:
    """Gone from the vault folder, not yet noticed by verify: the quick check sees it too."""
    card = tmp_path / "card"
    card.mkdir()
    files = [random_bytes_file(card / f"f{i}.mov", 50_000 + i, seed=i) for i in range(2)]
    env.run("ingest", str(card), "-p", "p", "--source", "card 1")
    lost = sha256_of(files[0])
    (env.vault / "originals" / lost[:2] / lost[2:4] / lost).unlink()
    again = env.run("ingest", str(card), "-p", "p", "--source", "card 1")
    assert "2 files: 1 repaired, 1 unchanged" in again.stdout, again.stdout
    assert set(vault_is_whole(env)) == {sha256_of(f) for f in files}
    shown = json.loads(env.run("show", lost, "--json").stdout)
    (repair,) = (e for e in shown["custody"] if e["verb"] == "repaired")
    assert repair["details"]["problem"] == "missing from the vault"
    assert "originals checked: 2, failed: 0" in env.run("verify").stdout
