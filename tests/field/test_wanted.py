"""The crew laptop shows which originals the base asked for: `rushes field notes` lists them
with the card file each one is, and `rushes field status` marks them, offline too, until sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rushes.base import Base
from tests.field.test_sync import Kit, card, sha, token_for  # noqa: F401 - fixture
from tests.web.conftest import Client, Team


def test_notes_and_status_name_the_originals_the_base_asked_for(
    base: Base,
    team: Team,
    server: str,
    login: Callable[..., Client],
    card: dict[str, Path],  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    kit = Kit(tmp_path / "kit")
    kit.login(server, token_for(base, "karim", "film"))
    kit.run("import", str(card["big"].parent.parent), "--source", "card 3")
    with kit.sync() as sync:
        sync.send_manifests()  # the base knows the clips; no original has gone yet
    assert "asked for" not in kit.run("notes") + kit.run("status")

    dina = login("dina")
    big = sha(card["big"])
    asked = dina.post(f"/p/film/a/{big}/send-original", data={"csrf": dina.csrf})
    assert asked.status_code == 303, asked.text

    notes = kit.run("notes")
    assert "the base asked for 1 original, sent first:" in notes
    assert f"card 3: DCIM/C0001.MP4 (clip {big[:12]})" in notes
    status = kit.run("status")
    row = next(line for line in status.splitlines() if "C0001.MP4" in line)
    assert "asked for by the base" in row
    assert not any("asked for by" in line for line in status.splitlines() if "C0002" in line)
    assert "the base asked for 1 original: card 3: DCIM/C0001.MP4" in status

    # Once sent, it is asked for no more.
    with kit.sync() as sync:
        assert sync.run().total == 0
    assert "asked for" not in kit.run("status")
