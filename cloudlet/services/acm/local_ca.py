"""The certificate authority behind RequestCertificate.

cloudlet cannot prove to a public CA that a tenant owns a domain, and cannot get a
publicly trusted certificate without the internet. So a requested certificate is issued at
once by a CA of this cloudlet's own: made once per data dir, its key in <data-dir>/acm/ca.key
(mode 0600, in the 0700 data dir; it never enters the database or a response) and its
certificate in <data-dir>/acm/ca.pem.

How a client trusts the certificates a load balancer serves: the CA certificate is both
that file and the last certificate of every issued certificate's CertificateChain
(GetCertificate), e.g.

    curl --cacert <data-dir>/acm/ca.pem https://...
    aws acm get-certificate --certificate-arn ARN --query CertificateChain --output text > ca.pem
    cp <data-dir>/acm/ca.pem /usr/local/share/ca-certificates/cloudlet.crt && update-ca-certificates

Leaf certificates are what ACM issues: 395 days (13 months), the request's names in the
subject alternative names (the first also as CN), digital signature and key
encipherment, TLS server and client authentication, signed SHA-256 with RSA.
"""

from __future__ import annotations

import os
import secrets
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LEAF_DAYS = 395
CA_YEARS = 10
_CURVES = {"EC_prime256v1": ec.SECP256R1, "EC_secp384r1": ec.SECP384R1}


def _new_key(algorithm: str):
    if algorithm in _CURVES:
        return ec.generate_private_key(_CURVES[algorithm]())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(algorithm.removeprefix("RSA_")))


def _pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class LocalCA:
    def __init__(self, data_dir: Path):
        self.directory = Path(data_dir) / "acm"
        self.cert_path = self.directory / "ca.pem"
        self.key_path = self.directory / "ca.key"
        self._lock = threading.Lock()
        self._loaded = None

    def _load(self):
        """(key, certificate) of the CA, made the first time any certificate is requested."""
        with self._lock:
            if self._loaded is None:
                if not self.cert_path.exists():
                    self._make()
                key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
                self._loaded = key, x509.load_pem_x509_certificate(self.cert_path.read_bytes())
            return self._loaded

    def _make(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # a name of its own, so that clients trusting two cloudlets can tell their CAs apart
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cloudlet"),
                          x509.NameAttribute(NameOID.COMMON_NAME, f"cloudlet Local CA {secrets.token_hex(4)}")])
        now = datetime.now(timezone.utc).replace(microsecond=0)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=365 * CA_YEARS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        # the key first, and each file whole before its name appears: ca.pem's presence means both are there
        for path, data, mode in ((self.key_path, _pem(key), 0o600),
                                 (self.cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)):
            part = path.with_name(path.name + ".part")
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(part, mode)
            os.replace(part, path)

    def certificate_pem(self) -> str:
        return self._load()[1].public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, names: list[str], algorithm: str) -> tuple[x509.Certificate, str]:
        """A leaf certificate for names (the first is the DomainName) and its key's PEM."""
        ca_key, ca_cert = self._load()
        key = _new_key(algorithm)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        now = datetime.now(timezone.utc).replace(microsecond=0)
        rsa_key = isinstance(key, rsa.RSAPrivateKey)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + timedelta(days=LEAF_DAYS))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=rsa_key, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=False, crl_sign=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        return cert, _pem(key).decode()
