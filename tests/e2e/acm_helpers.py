"""What the ACM tests share: certificates made the way a tenant makes them (a CA of its own
signing a leaf, or a self-signed one), and a client of an account of the test's own."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def own_acm(server, name: str):
    """An ACM client of a new account, whose listings only the test's certificates fill."""
    key, secret = server.new_account(name)
    return server.client("acm", key=key, secret=secret)


def rsa_key(bits: int = 2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ec_key(curve=ec.SECP256R1):
    return ec.generate_private_key(curve())


def key_pem(key, password: bytes | None = None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_cert(key, name: str, issuer_key=None, issuer: x509.Certificate | None = None, ca: bool = False,
              days: tuple[int, int] = (-1, 90)) -> x509.Certificate:
    """A certificate for name: self-signed unless an issuer (key and certificate) signs it."""
    now = datetime.now(timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenant Inc"),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.subject if issuer else subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now + timedelta(days=days[0])).not_valid_after(now + timedelta(days=days[1]))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def tenant_chain(name: str = "shop.example.com"):
    """(leaf key, leaf, intermediate, root): a chain as a commercial CA hands it out."""
    root_key, inter_key, leaf_key = rsa_key(), rsa_key(), rsa_key()
    root = make_cert(root_key, "Tenant Root", ca=True)
    inter = make_cert(inter_key, "Tenant Intermediate", root_key, root, ca=True)
    return leaf_key, make_cert(leaf_key, name, inter_key, inter), inter, root
