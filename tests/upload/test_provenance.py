"""An upload's C2PA manifest is read like an ingested one's: by the pipeline, after intake."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import ContentCredentials, CustodyEvent
from tests.clips import make_video
from tests.conftest import Env
from tests.signers import Chain, camera
from tests.upload.conftest import Crews
from tests.upload.test_protocol import create, patch


def test_an_uploaded_original_has_its_credentials_read(
    crews: Crews, base: Base, env: Env, tmp_path: Path
) -> None:
    phone = Chain.make(tmp_path / "keys", "phone")
    clip = make_video(tmp_path / "plain.mp4", seconds=1)
    data = camera(phone, clip, tmp_path / "signed.mp4", "video/mp4").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    url = create(crews, data).headers["Location"]
    assert patch(url, crews.karim, data, 0).status_code == 204
    processed = env.run("process", "--step", "provenance")
    assert processed.returncode == 0, processed.stderr
    with base.catalog.read() as session:
        found = session.get(ContentCredentials, sha)
        event = session.scalars(
            select(CustodyEvent).where(
                CustodyEvent.asset_sha256 == sha, CustodyEvent.verb == "provenance-read"
            )
        ).one()
        assert (found.state, found.summary["claim_generator"]) == ("Valid", "ProofMode test 1.0")
        assert json.loads(event.details)["state"] == "Valid"  # no trust list configured here
    assert base.vault.local_path(sha).read_bytes() == data
