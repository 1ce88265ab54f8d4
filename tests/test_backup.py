"""Backups, restores and the replica vault, through the real `rushes` command on both databases:
a lost vault disk comes back from the replica, and a wiped base comes back from a backup, each
with its custody chain intact."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import Env
from tests.test_verify import sql


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored(root: Path, sha: str) -> Path:
    return root / "originals" / sha[:2] / sha[2:4] / sha


def custody_log(env: Env) -> list[dict]:
    return [json.loads(line) for line in env.run("custody", "export").stdout.splitlines()]


def damage(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def whole(root: Path, expected: set[str]) -> None:
    """`root` is a vault holding exactly `expected`, each file hashing to its name."""
    found = {p.name for p in (root / "originals").glob("??/??/*")}
    assert found == expected
    for sha in found:
        assert sha256_of(stored(root, sha)) == sha


@pytest.fixture
def footage(env: Env, fixtures_dir: Path) -> set[str]:
    env.run("ingest", str(fixtures_dir), "-p", "aleppo", "--source", "card 1")
    return {sha256_of(p) for p in fixtures_dir.iterdir()}


def test_a_lost_vault_disk_is_recovered_from_the_replica_with_the_chain_intact(
    env: Env, tmp_path: Path, footage: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    replica = tmp_path / "replica"
    typo = env.run("vault", "copy", "--to", "S3://Evidence/vault", check=False)
    assert typo.returncode != 0 and "neither a folder nor an s3://" in typo.stderr
    assert not (env.data_dir / "S3:").exists() and not Path("S3:").exists()
    made = env.run("vault", "replicate", "--to", str(replica))
    assert f"{len(footage)} copied, 0 already there, 0 failed" in made.stdout
    assert "set RUSHES_REPLICA_DIR" in made.stderr
    whole(replica, footage)
    monkeypatch.setenv("RUSHES_REPLICA_DIR", str(replica))
    again = env.run("vault", "replicate")  # the setting is the default target
    assert f"0 copied, {len(footage)} already there" in again.stdout
    before = custody_log(env)
    assert sorted(e["asset"] for e in before if e["verb"] == "replicated") == sorted(footage)

    shutil.rmtree(env.vault)  # the disk under the vault is gone
    verified = env.run("verify")  # exit 0: every original has a good copy again
    assert verified.stdout.count("REPAIRED") == len(footage)
    assert f"{len(footage)} copies repaired" in verified.stdout and "intact" in verified.stdout
    whole(env.vault, footage)
    after = custody_log(env)
    assert after[: len(before)] == before  # the chain up to the loss is unchanged
    added = after[len(before) :]
    repairs = [e for e in added if e["verb"] == "repaired"]
    assert sorted(e["asset"] for e in repairs) == sorted(footage)
    assert {(e["details"]["copy"], e["details"]["restored_from"]) for e in repairs} == {
        ("vault", str(replica))
    }
    assert {e["verb"] for e in added} == {
        "fixity-failed",
        "fixity-ok",
        "repaired",
        "chain-verified",
    }

    victim, other = sorted(footage)[:2]
    damage(stored(env.vault, victim))  # bit rot on the main disk
    stored(replica, other).unlink()  # a copy lost on the replica's
    fixed = env.run("verify")
    assert f"REPAIRED {victim}: vault copy content SHA-256 is now" in fixed.stdout
    assert f"REPAIRED {other}: replica copy missing" in fixed.stdout
    whole(env.vault, footage)
    whole(replica, footage)
    assert len(list((env.vault / "quarantine").iterdir())) == 1  # the damaged copy, kept aside
    assert "originals checked: 16, failed: 0" in env.run("verify").stdout

    damage(stored(env.vault, victim))
    damage(stored(replica, victim))
    lost = env.run("verify", check=False)
    assert lost.returncode == 1
    assert f"FAILED {victim}: no good copy left: vault: content SHA-256 is now" in lost.stdout
    assert "to repair: run the same `rushes ingest" in lost.stdout
    assert "RUSHES_REPLICA_DIR" not in lost.stdout  # the replica's copy is bad too
    assert "intact" in lost.stdout


def test_replicate_resumes_a_killed_run_and_never_copies_a_damaged_original(
    env: Env, tmp_path: Path, footage: set[str]
) -> None:
    replica = tmp_path / "replica"
    first, second, rotten = sorted(footage)[:3]
    # What a killed run leaves: copies in place whose events never committed, and a staging
    # file whose writer died; plus a copy damaged on the replica's disk since.
    for sha in (first, second):
        stored(replica, sha).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(stored(env.vault, sha), stored(replica, sha))
    (replica / "tmp").mkdir()
    (replica / "tmp" / "dead.part").write_bytes(b"half a clip")
    damage(stored(replica, second))
    damage(stored(env.vault, rotten))

    made = env.run("vault", "replicate", "--to", str(replica), check=False)
    assert made.returncode == 1
    assert f"FAILED {rotten}: the copy of {rotten}" in made.stdout and "damaged" in made.stdout
    assert f"{len(footage) - 1} copied, 0 already there, 1 failed" in made.stdout
    whole(replica, footage - {rotten})
    assert not stored(replica, rotten).exists()  # damage is never spread
    assert list((replica / "tmp").iterdir()) == []
    assert len(list((replica / "quarantine").iterdir())) == 1  # the damaged copy, kept aside
    events = [e for e in custody_log(env) if e["verb"] == "replicated"]
    assert sorted(e["asset"] for e in events) == sorted(footage - {rotten})
    assert {e["details"]["to"] for e in events} == {str(replica)}

    again = env.run("vault", "replicate", "--to", str(replica), check=False)
    assert f"0 copied, {len(footage) - 1} already there, 1 failed" in again.stdout


def _wipe(env: Env) -> None:
    """The data folder and the database both lost; an empty new database in its place."""
    shutil.rmtree(env.data_dir)
    if env.database_url.startswith("sqlite"):
        database = Path(env.database_url.removeprefix("sqlite:///"))
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            path.unlink(missing_ok=True)
    else:
        sql(env, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")


def test_a_wiped_base_is_restored_from_a_backup_with_the_same_chain_head(
    env: Env, tmp_path: Path, footage: set[str], fixtures_dir: Path
) -> None:
    replica = tmp_path / "replica"
    env.run("vault", "replicate", "--to", str(replica))
    made = env.run("backup", str(tmp_path / "backups"))
    folder = Path(made.stdout.strip())
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [folder.name]  # nothing partial
    assert folder.name.startswith("rushes-backup-")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {o["sha256"]: o["size"] for o in manifest["originals"]} == {
        sha256_of(p): p.stat().st_size for p in fixtures_dir.iterdir()
    }
    assert "derivatives_not_included" in manifest and "derivatives" in (
        (folder / "README.txt").read_text()
    )
    log = custody_log(env)
    head = manifest["custody_head"]
    assert (log[-2]["seq"], log[-2]["hash"]) == (head["seq"], head["hash"])
    logged = log[-1]  # the backup's own event, after the snapshot it names
    assert logged["verb"] == "backed-up" and logged["details"]["backup"] == str(folder)
    assert logged["details"]["head"] == head and logged["details"]["originals"] == len(footage)

    _wipe(env)
    restored = env.run("restore", str(folder), "--vault-from", str(replica))
    assert f"chain head: event {head['seq']} {head['hash']}" in restored.stdout
    assert f"originals restored: {len(footage)}, failed: 0" in restored.stdout
    whole(env.vault, footage)
    verified = env.run("verify")
    assert f"originals checked: {len(footage)}, failed: 0" in verified.stdout
    assert "intact" in verified.stdout
    after = custody_log(env)
    assert after[: head["seq"]] == log[:-1]  # the chain to the backup's head, exactly
    added = [e["verb"] for e in after[head["seq"] :]]
    assert added[: len(footage) + 1] == ["restored"] * (len(footage) + 1)
    assert after[head["seq"]]["details"]["head"] == head

    refused = env.run("restore", str(folder), "--vault-from", str(replica), check=False)
    assert refused.returncode == 1 and "restore only into an empty one" in refused.stderr
    shutil.rmtree(env.vault)
    refused = env.run("restore", str(folder), "--vault-from", str(replica), check=False)
    assert refused.returncode == 1 and "restore only into an empty" in refused.stderr
    assert custody_log(env) == after  # a refused restore wrote nothing


def test_restore_refuses_a_damaged_backup_and_a_missing_source(
    env: Env, tmp_path: Path, footage: set[str]
) -> None:
    replica = tmp_path / "replica"
    env.run("vault", "replicate", "--to", str(replica))
    folder = Path(env.run("backup", str(tmp_path / "backups")).stdout.strip())
    _wipe(env)
    missing = env.run("restore", str(folder), check=False)
    assert missing.returncode == 1 and "give --vault-from FOLDER" in missing.stderr
    nowhere = env.run("restore", str(folder), "--vault-from", str(tmp_path / "nope"), check=False)
    assert nowhere.returncode == 1 and "is not there" in nowhere.stderr
    catalog = folder / json.loads((folder / "manifest.json").read_text())["catalog_file"]
    catalog.chmod(0o644)
    with open(catalog, "r+b") as f:
        f.seek(100)
        f.write(b"\x00rot")
    damaged = env.run("restore", str(folder), "--vault-from", str(replica), check=False)
    assert damaged.returncode == 1 and "damaged backup" in damaged.stderr
    assert not env.data_dir.exists()  # refused before anything was written
