"""C2PA signing identities made by the test, and footage signed as a camera app would sign it.

`Chain` is an ES256 root → intermediate → leaf, the leaf with the `emailProtection` extended
key usage C2PA accepts for signers; the base trusts it when `root` is its trust list. `camera`
signs a clip as ProofMode or a camera maker's app does (`c2pa.created`, digital capture).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rushes.media import credentials
from rushes.media.credentials import Signing
from tests.tsa import key_usage

CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "rushes tests"),
        ]
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
) -> x509.Certificate:
    """`subject`'s certificate, signed by `issuer` (its name and key) or by itself; a name
    ending in "signer" is a leaf, any other a CA."""
    now = datetime.datetime.now(datetime.UTC)
    signer_name, signer_key = issuer or (subject, key)
    leaf = subject.endswith("signer")
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(signer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=not leaf, path_length=None), critical=True)
        .add_extension(key_usage(ca=not leaf), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), False
        )
    )
    if leaf:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
    return builder.sign(signer_key, hashes.SHA256())


@dataclass(frozen=True)
class Chain:
    """Files of one signing identity: `root` (the trust anchor), `cert` (leaf then
    intermediate, as RUSHES_C2PA_CERT wants it) and `key` (the leaf's)."""

    root: Path
    cert: Path
    key: Path

    @classmethod
    def make(cls, folder: Path, who: str) -> Chain:
        folder.mkdir(parents=True, exist_ok=True)
        root_key, middle_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in "abc")
        root = _certificate(f"{who} root", root_key, None)
        middle = _certificate(f"{who} intermediate", middle_key, (f"{who} root", root_key))
        leaf = _certificate(f"{who} signer", leaf_key, (f"{who} intermediate", middle_key))
        pem = serialization.Encoding.PEM
        chain = cls(folder / f"{who}-root.pem", folder / f"{who}-cert.pem", folder / f"{who}.key")
        chain.root.write_bytes(root.public_bytes(pem))
        chain.cert.write_bytes(leaf.public_bytes(pem) + middle.public_bytes(pem))
        chain.key.write_bytes(
            leaf_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return chain


def camera(
    chain: Chain,
    source: Path,
    out: Path,
    media_type: str,
    padding: int = 0,
    app: str = "ProofMode test",
) -> Path:
    """`source` signed into `out` as a capture app (`app`) signs what it films. `padding` adds
    an assertion of that many characters (a huge manifest)."""
    assertions = [
        {
            "label": "c2pa.actions.v2",
            "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": CAPTURE}]},
        }
    ]
    if padding:
        assertions.append({"label": "org.example.padding", "data": {"text": "x" * padding}})
    manifest = {
        "claim_generator_info": [{"name": app, "version": "1.0"}],
        "title": out.name,
        "assertions": assertions,
    }
    credentials.sign(Signing.from_files(chain.cert, chain.key), manifest, media_type, source, out)
    return out
