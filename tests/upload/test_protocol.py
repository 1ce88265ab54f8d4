"""The tus 1.0 server over real HTTP: every header rule and every bad input, with exact statuses."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update

from rushes.base import Base
from rushes.catalog.models import Arrival, Asset, Derivative, Project
from tests.clips import make_video
from tests.tls import TLS
from tests.upload.conftest import Crews, encode, headers, manifest, original_metadata


def create(crews: Crews, data: bytes, **extra: str) -> httpx.Response:
    sent = {
        "Upload-Length": str(len(data)),
        "Upload-Metadata": encode(**original_metadata(data)),
        **extra,
    }
    return httpx.post(crews.url, headers=headers(crews.karim, **sent), verify=TLS)


def patch(url: str, token: str, body: bytes, offset: int, **extra: str) -> httpx.Response:
    sent = {
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        **extra,
    }
    return httpx.patch(url, content=body, headers=headers(token, **sent), verify=TLS)


def offset_of(url: str, token: str) -> int:
    answer = httpx.head(url, headers=headers(token), verify=TLS)
    assert answer.status_code == 200, answer.status_code
    return int(answer.headers["Upload-Offset"])


def digest(name: str, data: bytes) -> str:
    return f"{name} {base64.b64encode(hashlib.new(name, data).digest()).decode()}"


def test_options_advertise_version_extensions_size_and_checksums(crews: Crews) -> None:
    answer = httpx.options(crews.url, verify=TLS)
    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert answer.headers["Tus-Resumable"] == "1.0.0"
    assert set(answer.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "expiration",
        "checksum",
        "termination",
    }
    assert answer.headers["Tus-Max-Size"] == str(64 * 2**30)
    assert answer.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"


def test_create_head_patch_in_chunks_with_checksums(crews: Crews, base: Base) -> None:
    data = os.urandom(3 << 20)
    made = create(crews, data)
    assert made.status_code == 201, made.text
    url = made.headers["Location"]
    assert url.startswith(crews.url) and made.headers["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in made.headers

    head = httpx.head(url, headers=headers(crews.karim), verify=TLS)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Upload-Metadata"] == encode(**original_metadata(data))

    first, second = data[: 1 << 20], data[1 << 20 :]
    answer = patch(url, crews.karim, first, 0, **{"Upload-Checksum": digest("sha1", first)})
    assert answer.status_code == 204, answer.text
    assert answer.headers["Upload-Offset"] == str(len(first))
    assert "Upload-Expires" in answer.headers

    wrong = patch(
        url, crews.karim, second, len(first), **{"Upload-Checksum": digest("sha256", b"x")}
    )
    assert wrong.status_code == 460, wrong.text
    assert offset_of(url, crews.karim) == len(first)  # the chunk was dropped

    done = patch(
        url, crews.karim, second, len(first), **{"Upload-Checksum": digest("sha256", second)}
    )
    assert done.status_code == 204, done.text
    assert done.headers["Upload-Offset"] == str(len(data))
    assert "Upload-Expires" not in done.headers  # finished: it no longer expires
    sha256 = hashlib.sha256(data).hexdigest()
    assert base.vault.local_path(sha256).read_bytes() == data
    assert offset_of(url, crews.karim) == len(data)
    with base.catalog.read() as session:  # hashed on arrival; the dropped chunk left no trace
        asset = session.get(Asset, sha256)
        assert asset is not None and asset.sha512 == hashlib.sha512(data).hexdigest()


def test_a_full_disk_answers_507_at_once_and_loses_nothing(crews: Crews, base: Base) -> None:
    data = os.urandom(8 << 20)
    url = create(crews, data).headers["Location"]
    assert patch(url, crews.karim, data[:1000], 0).status_code == 204
    chunk = base.settings.upload_dir / urlsplit(url).path.rsplit("/", 1)[1] / "chunk"
    chunk.symlink_to("/dev/full")  # where the next checksummed chunk is staged: no space left
    rest = data[1000:]
    target = urlsplit(url)
    sent = {
        **headers(crews.karim),
        "Upload-Offset": "1000",
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(len(rest)),
        "Upload-Checksum": digest("sha256", rest),
    }
    head = "".join(f"{k}: {v}\r\n" for k, v in sent.items())
    with socket.create_connection((target.hostname, target.port), timeout=10) as link:
        link.sendall(
            f"PATCH {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n{head}\r\n".encode()
        )
        link.sendall(rest[: 2 << 20])  # and no more: the answer must not wait for the rest
        assert link.recv(64).startswith(b"HTTP/1.1 507 ")
    assert offset_of(url, crews.karim) == 1000  # what was kept before is still there
    done = patch(url, crews.karim, rest, 1000, **{"Upload-Checksum": digest("sha256", rest)})
    assert done.status_code == 204, done.text  # space again (the link went with the chunk)
    with base.catalog.read() as session:
        asset = session.get(Asset, hashlib.sha256(data).hexdigest())
        assert asset is not None and asset.sha512 == hashlib.sha512(data).hexdigest()


def test_checksum_header_problems(crews: Crews) -> None:
    data = os.urandom(1000)
    url = create(crews, data).headers["Location"]
    cases = {
        "md5 " + base64.b64encode(hashlib.md5(data).digest()).decode(): 400,
        "sha1": 460,  # an algorithm and no digest
        "sha1 !!notbase64!!": 400,
        "sha1 " + base64.b64encode(b"short").decode(): 460,
    }
    for value, status in cases.items():
        answer = patch(url, crews.karim, data, 0, **{"Upload-Checksum": value})
        assert answer.status_code == status, (value, answer.text)
        assert offset_of(url, crews.karim) == 0


def test_creation_with_upload_and_deferred_length(crews: Crews, base: Base) -> None:
    data = os.urandom(200_000)
    sent = headers(
        crews.karim,
        **{
            "Upload-Defer-Length": "1",
            "Upload-Metadata": encode(**original_metadata(data)),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    made = httpx.post(crews.url, headers=sent, content=data[:50_000], verify=TLS)
    assert made.status_code == 201, made.text
    assert made.headers["Upload-Offset"] == "50000"
    url = made.headers["Location"]
    head = httpx.head(url, headers=headers(crews.karim), verify=TLS)
    assert head.headers["Upload-Defer-Length"] == "1" and "Upload-Length" not in head.headers

    assert patch(url, crews.karim, data[50_000:60_000], 50_000).status_code == 204
    less = patch(url, crews.karim, b"", 60_000, **{"Upload-Length": "10"})
    assert less.status_code == 400 and "less than" in less.text
    rest = patch(url, crews.karim, data[60_000:], 60_000, **{"Upload-Length": str(len(data))})
    assert rest.status_code == 204, rest.text
    assert base.vault.local_path(hashlib.sha256(data).hexdigest()).read_bytes() == data
    again = patch(url, crews.karim, b"", len(data), **{"Upload-Length": "5"})
    assert again.status_code == 204  # finished; the length it had stands


def test_unsupported_version_and_authentication(crews: Crews) -> None:
    data = b"abc"
    for version in (None, "0.2.2", "2.0.0"):
        sent = headers(crews.karim, **{"Upload-Length": "3"})
        sent.pop("Tus-Resumable")
        if version:
            sent["Tus-Resumable"] = version
        answer = httpx.post(crews.url, headers=sent, verify=TLS)
        assert answer.status_code == 412
        assert answer.headers["Tus-Version"] == "1.0.0"

    url = create(crews, data).headers["Location"]
    anonymous = {"Tus-Resumable": "1.0.0"}
    assert httpx.head(url, headers=anonymous, verify=TLS).status_code == 401
    assert httpx.head(url, headers=headers("rsh_forged"), verify=TLS).status_code == 401
    # omar: another project
    assert httpx.head(url, headers=headers(crews.omar), verify=TLS).status_code == 404
    assert patch(url, crews.omar, data, 0).status_code == 404
    assert httpx.delete(url, headers=headers(crews.omar), verify=TLS).status_code == 404
    unknown = crews.url + "0" * 32
    assert httpx.head(unknown, headers=headers(crews.karim), verify=TLS).status_code == 404
    assert patch(unknown, crews.karim, data, 0).status_code == 404
    escaping = crews.url + "..%2F..%2Fetc"
    assert httpx.head(escaping, headers=headers(crews.karim), verify=TLS).status_code == 404


BAD_LENGTHS: list[tuple[dict[str, str], int, str]] = [
    ({"Upload-Length": "-5"}, 400, "non-negative"),
    ({"Upload-Length": "+5"}, 400, "non-negative"),
    ({"Upload-Length": "5 5"}, 400, "non-negative"),
    ({"Upload-Length": "1e9"}, 400, "non-negative"),
    ({"Upload-Length": "9" * 30}, 400, "larger than any file"),
    ({"Upload-Length": str(2**63)}, 400, "larger than any file"),
    ({"Upload-Length": str(64 * 2**30 + 1)}, 413, "limit"),
    ({}, 400, "Upload-Defer-Length"),
    ({"Upload-Length": "5", "Upload-Defer-Length": "1"}, 400, "not both"),
    ({"Upload-Defer-Length": "2"}, 400, "must be 1"),
]


def test_bad_lengths(crews: Crews) -> None:
    meta = {"Upload-Metadata": encode(**original_metadata(b"12345"))}
    for sent, status, says in BAD_LENGTHS:
        answer = httpx.post(crews.url, headers=headers(crews.karim, **meta, **sent), verify=TLS)
        assert answer.status_code == status, (sent, answer.text)
        assert says in answer.text, (sent, answer.text)


SHA = hashlib.sha256(b"12345").hexdigest()


BAD_METADATA = [
    ("", "key"),
    (f"kind {base64.b64encode(b'original').decode()},sha256 !!!", "not base64"),
    (f"kind b3JpZ2luYWw,sha256 {base64.b64encode(SHA.encode()).decode()[:-1]}", "not base64"),
    ("kind b3JpZ2luYWw=,kind b3JpZ2luYWw=", "twice"),
    ("ke/y b3JpZ2luYWw=", "odd characters"),
    ("kind //79", "needs kind"),  # bytes that are no UTF-8 name no kind
    (encode(kind="original", filename="a.mp4"), "needs sha256"),
    (encode(kind="clip", sha256=SHA, filename="a.mp4"), "kind"),
    (encode(kind="original", sha256="abc", filename="a.mp4"), "64 hex"),
    (encode(kind="original", sha256=SHA), "needs filename"),
    (encode(kind="original", sha256=SHA, filename="/etc/passwd"), "relative"),
    (encode(kind="original", sha256=SHA, filename="C:\\Windows\\x"), "relative"),
    (encode(kind="original", sha256=SHA, filename="DCIM/../../x.mp4"), ".."),
    (encode(kind="original", sha256=SHA, filename="DCIM/a\x00b.mp4"), "NUL"),
    (encode(kind="original", sha256=SHA, filename="a.mp4", source="card\n3"), "control"),
    (encode(kind="original", sha256=SHA, filename="x" * 2000), "longer"),
    (encode(kind="proxy", sha256=SHA), "needs original"),
    ("a " + "QUFB" * 3000, "longer than"),
]


def test_bad_metadata(crews: Crews) -> None:
    for metadata, says in BAD_METADATA:
        sent = {"Upload-Length": "5", "Upload-Metadata": metadata}
        answer = httpx.post(crews.url, headers=headers(crews.karim, **sent), verify=TLS)
        assert answer.status_code == 400, (metadata[:80], answer.text)
        assert says in answer.text, (metadata[:80], answer.text)


def test_patch_rules(crews: Crews) -> None:
    data = os.urandom(5000)
    url = create(crews, data).headers["Location"]
    bare = headers(crews.karim, **{"Upload-Offset": "0"})
    assert httpx.patch(url, content=data, headers=bare, verify=TLS).status_code == 415
    text = {**bare, "Content-Type": "text/plain"}
    assert httpx.patch(url, content=data, headers=text, verify=TLS).status_code == 415
    assert patch(url, crews.karim, data[:100], 0).status_code == 204
    stale = patch(url, crews.karim, data[:100], 0)
    assert stale.status_code == 409 and stale.headers["Upload-Offset"] == "100"
    assert patch(url, crews.karim, data[100:], 200).status_code == 409
    assert patch(url, crews.karim, data[100:], -1).status_code == 400
    no_offset = headers(crews.karim, **{"Content-Type": "application/offset+octet-stream"})
    assert httpx.patch(url, content=data, headers=no_offset, verify=TLS).status_code == 400
    too_long = patch(url, crews.karim, data[100:] + b"extra", 100)
    assert too_long.status_code == 400 and "past Upload-Length" in too_long.text
    assert offset_of(url, crews.karim) == 100


def test_project_limit_refuses_at_creation(crews: Crews, base: Base) -> None:
    with base.catalog.write() as session:
        session.execute(update(Project).where(Project.slug == "film").values(upload_limit=1000))
    assert create(crews, os.urandom(1000)).status_code == 201
    too_big = create(crews, os.urandom(1001))
    assert too_big.status_code == 413 and "limit of 1000" in too_big.text
    deferred = httpx.post(
        crews.url,
        headers=headers(
            crews.karim,
            **{"Upload-Defer-Length": "1", "Upload-Metadata": encode(**original_metadata(b"x"))},
        ),
        verify=TLS,
    )
    url = deferred.headers["Location"]
    assert patch(url, crews.karim, b"", 0, **{"Upload-Length": "1001"}).status_code == 413
    over = patch(url, crews.karim, os.urandom(1500), 0)
    assert over.status_code == 413
    assert offset_of(url, crews.karim) == 1000  # kept up to the limit


def test_expired_uploads_answer_410_and_the_sweep_removes_them(crews: Crews, base: Base) -> None:
    url = create(crews, os.urandom(10)).headers["Location"]
    assert patch(url, crews.karim, b"12345", 0).status_code == 204
    folder = base.settings.upload_dir / url.rsplit("/", 1)[1]
    eight_days_ago = time.time() - 8 * 86400
    os.utime(folder / "data", (eight_days_ago, eight_days_ago))
    assert httpx.head(url, headers=headers(crews.karim), verify=TLS).status_code == 410
    assert patch(url, crews.karim, b"67890", 5).status_code == 410

    from rushes.upload import UploadStore

    UploadStore(base.settings.upload_dir).sweep()
    assert not folder.exists()
    assert httpx.head(url, headers=headers(crews.karim), verify=TLS).status_code == 404


def test_termination(crews: Crews, base: Base) -> None:
    url = create(crews, os.urandom(10)).headers["Location"]
    assert patch(url, crews.karim, b"12345", 0).status_code == 204
    gone = httpx.delete(url, headers=headers(crews.karim), verify=TLS)
    assert gone.status_code == 204 and gone.headers["Tus-Resumable"] == "1.0.0"
    assert httpx.head(url, headers=headers(crews.karim), verify=TLS).status_code == 404
    assert list(base.settings.upload_dir.iterdir()) == []


def test_method_override(crews: Crews) -> None:
    data = os.urandom(100)
    url = create(crews, data).headers["Location"]
    sent = headers(
        crews.karim,
        **{
            "X-HTTP-Method-Override": "PATCH",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    answer = httpx.post(url, content=data, headers=sent, verify=TLS)
    assert answer.status_code == 204 and answer.headers["Upload-Offset"] == "100"
    deleted = httpx.post(
        url, headers=headers(crews.karim, **{"X-HTTP-Method-Override": "DELETE"}), verify=TLS
    )
    assert deleted.status_code == 204


def test_declared_sha256_mismatch_keeps_nothing(crews: Crews, base: Base) -> None:
    data = os.urandom(4096)
    lie = {"Upload-Metadata": encode(**original_metadata(b"other bytes"))}
    url = create(crews, data, **lie).headers["Location"]
    answer = patch(url, crews.karim, data, 0)
    assert answer.status_code == 422
    assert "hash to " + hashlib.sha256(data).hexdigest() in answer.text
    assert "nothing was kept" in answer.text
    assert list(base.vault.hashes()) == []
    assert httpx.head(url, headers=headers(crews.karim), verify=TLS).status_code == 422
    with base.catalog.read() as session:
        assert session.scalars(select(Asset)).all() == []
    folder = base.settings.upload_dir / url.rsplit("/", 1)[1]
    assert not (folder / "data").exists()


def test_original_size_contradicting_the_manifest_is_refused(crews: Crews, base: Base) -> None:
    data = os.urandom(1000)
    manifest(base, crews.film_id, data)
    meta = {"Upload-Metadata": encode(**original_metadata(data)), "Upload-Length": "999"}
    answer = httpx.post(crews.url, headers=headers(crews.karim, **meta), verify=TLS)
    assert answer.status_code == 409 and "1000 bytes" in answer.text


def test_proxy_needs_its_original_listed_first(crews: Crews, base: Base) -> None:
    proxy = os.urandom(500)
    original = os.urandom(2000)
    meta = {
        "kind": "proxy",
        "sha256": hashlib.sha256(proxy).hexdigest(),
        "original": hashlib.sha256(original).hexdigest(),
    }
    sent = {"Upload-Length": "500", "Upload-Metadata": encode(**meta)}
    refused = httpx.post(crews.url, headers=headers(crews.karim, **sent), verify=TLS)
    assert refused.status_code == 409 and "send the manifest first" in refused.text
    manifest(base, crews.film_id, original)
    made = httpx.post(crews.url, headers=headers(crews.karim, **sent), verify=TLS)
    assert made.status_code == 201
    assert patch(made.headers["Location"], crews.karim, proxy, 0).status_code == 204
    stored = base.derivatives.path(meta["original"], "proxy-360.mp4")
    assert stored.read_bytes() == proxy
    with base.catalog.read() as session:
        asset = session.get(Asset, meta["original"])
        assert asset is not None and not asset.in_vault
        assert session.scalar(select(Arrival.via).where(Arrival.asset_sha256 == asset.sha256)) == (
            "manifest"
        )
    # omar's project has no such original
    other = httpx.post(crews.url, headers=headers(crews.omar, **sent), verify=TLS)
    assert other.status_code == 409
    with base.catalog.read() as session:  # not a video: kept all the same, with no picture
        assert not session.scalars(
            select(Derivative).where(Derivative.asset_sha256 == meta["original"])
            .where(Derivative.kind != "proxy")
        ).all()  # fmt: skip


def test_a_clip_in_the_field_gets_its_poster_from_its_proxy(
    crews: Crews, base: Base, tmp_path: Path
) -> None:
    make_video(tmp_path / "proxy.mp4", seconds=2, size=(320, 180))
    proxy = (tmp_path / "proxy.mp4").read_bytes()
    original = manifest(base, crews.film_id, os.urandom(5000))
    meta = {"kind": "proxy", "sha256": hashlib.sha256(proxy).hexdigest(), "original": original}
    sent = {"Upload-Length": str(len(proxy)), "Upload-Metadata": encode(**meta)}
    made = httpx.post(crews.url, headers=headers(crews.karim, **sent), verify=TLS)
    assert patch(made.headers["Location"], crews.karim, proxy, 0).status_code == 204
    with base.catalog.read() as session:
        rows = session.scalars(select(Derivative).where(Derivative.asset_sha256 == original))
        made_from = {(r.kind, r.details.get("source")) for r in rows}
    assert made_from == {("proxy", "field"), ("poster", "field"), ("strip", "field")}
    poster = base.derivatives.path(original, "poster.webp").read_bytes()
    assert poster[:4] == b"RIFF" and poster[8:12] == b"WEBP"


def test_card_names_in_any_script_or_encoding_arrive_as_their_bytes(
    crews: Crews, base: Base
) -> None:
    """A Persian name with a zero-width non-joiner, a Latin-1 name that is not UTF-8, and a
    name with a newline and a tab in it (which `rushes ingest` takes too)."""
    for raw in ("DCIM/می\u200cخواهم.mp4".encode(), b"DCIM/caf\xe9.mp4", b"DCIM/line\nbreak\t.mp4"):
        data = os.urandom(300)
        meta = {**original_metadata(data), "filename": raw.decode("utf-8", "surrogateescape")}
        sent = {
            "Upload-Length": str(len(data)),
            "Upload-Metadata": ",".join(
                f"{k} {base64.b64encode(v.encode('utf-8', 'surrogateescape')).decode()}"
                for k, v in meta.items()
            ),
        }
        made = httpx.post(crews.url, headers=headers(crews.karim, **sent), verify=TLS)
        assert made.status_code == 201, made.text
        assert patch(made.headers["Location"], crews.karim, data, 0).status_code == 204
        with base.catalog.read() as session:
            arrival = session.scalar(select(Arrival).where(Arrival.asset_sha256 == meta["sha256"]))
            assert arrival is not None and arrival.path_bytes == raw


def test_another_crew_cannot_see_take_write_or_end_an_upload(crews: Crews, base: Base) -> None:
    """Rami (same project) gets 404 for karim's upload, and karim's running PATCH goes on."""
    data = os.urandom(1 << 20)
    url = create(crews, data).headers["Location"]
    halfway, go_on = threading.Event(), threading.Event()

    def body() -> Iterator[bytes]:
        yield data[: len(data) // 2]
        halfway.set()
        assert go_on.wait(30)
        yield data[len(data) // 2 :]

    answers: list[httpx.Response] = []
    sent = {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    writer = threading.Thread(
        target=lambda: answers.append(
            httpx.patch(
                url, content=body(), headers=headers(crews.karim, **sent), timeout=30, verify=TLS
            )
        )
    )
    writer.start()
    assert halfway.wait(30)
    try:
        seen = httpx.head(url, headers=headers(crews.rami), verify=TLS)
        assert seen.status_code == 404 and "Upload-Metadata" not in seen.headers
        assert patch(url, crews.rami, b"x" * len(data), 0).status_code == 404
        assert httpx.delete(url, headers=headers(crews.rami), verify=TLS).status_code == 404
    finally:
        go_on.set()
        writer.join(30)
    assert answers and answers[0].status_code == 204, answers and answers[0].text
    assert answers[0].headers["Upload-Offset"] == str(len(data))
    assert base.vault.local_path(hashlib.sha256(data).hexdigest()).read_bytes() == data
