"""What ImportCertificate accepts, checked as ACM checks it: PEM only (nothing around or
between the blocks), one certificate, an unencrypted private key of at most 5,120 bytes that
matches it, an algorithm ACM supports, valid now, an issuer, and a chain in order from the
certificate's signer up. Everything kept is cloudlet's re-encoding of what was parsed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cloudlet.edge.errors import AWSError

MAX_KEY_BYTES = 5120
_RSA_SIZES = (1024, 2048, 3072, 4096)
_CURVES = {"secp256r1": "EC_prime256v1", "secp384r1": "EC_secp384r1", "secp521r1": "EC_secp521r1"}
_BLOCK = r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1-----"
_BLOCKS = re.compile(rf"\s*(?:{_BLOCK}\s*)+")
_ONE_BLOCK = re.compile(_BLOCK)
_KEY_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY")


def invalid(message: str) -> AWSError:
    return AWSError("ValidationException", message)


@dataclass
class Material:
    certificate: x509.Certificate
    chain: list[x509.Certificate]
    key_pem: str  # PKCS#8, unencrypted: only ever stored sealed
    key_algorithm: str

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def chain_pem(self) -> str:
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.chain)


def key_algorithm(public_key) -> str | None:
    """ACM's name for a key's algorithm; None for one ACM does not take."""
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size in _RSA_SIZES:
        return f"RSA_{public_key.key_size}"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return _CURVES.get(public_key.curve.name)
    return None


def _text(blob: bytes, what: str) -> str:
    try:
        text = bytes(blob).decode("ascii")
    except UnicodeDecodeError:
        raise invalid(f"The {what} is not PEM-encoded or is not valid.") from None
    if not _BLOCKS.fullmatch(text):
        raise invalid(f"The {what} is not PEM-encoded or is not valid.")
    return text


def _certificates(text: str, what: str) -> list[x509.Certificate]:
    blocks = list(_ONE_BLOCK.finditer(text))
    if any(b.group(1) != "CERTIFICATE" for b in blocks):
        raise invalid(f"The {what} is not PEM-encoded or is not valid.")
    try:
        return [x509.load_pem_x509_certificate(b.group(0).encode()) for b in blocks]
    except ValueError:
        raise invalid(f"The {what} is not PEM-encoded or is not valid.") from None


def _private_key(blob: bytes):
    if len(blob) > MAX_KEY_BYTES:
        raise invalid(f"The private key length {len(blob)} is larger than the maximum of {MAX_KEY_BYTES} bytes.")
    if b"ENCRYPTED" in bytes(blob):  # PKCS#8's ENCRYPTED PRIVATE KEY, or a Proc-Type header
        raise invalid("The private key is encrypted. You must provide an unencrypted private key.")
    text = _text(blob, "private key")
    labels = [b.group(1) for b in _ONE_BLOCK.finditer(text)]
    keys = [label for label in labels if label in _KEY_LABELS]
    # openssl ecparam -genkey writes the curve's parameters before the key: the one extra block allowed
    if len(keys) != 1 or any(label not in _KEY_LABELS + ("EC PARAMETERS",) for label in labels):
        raise invalid("The private key is not PEM-encoded or is not valid.")
    block = next(b.group(0) for b in _ONE_BLOCK.finditer(text) if b.group(1) in _KEY_LABELS)
    try:
        return serialization.load_pem_private_key(block.encode(), password=None)
    except (ValueError, TypeError, serialization.UnsupportedAlgorithm):
        raise invalid("The private key is not PEM-encoded or is not valid.") from None


def _check_chain(certificate: x509.Certificate, chain: list[x509.Certificate]) -> None:
    for index, signer in enumerate(chain):
        signed = certificate if index == 0 else chain[index - 1]
        try:
            signed.verify_directly_issued_by(signer)
        except (ValueError, TypeError, InvalidSignature):
            raise invalid("Unable to validate certificate chain. The certificate chain must start with the immediate "
                          "signing certificate, followed by any intermediaries in order. The index within the chain "
                          f"of the invalid certificate is: {index}") from None


def parse(certificate: bytes, private_key: bytes, chain: bytes | None) -> Material:
    """The material of an import, or ACM's ValidationException for the first thing wrong with it."""
    certificates = _certificates(_text(certificate, "certificate"), "certificate")
    if len(certificates) > 1:
        raise invalid("The certificate field contains more than one certificate. You can specify only one "
                      "certificate in this field.")
    cert = certificates[0]
    if cert.version != x509.Version.v3:
        raise invalid("The certificate is not an X.509 version 3 certificate.")
    if not cert.issuer.rdns:
        raise invalid("The certificate's Issuer field must not be empty.")
    now = datetime.now(timezone.utc)
    if cert.not_valid_after_utc < now:
        raise invalid("The certificate has expired, is not valid.")
    if cert.not_valid_before_utc > now:
        raise invalid("The certificate is not in effect yet, is not valid.")
    key = _private_key(private_key)
    algorithm = key_algorithm(key.public_key())
    if algorithm is None or key_algorithm(cert.public_key()) is None:
        raise invalid("The private key is not supported.")
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != cert.public_key().public_bytes(*raw):
        raise invalid("The private key does not match the public key in the certificate.")
    chain_certs = _certificates(_text(chain, "certificate chain"), "certificate chain") if chain else []
    _check_chain(cert, chain_certs)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return Material(cert, chain_certs, key_pem, algorithm)
