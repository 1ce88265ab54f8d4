"""tus-js-client (vendored in static/vendor/) in Debian's Chromium uploads to the base's /files/:
a real video in one go, and random bytes stopped half-way and resumed by a new Upload that finds
the first in the browser's storage. Both arrive byte-exact in the vault."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Request

from rushes.base import Base
from tests.clips import make_video
from tests.e2e.conftest import Room
from tests.upload.conftest import enrol
from tests.upload.test_protocol import offset_of

# Resolves with the upload's URL once done, or once `stopAt` bytes are accepted (then aborted).
UPLOAD = """async ({token, metadata, stopAt, resume}) => {
  const file = document.getElementById("card").files[0];
  return await new Promise((resolve, reject) => {
    const upload = new tus.Upload(file, {
      endpoint: "/files/",
      headers: {Authorization: `Bearer ${token}`},
      metadata,
      chunkSize: 512 * 1024,
      retryDelays: [],
      onError: reject,
      onSuccess: () => resolve({url: upload.url, done: true}),
      onChunkComplete: (_chunk, accepted) => {
        if (stopAt && accepted >= stopAt) {
          upload.abort().then(() => resolve({url: upload.url, done: false}), reject);
        }
      },
    });
    if (!resume) {
      upload.start();
      return;
    }
    upload.findPreviousUploads().then((previous) => {
      if (!previous.length) {
        reject(new Error("no previous upload of this file in the browser's storage"));
        return;
      }
      upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    }, reject);
  });
}"""


def pick(page: Page, path: Path) -> None:
    """Put `path` in a file input, as a person choosing it would."""
    page.evaluate(
        """() => document.getElementById("card") || document.body.appendChild(
             Object.assign(document.createElement("input"), {type: "file", id: "card"}))"""
    )
    page.set_input_files("#card", path)


def upload(page: Page, token: str, path: Path, **options: Any) -> dict[str, Any]:
    data = path.read_bytes()
    metadata = {
        "kind": "original",
        "sha256": hashlib.sha256(data).hexdigest(),
        "filename": f"DCIM/100/{path.name}",
    }
    pick(page, path)
    result: dict[str, Any] = page.evaluate(
        UPLOAD, {"token": token, "metadata": metadata, "stopAt": 0, "resume": False, **options}
    )
    return result


def test_tus_js_client_uploads_and_resumes_in_chromium(
    room: Room, server: str, base: Base, tmp_path: Path
) -> None:
    crews = enrol(base, f"{server}/files/")
    video = make_video(tmp_path / "C0001.MP4", seconds=2, size=(320, 240))
    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom((3 << 20) + 4321))
    page = room.window()
    page.goto("/healthz")  # any page of the base's origin: /files/ is then same-origin
    page.add_script_tag(url="/static/vendor/tus.min.js")
    offsets: list[int] = []

    def seen(request: Request) -> None:
        if request.method == "PATCH":
            offsets.append(int(request.headers["upload-offset"]))

    page.on("request", seen)

    sent = upload(page, crews.karim, video)
    assert sent["done"] and sent["url"].startswith(f"{server}/files/")

    first = upload(page, crews.karim, noise, stopAt=1 << 20)
    assert not first["done"]
    stopped_at = offset_of(first["url"], crews.karim)
    assert 1 << 20 <= stopped_at < noise.stat().st_size
    page.reload()  # the tab is closed and opened again: only the browser's storage remains
    page.add_script_tag(url="/static/vendor/tus.min.js")
    offsets.clear()
    again = upload(page, crews.karim, noise, resume=True)
    assert again == {"url": first["url"], "done": True}
    assert offsets[0] == stopped_at  # it went on from where the base had stopped

    for path in (video, noise):
        data = path.read_bytes()
        with base.vault.open(hashlib.sha256(data).hexdigest()) as stored:
            assert stored.read() == data
    room.shot(page, "uploaded")
