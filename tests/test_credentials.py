"""C2PA content credentials (issue 15): read from originals on arrival, written on proxies.

Footage is signed here as a capture app signs it (`tests/signers.py`, a local ES256 chain);
the base reads it with the real `rushes` commands and serves it over HTTP, and what it signs
is read back with the C2PA SDK as a recipient would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from sqlalchemy import select

from rushes.catalog.models import ContentCredentials, CustodyEvent, StepState
from rushes.errors import ConfigError
from rushes.media import credentials
from tests.clips import make_audio, make_photo, make_video
from tests.conftest import Env
from tests.signers import Chain, camera
from tests.tsa import TSA
from tests.upload.test_faults import serving
from tests.web.conftest import PASSWORD, Client, sign_in
from tests.web.test_status import free_port


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flip(path: Path, out: Path, at: float = 0.6) -> Path:
    """A copy of `path` with one byte changed, `at` of the way through."""
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x01
    out.write_bytes(bytes(data))
    return out


def read_all(env: Env) -> dict[str, ContentCredentials]:
    with env.open() as base, base.catalog.read() as session:
        rows = session.scalars(select(ContentCredentials)).all()
        session.expunge_all()
        return {row.asset_sha256: row for row in rows}


def trusting(env: Env, chain: Chain, signing: Chain | None = None) -> Env:
    extra = {"RUSHES_C2PA_TRUST": str(chain.root)}
    if signing:
        extra |= {"RUSHES_C2PA_CERT": str(signing.cert), "RUSHES_C2PA_KEY": str(signing.key)}
    return dataclasses.replace(env, extra=extra)


# the manifest's reading is the same on either; an organisation's catalog
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_credentials_are_read_on_arrival_kept_logged_shown_by_role_and_bagged(
    env: Env, tmp_path: Path
) -> None:
    phone = Chain.make(tmp_path / "keys", "phone")
    card = tmp_path / "card"
    card.mkdir()
    plain = make_video(tmp_path / "plain.mp4", seconds=1, seed=1)
    signed = camera(phone, plain, card / "signed.mp4", "video/mp4")
    tampered = flip(signed, card / "tampered.mp4")
    unsigned = make_video(card / "unsigned.mp4", seconds=1, seed=2)
    sound = camera(phone, make_audio(tmp_path / "a.wav"), card / "voice.wav", "audio/wav")
    photo = camera(phone, make_photo(tmp_path / "p.jpg"), card / "photo.jpg", "image/jpeg")
    base = trusting(env, phone)

    ingested = base.run("ingest", str(card), "-p", "film")
    assert ingested.returncode == 0, ingested.stderr
    for original in (signed, tampered, unsigned):  # kept byte-exact, named by their bytes
        with base.open() as opened, opened.vault.open(sha256(original)) as kept:
            assert kept.read() == original.read_bytes()

    found = read_all(base)
    assert set(found) == {sha256(p) for p in (signed, tampered, sound, photo)}  # none: no row
    assert found[sha256(sound)].state == found[sha256(photo)].state == "Trusted"
    good, bad = found[sha256(signed)], found[sha256(tampered)]
    assert good.state == "Trusted"
    assert good.summary["claim_generator"] == "ProofMode test 1.0"
    assert "phone signer" in good.summary["signer"]
    assert good.summary["actions"] == ["c2pa.created"]
    assert good.store is not None and good.store["active_manifest"] in good.store["manifests"]
    assert bad.state == "Invalid" and bad.summary["failures"]
    with base.open() as opened, opened.catalog.read() as session:
        logged = session.scalars(
            select(CustodyEvent).where(CustodyEvent.verb == "provenance-read")
        ).all()
        note = session.get(StepState, (sha256(tampered), "provenance")).error
    assert {(e.asset_sha256, json.loads(e.details)["state"]) for e in logged} == {
        (sha256(signed), "Trusted"),
        (sha256(tampered), "Invalid"),
        (sha256(sound), "Trusted"),
        (sha256(photo), "Trusted"),
    }
    assert note.startswith("C2PA manifest invalid")  # visible where failed steps are
    listed = base.run("assets").stdout  # and named by asset where problems are looked for
    assert f"{sha256(tampered)[:16]}" in listed and "C2PA Invalid: assertion" in listed

    # Without the trust list the same manifest is intact but its signer unknown.
    assert credentials.read(signed).state == "Valid"

    base.run("user", "add", "ada", "--site-admin", "--password-stdin", input=PASSWORD + "\n")
    for name, role in (("ivan", "investigator"), ("dina", "director")):
        base.run(
            "user",
            "add",
            name,
            "-p",
            "film",
            "--role",
            role,
            "--password-stdin",
            input=PASSWORD + "\n",
        )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving(base, port, tmp_path / "serve.log"):
        with Client(base_url=url, timeout=30) as ivan, Client(base_url=url, timeout=30) as dina:
            sign_in(ivan, "ivan")
            sign_in(dina, "dina")
            page = ivan.get(f"/p/film/a/{sha256(signed)}").text
            assert 'data-state="Trusted"' in page and "phone signer" in page
            assert "ProofMode test 1.0" in page and "c2pa.created" in page
            page = ivan.get(f"/p/film/a/{sha256(tampered)}").text
            assert 'data-state="Invalid"' in page and "does not validate" in page
            page = dina.get(f"/p/film/a/{sha256(signed)}").text  # no device details
            assert 'data-state="Trusted"' in page and "phone signer" not in page
            assert "ProofMode" not in page
        with Client(base_url=url, timeout=30) as ada:
            sign_in(ada, "ada")
            status = ada.get("/status").text
            assert "Nothing is signed" in status and "Trusted 3, Invalid 1" in status
            problems = status.split('id="c2pa-problems"', 1)[1].split("</table>", 1)[0]
            assert sha256(tampered)[:16] in problems and "C2PA Invalid" in problems
            assert sha256(signed)[:16] not in problems

    bag = tmp_path / "bag"
    made = base.run("export", "evidence", "-p", "film", "--assets", sha256(signed), "-o", str(bag))
    assert made.returncode == 0, made.stderr
    record = json.loads((bag / "data" / "assets" / f"{sha256(signed)}.json").read_text())
    assert record["content_credentials"]["state"] == "Trusted"
    assert record["content_credentials"]["manifest_store"] == good.store
    bare = tmp_path / "bare"
    base.run(
        "export",
        "evidence",
        "-p",
        "film",
        "--assets",
        sha256(signed),
        "-o",
        str(bare),
        "--no-location",
    )
    record = json.loads((bare / "data" / "assets" / f"{sha256(signed)}.json").read_text())
    assert record["content_credentials"] == {"state": "Trusted", "failures": []}


def test_proxies_and_posters_are_signed_as_copies_of_their_original(
    env: Env, tsa: TSA, tmp_path: Path
) -> None:
    phone = Chain.make(tmp_path / "keys", "phone")
    org = Chain.make(tmp_path / "keys", "organisation")
    (tmp_path / "card").mkdir()
    original = camera(
        phone,
        make_video(tmp_path / "plain.mp4", seconds=1),
        tmp_path / "card" / "a.mp4",
        "video/mp4",
    )
    base = trusting(env, org, signing=org)
    base = dataclasses.replace(base, extra={**base.extra, "RUSHES_C2PA_TSA_URL": tsa.url})
    base.run("ingest", str(tmp_path / "card"), "-p", "film")
    processed = base.run("process")
    assert processed.returncode == 0, processed.stderr
    with base.open() as opened:
        folder = opened.derivatives.folder(sha256(original))
        made = sorted(folder.glob("proxy-*.mp4"))
    assert len(made) == 2
    poster = credentials.read(folder / "poster.webp", org.root.read_text())
    assert (poster.state, poster.actions) == ("Trusted", ["c2pa.opened", "c2pa.transcoded"])
    assert b"ProofMode" not in (folder / "poster.webp").read_bytes()
    assert not [p for p in folder.glob("strip-*") if credentials.read(p)]  # never leave the base
    for path in made:
        got = credentials.read(path, org.root.read_text())
        assert got.state == "Trusted", got.failures
        assert "organisation signer" in got.signer
        assert got.signed_at and got.signed_at[:4].isdigit()  # the loopback TSA's time
        assert got.actions == ["c2pa.opened", "c2pa.transcoded"]
        assert got.ingredients == [
            {
                "title": f"original {sha256(original)}",
                "format": "video/mp4",
                "relationship": "parentOf",
            }
        ]
        active = got.store["manifests"][got.store["active_manifest"]]
        (named,) = [a for a in active["assertions"] if a["label"] == credentials.ORIGINAL_LABEL]
        assert named["data"]["sha256"] == sha256(original)
        # The phone's manifest (signer, app, any GPS) stays in the original: a director may
        # download this proxy but not see device details.
        (ingredient,) = active["ingredients"]
        assert "active_manifest" not in ingredient and len(got.store["manifests"]) == 1
        assert b"ProofMode" not in path.read_bytes() and b"phone signer" not in path.read_bytes()
        broken = credentials.read(flip(path, tmp_path / path.name), org.root.read_text())
        assert broken.state == "Invalid"
    assert base.run("verify").returncode == 0  # the signed proxies are what the catalog holds


def jpeg_segments(data: bytes, marker: int) -> list[bytes]:
    """The whole segments (marker and length included) of one kind in a JPEG's header."""
    found, at = [], 2
    while at < len(data) and data[at] == 0xFF and data[at + 1] != 0xDA:
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if data[at + 1] == marker:
            found.append(data[at : at + 2 + length])
        at += 2 + length
    return found


APP11 = 0xEB  # where JPEG carries JUMBF, hence C2PA


def test_bad_manifests_are_named_and_the_originals_kept(env: Env, tmp_path: Path) -> None:
    phone = Chain.make(tmp_path / "keys", "phone")
    card = tmp_path / "card"
    card.mkdir()
    signed = camera(phone, make_photo(tmp_path / "a.jpg", seed=1), tmp_path / "s.jpg", "image/jpeg")
    data = signed.read_bytes()
    (manifest,) = jpeg_segments(data, APP11)
    # A manifest copied into another photo: it claims an asset whose bytes these are not.
    other = make_photo(tmp_path / "b.jpg", seed=2).read_bytes()
    (card / "claims-another.jpg").write_bytes(other[:2] + manifest + other[2:])
    # A manifest whose JUMBF boxes are cut short: not parseable.
    at = data.index(manifest)
    cut = manifest[:40] + b"\x00" * (len(manifest) - 40)
    (card / "malformed.jpg").write_bytes(data[:at] + cut + data[at + len(manifest) :])
    # A huge manifest (1 MB, the most the SDK signs): summarised, its store left in the original.
    huge = camera(
        phone,
        make_video(tmp_path / "c.mp4", seconds=1),
        card / "huge.mp4",
        "video/mp4",
        padding=1_000_000,
    )
    # A claim generator that is a page of markup: kept as text, and only so much of it.
    hostile = "<script>alert(1)</script>" + "\u202e" + "x" * 5000
    clip = make_video(tmp_path / "d.mp4", seconds=1, seed=3)
    camera(phone, clip, card / "hostile.mp4", "video/mp4", app=hostile)
    base = trusting(env, phone)

    ingested = base.run("ingest", str(card), "-p", "film")
    assert ingested.returncode == 0, ingested.stderr
    found = read_all(base)
    names = {p.name: sha256(p) for p in card.iterdir()}
    loud = found[names["hostile.mp4"]].summary["claim_generator"]
    assert loud == hostile[: credentials.TEXT_LIMIT]
    assert set(found) == set(names.values())
    claims = found[names["claims-another.jpg"]]
    assert claims.state == "Invalid"
    assert any("mismatch" in f["code"] for f in claims.summary["failures"]), claims.summary
    malformed = found[names["malformed.jpg"]]
    assert malformed.state in ("Invalid", "unreadable") and malformed.summary["failures"]
    big = found[names["huge.mp4"]]
    assert big.state == "Trusted" and big.store is None
    assert big.summary["claim_generator"] == "ProofMode test 1.0"
    for name, digest in names.items():  # every original kept exactly as it came
        with base.open() as opened, opened.vault.open(digest) as kept:
            assert kept.read() == (card / name).read_bytes(), name
    assert huge.stat().st_size > 1_000_000


def test_a_half_configured_signer_is_refused_with_a_clear_error(env: Env, tmp_path: Path) -> None:
    org = Chain.make(tmp_path / "keys", "organisation")
    half = dataclasses.replace(env, extra={"RUSHES_C2PA_CERT": str(org.cert)})
    refused = half.run("ingest", str(tmp_path), "-p", "film", check=False)
    assert refused.returncode != 0
    assert "RUSHES_C2PA_CERT and RUSHES_C2PA_KEY go together" in refused.stderr


def test_a_key_c2pa_cannot_sign_with_is_named(tmp_path: Path) -> None:
    org = Chain.make(tmp_path / "keys", "organisation")
    ed448 = tmp_path / "ed448.key"
    ed448.write_bytes(
        Ed448PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ConfigError, match="of a kind C2PA does not sign with"):
        credentials.Signing.from_files(org.cert, ed448)
    (tmp_path / "broken.key").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n")
    with pytest.raises(ConfigError, match="cannot be read"):
        credentials.Signing.from_files(org.cert, tmp_path / "broken.key")


def test_serve_and_process_refuse_a_broken_signing_key_at_start(env: Env, tmp_path: Path) -> None:
    """Named once when the pipeline would start, not as a note on every proxy made after."""
    org = Chain.make(tmp_path / "keys", "organisation")
    (tmp_path / "broken.key").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n")
    (tmp_path / "note.txt").write_text("a base to process")
    env.run("ingest", str(tmp_path / "note.txt"), "-p", "film")
    broken = dataclasses.replace(
        env,
        extra={"RUSHES_C2PA_CERT": str(org.cert), "RUSHES_C2PA_KEY": str(tmp_path / "broken.key")},
    )
    for command in (("process",), ("serve", "--port", str(free_port()))):
        refused = broken.run(*command, check=False, timeout=60)
        assert refused.returncode == 1, refused.stderr
        assert "the C2PA signing certificate or key cannot be read" in refused.stderr
