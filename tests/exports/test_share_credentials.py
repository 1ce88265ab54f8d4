"""A share copy signed with the organisation's C2PA identity: its manifest records the redaction
as an edit of the original (named by a reference only the base resolves, never its SHA-256),
reads as Trusted, and carries nothing of the original's own manifest, place or device."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import CustodyEvent
from rushes.media import credentials
from tests.conftest import Env
from tests.faces import face_clip
from tests.signers import Chain, camera


# Signing is the same on either database; the share's records on PostgreSQL run in test_share.py.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_signed_share_copy_names_its_redaction_and_not_its_original_s_hash(
    env: Env, tmp_path: Path
) -> None:
    phone = Chain.make(tmp_path / "keys", "phone")
    org = Chain.make(tmp_path / "keys", "organisation")
    (tmp_path / "card").mkdir()
    shot = face_clip(
        tmp_path / "plain.mp4", seconds=1.0, heights=(60, 80), gps=(36.2, 37.1), model="ZPhone 9"
    )
    original = camera(phone, shot.path, tmp_path / "card" / "RAHED_0412.mp4", "video/mp4")
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    signing = {"RUSHES_C2PA_CERT": str(org.cert), "RUSHES_C2PA_KEY": str(org.key)}
    signed_env = dataclasses.replace(env, extra=signing)
    signed_env.run("ingest", str(tmp_path / "card"), "-p", "film")

    folder = tmp_path / "for-press"
    signed_env.run(
        "export", "share", "-p", "film", "--assets", sha[:12], "-o", str(folder),
        "--to", "Agence X", "--why", "report", "--keep-faces",  # faces: tests/exports/test_share.py
    )  # fmt: skip
    copy = folder / "clip-001.mp4"
    entry = json.loads((folder / "share.json").read_text(encoding="utf-8"))["copies"][0]
    assert entry["content_credentials"] == "signed"
    assert entry["sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()  # signed, then hashed

    got = credentials.read(copy, org.root.read_text())
    assert got is not None and got.state == "Trusted", got and got.failures
    assert got.actions == ["c2pa.opened", "c2pa.edited", "c2pa.edited.metadata", "c2pa.transcoded"]
    active = got.store["manifests"][got.store["active_manifest"]]
    (actions,) = [a for a in active["assertions"] if a["label"].startswith("c2pa.actions")]
    edited = actions["data"]["actions"][1]
    assert edited["description"].startswith("redacted: faces hidden in 0 of ")
    assert got.ingredients == [
        {
            "title": f"original {entry['original']}",
            "format": "video/mp4",
            "relationship": "parentOf",
        }
    ]
    assert sha not in (folder / "share.json").read_text()  # a seized card's hash leads nowhere
    assert len(got.store["manifests"]) == 1  # the phone's manifest stays with the original
    data = copy.read_bytes()
    assert entry["original"].startswith("original-")
    assert sha.encode() not in data and bytes.fromhex(sha) not in data
    for secret in (b"phone signer", b"ZPhone", b"RAHED", b"36.2"):
        assert secret not in data, secret

    with env.open() as base_:
        base: Base = base_
        with base.catalog.read() as session:
            shared = session.scalars(
                select(CustodyEvent).where(CustodyEvent.verb == "shared")
            ).all()
    (event,) = [json.loads(e.details) for e in shared]
    assert (event["content_credentials"], event["copy_sha256"]) == ("signed", entry["sha256"])
