"""The base as the field kit sees it: a few JSON endpoints and a tus 1.0 upload server.

Written on the standard library's http.client: a PATCH body is streamed from memory in small
pieces through the rate limiter, with exact control of what is sent when. Two kinds of error:
`Unreachable` (the network, a timeout, a 5xx, 423/429/460: it may work in a moment, so retry)
and `Refused` (a 4xx that will not get better: the item fails and the reason is shown).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from rushes import __version__
from rushes.errors import RushesError
from rushes.field.home import Login
from rushes.field.pacing import TokenBucket
from rushes.i18n import N_, _

TUS = "1.0.0"
TIMEOUT = 60.0  # seconds without a byte moving before a request counts as cut
_PIECE = 64 << 10
_RETRYABLE = {408, 423, 425, 429, 460}  # 460: a chunk's checksum failed in transit
TOKEN_REFUSED = N_(
    "the base says this token is unknown or revoked: make a new one on the base's Settings "
    "page and log in with it (`rushes field login`)"
)


class Unreachable(RushesError):
    """The base could not be reached or could not answer now; try again later."""


class Refused(RushesError):
    """The base answered with a refusal that retrying will not change."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def reason_of(answer: Answer) -> str:
    """A short human reason from a FastAPI detail, a JSON message or a plain-text body."""
    text = answer.body.decode("utf-8", "replace").strip()
    if text.startswith("<"):  # an HTML error page says nothing a terminal can show
        text = ""
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            text = str(data.get("detail") or data.get("error") or data.get("message") or text)
    except ValueError:
        pass
    return text[:300] or http.client.responses.get(answer.status, "refused")


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode('utf-8', 'surrogateescape')).decode()}"
        for key, value in metadata.items()
    )


class Client:
    """One keep-alive connection to the base, opened again after any error."""

    def __init__(self, login: Login, limiter: TokenBucket | None = None) -> None:
        self.login, self.limiter = login, limiter
        parts = urlsplit(login.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RushesError(
                _("{url} is not an http:// or https:// address").format(url=repr(login.url))
            )
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.root = login.url.rstrip("/") + "/"
        self.conn: http.client.HTTPConnection | None = None
        # Built once: it reads the CA bundle, and a link that drops reconnects often.
        self.tls = ssl.create_default_context() if self.scheme == "https" else None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            if self.scheme == "https":
                self.conn = http.client.HTTPSConnection(
                    self.netloc, timeout=TIMEOUT, context=self.tls
                )
            else:
                self.conn = http.client.HTTPConnection(self.netloc, timeout=TIMEOUT)
        return self.conn

    def request(
        self,
        method: str,
        target: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        sent: Callable[[int], None] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Answer:
        """Send one request; `target` is a path under the base URL or an absolute URL."""
        url = urljoin(self.root, target.lstrip("/")) if "://" not in target else target
        parts = urlsplit(url)
        if parts.netloc != self.netloc or parts.scheme != self.scheme:
            raise Refused(0, f"the base pointed at another server ({parts.netloc})")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        all_headers = {
            "Authorization": f"Bearer {self.login.token}",
            "User-Agent": f"rushes-field/{__version__}",
            "Content-Length": str(len(body) if body is not None else 0),
            **(headers or {}),
        }
        payload: bytes | Iterator[bytes] = b""
        if body is not None:
            payload = self._paced(body, sent) if (self.limiter or sent) else body
        try:
            conn = self._connection()
            conn.request(method, path, body=payload, headers=all_headers)
            response = conn.getresponse()
            answer = Answer(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise Unreachable(f"{method} {path}: {exc or type(exc).__name__}") from exc
        if answer.headers.get("connection", "").lower() == "close":
            self.close()
        if answer.status in ok:
            return answer
        if answer.status >= 500 or answer.status in _RETRYABLE:
            raise Unreachable(f"{method} {path}: {answer.status} {reason_of(answer)}")
        if answer.status == 401:  # whatever the base's words, the cure is the same
            raise Refused(401, TOKEN_REFUSED)
        raise Refused(answer.status, reason_of(answer))

    def _paced(self, body: bytes, sent: Callable[[int], None] | None) -> Iterator[bytes]:
        view = memoryview(body)
        piece = _PIECE
        if self.limiter is not None:
            piece = max(1024, min(_PIECE, int(self.limiter.rate / 16)))
        for start in range(0, len(body), piece):
            chunk = view[start : start + piece]
            if self.limiter is not None:
                self.limiter.take(len(chunk))
            yield bytes(chunk)
            if sent:
                sent(len(chunk))

    # The JSON API

    def get_json(self, path: str, **query: str | int) -> Any:
        suffix = f"?{urlencode(query)}" if query else ""
        return self._json(
            self.request("GET", path + suffix, headers={"Accept": "application/json"})
        )

    def post_json(self, path: str, data: Any) -> Any:
        body = json.dumps(data).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        return self._json(self.request("POST", path, headers=headers, body=body))

    @staticmethod
    def _json(answer: Answer) -> Any:
        try:
            return answer.json()
        except ValueError as exc:
            raise Unreachable(f"the base answered with something that is not JSON: {exc}") from exc

    # tus 1.0

    def create(self, length: int, metadata: dict[str, str]) -> str:
        """A new upload; its absolute URL."""
        answer = self.request(
            "POST",
            "files/",
            headers={
                "Tus-Resumable": TUS,
                "Upload-Length": str(length),
                "Upload-Metadata": encode_metadata(metadata),
            },
            ok=(201,),
        )
        location = answer.headers.get("location")
        if not location:
            raise Unreachable("the base created an upload but did not say where")
        return urljoin(self.root + "files/", location)

    def offset(self, url: str) -> int | None:
        """How many bytes of the upload the base holds; None if it no longer knows it."""
        try:
            answer = self.request("HEAD", url, headers={"Tus-Resumable": TUS})
        except Refused as exc:
            if exc.status in (404, 410):
                return None
            raise
        return _offset(answer)

    def patch(
        self, url: str, offset: int, chunk: bytes, sent: Callable[[int], None] | None = None
    ) -> int:
        """Send one chunk with its SHA-256; the new offset the base acknowledged."""
        checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
        answer = self.request(
            "PATCH",
            url,
            headers={
                "Tus-Resumable": TUS,
                "Upload-Offset": str(offset),
                "Upload-Checksum": f"sha256 {checksum}",
                "Content-Type": "application/offset+octet-stream",
            },
            body=chunk,
            sent=sent,
            ok=(204, 200),
        )
        return _offset(answer)


def _offset(answer: Answer) -> int:
    try:
        return int(answer.headers["upload-offset"])
    except (KeyError, ValueError) as exc:
        raise Unreachable("the base's answer lacks a valid Upload-Offset") from exc
