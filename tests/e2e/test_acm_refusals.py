"""What ACM refuses, and what it never gives away: bad imports (expired, mismatched, encrypted
or oversized keys, garbage around the PEM, chains out of order) leave nothing behind; names
ACM would not certify; other accounts' and malformed ARNs; and a private key is never in a
response or, unsealed, in the database."""

import base64
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import dsa, ec

from tests.e2e.ssm_helpers import refusal
from tests.e2e.acm_helpers import cert_pem, key_pem, make_cert, own_acm, rsa_key, tenant_chain

BAD_OPTIONS = "InvalidDomainValidationOptionsException"


@pytest.fixture(scope="module")
def acm(server):
    return own_acm(server, "acm-refusals")


def _import_refused(acm, **kw) -> str:
    before = len(acm.list_certificates(Includes={"keyTypes": ["RSA_2048", "EC_prime256v1"]})["CertificateSummaryList"])
    code, message, status = refusal(acm.import_certificate, **kw)
    assert (code, status) == ("ValidationException", 400), message
    assert len(acm.list_certificates(Includes={"keyTypes": ["RSA_2048", "EC_prime256v1"]})
               ["CertificateSummaryList"]) == before
    return message


def test_bad_imports(acm):
    key, leaf, inter, root = tenant_chain()
    good = dict(Certificate=cert_pem(leaf), PrivateKey=key_pem(key))
    expired = make_cert(key, "old.example.com", days=(-30, -1))
    assert "expired" in _import_refused(acm, **{**good, "Certificate": cert_pem(expired)})
    future = make_cert(key, "new.example.com", days=(2, 30))
    assert "not in effect" in _import_refused(acm, **{**good, "Certificate": cert_pem(future)})
    assert "does not match" in _import_refused(acm, **{**good, "PrivateKey": key_pem(rsa_key())})
    assert "encrypted" in _import_refused(acm, **{**good, "PrivateKey": key_pem(key, b"secret")})
    assert "more than one" in _import_refused(acm, **{**good, "Certificate": cert_pem(leaf) + cert_pem(inter)})
    for garbage in (b"\nrm -rf /\n", b"\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"):
        _import_refused(acm, **{**good, "Certificate": cert_pem(leaf) + garbage})
        _import_refused(acm, **{**good, "PrivateKey": key_pem(key) + garbage})
    _import_refused(acm, **{**good, "Certificate": b"not a certificate"})
    assert "index within the chain of the invalid certificate is: 0" in _import_refused(
        acm, **good, CertificateChain=cert_pem(root) + cert_pem(inter))
    assert "5120" in _import_refused(acm, **{**good, "PrivateKey": key_pem(key) + b"\n" * 4000})
    dsa_key = dsa.generate_private_key(2048)
    assert "not supported" in _import_refused(acm, Certificate=cert_pem(make_cert(dsa_key, "dsa.example.com")),
                                              PrivateKey=key_pem(dsa_key))
    p224 = ec.generate_private_key(ec.SECP224R1())
    assert "not supported" in _import_refused(acm, Certificate=cert_pem(make_cert(p224, "p224.example.com")),
                                              PrivateKey=key_pem(p224))


def test_huge_material_is_refused_without_echoing_the_key(acm):
    key, leaf, _, _ = tenant_chain()
    big_key = key_pem(key) + b"A" * 9000
    code, message, _ = refusal(acm.import_certificate, Certificate=cert_pem(leaf), PrivateKey=big_key)
    assert code == "ValidationException" and "privateKey" in message
    assert "BEGIN" not in message and "AAAA" not in message
    code, message, _ = refusal(acm.import_certificate, Certificate=cert_pem(leaf) * 30, PrivateKey=key_pem(key))
    assert code == "ValidationException" and "32768" in message


@pytest.mark.parametrize("request_kw, code", [
    ({"DomainName": "a" * 60 + ".example.com"}, "InvalidParameterException"),
    ({"DomainName": "10.0.0.10"}, "InvalidParameterException"),
    ({"DomainName": "bad_name.example.com"}, "ValidationException"),
    ({"DomainName": "a.*.example.com"}, "ValidationException"),
    ({"DomainName": "x.example.com\nlocalhost"}, "ValidationException"),
    ({"DomainName": "x.example.com", "SubjectAlternativeNames": [f"n{i}.example.com" for i in range(100)]},
     "LimitExceededException"),
    ({"DomainName": "x.example.com", "KeyAlgorithm": "RSA_4096"}, "InvalidParameterException"),
    ({"DomainName": "x.example.com", "ValidationMethod": "HTTP"}, "InvalidParameterException"),
    ({"DomainName": "x.example.com", "DomainValidationOptions": [
        {"DomainName": "y.example.com", "ValidationDomain": "example.com"}]}, BAD_OPTIONS),
    ({"DomainName": "x.example.com", "DomainValidationOptions": [
        {"DomainName": "x.example.com", "ValidationDomain": "other.com"}]}, BAD_OPTIONS),
    ({"DomainName": "x.example.com", "Tags": [{"Key": "aws:x", "Value": "y"}]}, "InvalidTagException"),
])
def test_requests_refused(server, request_kw, code):
    acm = server.client("acm", validate=False)
    assert refusal(acm.request_certificate, **request_kw)[0] == code


def test_arns_of_others_and_malformed(server, acm):
    mine = acm.request_certificate(DomainName="mine.example.com")["CertificateArn"]
    other = own_acm(server, "acm-other")
    for call, extra in ((other.describe_certificate, {}), (other.get_certificate, {}),
                        (other.delete_certificate, {}), (other.list_tags_for_certificate, {}),
                        (other.add_tags_to_certificate, {"Tags": [{"Key": "k", "Value": "v"}]}),
                        (other.export_certificate, {"Passphrase": b"pass"})):
        code, message, _ = refusal(call, CertificateArn=mine, **extra)
        assert code == "ResourceNotFoundException" and message.startswith(f"Certificate with arn {mine} not found")
    assert other.list_certificates()["CertificateSummaryList"] == []
    assert acm.describe_certificate(CertificateArn=mine)["Certificate"]["Status"] == "ISSUED"
    unknown = mine[:-12] + "000000000000"
    assert refusal(acm.describe_certificate, CertificateArn=unknown)[0] == "ResourceNotFoundException"
    assert refusal(acm.describe_certificate, CertificateArn="not-an-arn-at-all-really")[0] == "ValidationException"
    assert refusal(acm.describe_certificate,
                   CertificateArn=mine.replace("certificate/", "key/"))[0] == "InvalidArnException"


def test_private_keys_stay_sealed(server, acm):
    key, leaf, inter, _ = tenant_chain("sealed.example.com")
    arn = acm.import_certificate(Certificate=cert_pem(leaf), PrivateKey=key_pem(key),
                                 CertificateChain=cert_pem(inter))["CertificateArn"]
    requested = acm.request_certificate(DomainName="sealed2.example.com")["CertificateArn"]
    answers = [acm.describe_certificate(CertificateArn=arn), acm.get_certificate(CertificateArn=arn),
               acm.describe_certificate(CertificateArn=requested), acm.get_certificate(CertificateArn=requested),
               acm.list_certificates()]
    assert not any("PRIVATE KEY" in repr(a) for a in answers)
    body = b"".join(key_pem(key).splitlines()[1:-1])
    stored = b"".join(p.read_bytes() for p in server.data_dir.glob("state.db*"))
    assert body[:64] not in stored and base64.b64decode(body)[:64] not in stored
    assert not re.search(rb"BEGIN (RSA |EC )?PRIVATE KEY", stored)
