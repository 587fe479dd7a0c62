"""SNS delivers to https endpoints over TLS it verifies, as AWS does: a certificate from a CA the
host trusts (here one made for the test and given to the server as its SSL_CERT_FILE) for the
name in the URL is delivered to; a self-signed one gets nothing."""

import datetime
import ipaddress
import ssl
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.server import Server
from tests.e2e.sns_helpers import Subscriber, confirmed, verify


def certificate(subject: str, issuer_key=None, issuer_name=None, ca: bool = False,
                names=(x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")))):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return key, builder.sign(issuer_key or key, hashes.SHA256())


def tls_context(tmp, key, cert, chain=()) -> ssl.SSLContext:
    pem = tmp / f"{uuid.uuid4().hex}.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
                    + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, *chain)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    return context


@pytest.fixture(scope="module")
def trusted(tmp_path_factory):
    """(server trusting a test CA; https subscribers with a certificate of that CA, with one of that
    CA for another name, and with a self-signed one)."""
    tmp = tmp_path_factory.mktemp("sns-https")
    ca_key, ca = certificate("cloudlet test CA", ca=True)
    (tmp / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key, leaf = certificate("localhost", ca_key, ca.subject)
    good = Subscriber(tls_context(tmp, key, leaf))
    elsewhere = Subscriber(tls_context(tmp, *certificate("other.example", ca_key, ca.subject,
                                                         names=[x509.DNSName("other.example")])))
    self_signed = Subscriber(tls_context(tmp, *certificate("localhost")))
    server = Server(tmp / "srv")
    server.env = lambda: {**Server.env(server), "SSL_CERT_FILE": str(tmp / "ca.pem")}
    server.start(timeout=90)  # a second server on a busy host
    yield server, good, elsewhere, self_signed
    server.stop()
    for subscriber in (good, elsewhere, self_signed):
        subscriber.close()


def test_https_endpoints(trusted):
    server, good, elsewhere, self_signed = trusted
    sns = server.client("sns")
    arn = sns.create_topic(Name="secure")["TopicArn"]
    sub = confirmed(sns, good, arn, "/tls")
    assert sub.startswith(arn) and good.url("/tls").startswith("https://")
    sns.publish(TopicArn=arn, Message="over TLS")
    note = good.next("/tls").doc
    assert note["Message"] == "over TLS"
    verify(note)
    sns.subscribe(TopicArn=arn, Protocol="https", Endpoint=self_signed.url("/untrusted", host="localhost"))
    sns.subscribe(TopicArn=arn, Protocol="https", Endpoint=elsewhere.url("/wrong-name", host="localhost"))
    self_signed.nothing("/untrusted", 3.0)  # a certificate of no CA the host trusts: nothing is sent
    elsewhere.nothing("/wrong-name", 1.0)  # a certificate for another name: nothing either
    log = server.read_log()
    assert "self-signed certificate" in log and "Hostname mismatch" in log
