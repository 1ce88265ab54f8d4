"""C2PA content credentials: read what a camera or app signed into an original, and sign the
copies that leave the base so that they point back to it.

A phone app such as ProofMode or a camera signs its footage with a C2PA manifest: who made it,
with what, when, and what was done to it. Reading it on arrival keeps that proof beside the
original, whose bytes are never touched. A copy the base makes (a proxy, an exported clip)
carries the organisation's own manifest: the original as its `parentOf` ingredient (named, not
embedded: the original's own manifest may hold device details), the original's SHA-256 in an
assertion, then what was done (`c2pa.transcoded`). Both go through
`c2pa-python` (the Content Authenticity Initiative's reference SDK); nothing here parses JUMBF.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from rushes import __version__
from rushes.errors import ConfigError

STORE_LIMIT = 256_000  # characters of manifest JSON kept in the catalog; the rest stays inside
ORIGINAL_LABEL = "org.rushes.original"  # the assertion naming the original by its SHA-256
GENERATOR = {"name": "rushes", "version": __version__}
STATES = ("Trusted", "Valid", "Invalid", "unreadable")  # best first
TEXT_LIMIT = 500  # characters of any one text from a manifest kept in the summary ...
LISTED = 100  # ... and items of any one list


@dataclass(frozen=True)
class Credentials:
    """What an original's C2PA manifest store says, and whether it holds.

    `state` is the SDK's validation state: "Trusted" (valid and signed by a certificate that
    chains to a configured anchor), "Valid" (intact, signer not known), "Invalid" (the bytes or
    the signature do not match), or "unreadable" (a manifest that cannot be parsed).
    """

    state: str
    claim_generator: str | None = None
    signer: str | None = None
    signed_at: str | None = None
    title: str | None = None
    actions: list[str] = field(default_factory=list)
    ingredients: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    store: dict[str, Any] | None = None  # the whole manifest store, unless over STORE_LIMIT

    def summary(self) -> dict[str, Any]:
        """Everything but the store, as the catalog keeps and the custody log records it."""
        return {
            "state": self.state,
            "claim_generator": self.claim_generator,
            "signer": self.signer,
            "signed_at": self.signed_at,
            "title": self.title,
            "actions": self.actions,
            "ingredients": self.ingredients,
            "failures": self.failures,
        }


def read(path: Path, trust_anchors: str | None = None) -> Credentials | None:
    """The manifest store embedded in the file at `path`, or None when it has none (or its
    format cannot carry one). The format is found from the bytes: vault files have no name.
    `trust_anchors` (PEM) are the roots a signer must chain to for "Trusted"."""
    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors}
    try:
        with open(path, "rb") as stream:
            reader = c2pa.Reader.try_create(stream, context=c2pa.Context.from_dict(settings))
            if reader is None:
                return None
            with reader:
                text = reader.json()
    except c2pa.C2paError.NotSupported:
        return None
    except c2pa.C2paError as exc:
        return Credentials(state="unreadable", failures=[_failure("unreadable", str(exc))])
    return _describe(json.loads(text), len(text))


def _describe(store: dict[str, Any], size: int) -> Credentials:
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest") or "") or {}
    signature = active.get("signature_info") or {}
    generators = active.get("claim_generator_info") or []
    generator = active.get("claim_generator") or ", ".join(
        " ".join(str(g[k]) for k in ("name", "version") if g.get(k)) for g in generators
    )
    signer = " / ".join(str(signature[k]) for k in ("issuer", "common_name") if signature.get(k))
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [
        _failure(f.get("code", ""), f.get("explanation", "")) for f in results.get("failure") or []
    ]
    failures += [
        _failure(s.get("code", ""), s.get("explanation", ""))
        for s in store.get("validation_status") or []
        if not results
    ]
    return Credentials(
        state=store.get("validation_state") or ("Invalid" if failures else "Valid"),
        claim_generator=_text(generator),
        signer=_text(signer),
        signed_at=_text(signature.get("time")),
        title=_text(active.get("title")),
        actions=[
            _text(a.get("action")) or "?"
            for assertion in active.get("assertions") or []
            if str(assertion.get("label", "")).startswith("c2pa.actions")
            for a in (assertion.get("data") or {}).get("actions") or []
        ][:LISTED],
        ingredients=[
            {k: _text(i.get(k)) for k in ("title", "format", "relationship") if i.get(k)}
            for i in active.get("ingredients") or []
        ][:LISTED],
        failures=failures[:LISTED],
        store=store if size <= STORE_LIMIT else None,
    )


def _text(value: object) -> str | None:
    """A manifest's text as shown and logged: it is the signer's word, so bounded in length."""
    return str(value)[:TEXT_LIMIT] if value else None


def _failure(code: str, explanation: str) -> dict[str, str]:
    return {"code": str(code)[:TEXT_LIMIT], "explanation": str(explanation)[:TEXT_LIMIT]}


@dataclass(frozen=True)
class Signing:
    """The organisation's signing identity: a PEM chain (its certificate first, then the
    intermediates) and the private key, and optionally a TSA that stamps each signature."""

    chain: str
    key: str
    tsa_url: str | None = None

    @classmethod
    def from_files(cls, cert: Path, key: Path, tsa_url: str = "") -> Signing:
        try:
            chain, pem = cert.read_text("ascii"), key.read_text("ascii")
            private = serialization.load_pem_private_key(pem.encode(), password=None)
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
            raise ConfigError(f"the C2PA signing certificate or key cannot be read: {exc}") from exc
        if _algorithm(private) is None:
            raise ConfigError(
                "the C2PA signing key is of a kind C2PA does not sign with: use an EC key "
                "(P-256, P-384, P-521), Ed25519 or RSA"
            )
        return cls(chain, pem, tsa_url or None)

    @property
    def algorithm(self) -> c2pa.C2paSigningAlg:
        private = serialization.load_pem_private_key(self.key.encode(), password=None)
        return _algorithm(private) or c2pa.C2paSigningAlg.ES256


def _algorithm(key: object) -> c2pa.C2paSigningAlg | None:
    """The C2PA algorithm for a private key (the spec's list: ES256/384/512, PS256, Ed25519)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {
            "secp256r1": c2pa.C2paSigningAlg.ES256,
            "secp384r1": c2pa.C2paSigningAlg.ES384,
            "secp521r1": c2pa.C2paSigningAlg.ES512,
        }.get(key.curve.name)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return c2pa.C2paSigningAlg.ED25519
    if isinstance(key, rsa.RSAPrivateKey):
        return c2pa.C2paSigningAlg.PS256
    return None


def sniff_type(path: Path) -> str:
    """The media type of a file as C2PA names it, from its first bytes (vault files have no
    name to go by); "application/octet-stream" when it is none C2PA signs."""
    with open(path, "rb") as stream:
        head = stream.read(16)
    if head[4:8] == b"ftyp":
        return "image/heic" if head[8:12] in (b"heic", b"heix", b"mif1", b"msf1") else "video/mp4"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    return "application/octet-stream"


def sign_copy(
    signing: Signing,
    copy: Path,
    media_type: str,
    *,
    original: Path,
    original_sha256: str,
    title: str,
    actions: list[dict[str, Any]] | None = None,
    original_label: str | None = None,
) -> None:
    """Sign `copy` (made from `original`) in place. The original is the copy's `parentOf`
    ingredient by name, type and SHA-256 only: its own manifest (signer, device, GPS a camera
    put there) is not carried into a copy that roles without device details may download.
    `actions` follow `c2pa.opened`; the default is one `c2pa.transcoded`. A copy for outside
    eyes names the original by `original_label` instead, and not by its SHA-256 at all (a
    seized card's hash must not lead to the published copy)."""
    named = {"label": ORIGINAL_LABEL, "data": {"sha256": original_sha256}}
    manifest = {
        "claim_generator_info": [GENERATOR],
        "title": title,
        "ingredients": [
            {
                "title": f"original {original_label or original_sha256}",
                "format": sniff_type(original),
                "relationship": "parentOf",
                "label": "original",
            }
        ],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}},
                        *(actions or [{"action": "c2pa.transcoded"}]),
                    ]
                },
            },
            *([] if original_label else [named]),
        ],
    }
    signed = copy.with_name(copy.name + ".signing")
    try:
        sign(signing, manifest, media_type, copy, signed)
        signed.replace(copy)
    finally:
        signed.unlink(missing_ok=True)


def sign(
    signing: Signing, manifest: dict[str, Any], media_type: str, source: Path, out: Path
) -> None:
    """Write `source` to `out` with `manifest` signed into it (no thumbnail, nothing fetched)."""
    context = c2pa.Context.from_dict(
        {
            "builder": {"thumbnail": {"enabled": False}},
            "verify": {"verify_after_sign": False, "remote_manifest_fetch": False},
        }
    )
    info = c2pa.C2paSignerInfo(
        signing.algorithm, signing.chain.encode(), signing.key.encode(), signing.tsa_url
    )
    with (
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(manifest, context=context) as builder,
        open(source, "rb") as stream,
        open(out, "w+b") as written,
    ):
        builder.sign(signer, media_type, stream, written)
