"""ACM through boto3 and the AWS CLI: certificates requested from cloudlet's local CA (they
verify against it and cover their names), imported ones with their chains and re-imports,
listing filters and pages, tags, what load balancers use, and the bundle the data plane reads."""

import json
import os
import stat
import subprocess
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cloudlet.store import Store, certificates, elbv2
from tests.e2e.ssm_helpers import refusal
from tests.e2e.acm_helpers import cert_pem, ec_key, key_pem, make_cert, own_acm, tenant_chain


@pytest.fixture(scope="module")
def acm(server):
    return own_acm(server, "acm-main")


def _pems(text: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(text.encode())


def test_requested_certificate_verifies_against_the_local_ca(server, acm, tmp_path):
    names = ["*.shop.example.com", "shop.example.com", "api.example.org"]
    arn = acm.request_certificate(DomainName="www.shop.example.com", SubjectAlternativeNames=names,
                                  ValidationMethod="DNS", KeyAlgorithm="EC_prime256v1")["CertificateArn"]
    detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert (detail["Status"], detail["Type"], detail["KeyAlgorithm"]) == ("ISSUED", "AMAZON_ISSUED", "EC_prime256v1")
    assert detail["SubjectAlternativeNames"] == ["www.shop.example.com", *names]
    assert detail["Subject"] == "CN=www.shop.example.com" and detail["Issuer"] == "cloudlet"
    assert detail["NotAfter"] - detail["NotBefore"] == timedelta(days=395)
    assert {v["ValidationStatus"] for v in detail["DomainValidationOptions"]} == {"SUCCESS"}
    wildcard = next(v for v in detail["DomainValidationOptions"] if v["DomainName"] == "*.shop.example.com")
    plain = next(v for v in detail["DomainValidationOptions"] if v["DomainName"] == "shop.example.com")
    assert wildcard["ResourceRecord"] == plain["ResourceRecord"] and wildcard["ValidationDomain"] == "shop.example.com"
    assert {"Name": "TLS_WEB_SERVER_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.1"} in detail["ExtendedKeyUsages"]

    got = acm.get_certificate(CertificateArn=arn)
    ca_file = server.data_dir / "acm" / "ca.pem"
    assert _pems(got["CertificateChain"])[-1] == _pems(ca_file.read_text())[0]
    assert stat.S_IMODE(os.stat(server.data_dir / "acm" / "ca.key").st_mode) == 0o600
    (tmp_path / "leaf.pem").write_text(got["Certificate"])
    proc = subprocess.run(["openssl", "verify", "-CAfile", str(ca_file), "-purpose", "sslserver",
                           str(tmp_path / "leaf.pem")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for host in ("www.shop.example.com", "x.shop.example.com", "api.example.org"):
        assert subprocess.run(["openssl", "x509", "-noout", "-checkhost", host, "-in", str(tmp_path / "leaf.pem")],
                              capture_output=True, text=True).stdout.strip().endswith("does match certificate")
    leaf = _pems(got["Certificate"])[0]
    leaf.verify_directly_issued_by(_pems(ca_file.read_text())[0])


def test_idempotency_token_and_email_validation(acm):
    first = acm.request_certificate(DomainName="mail.example.net", IdempotencyToken="tok1")["CertificateArn"]
    assert acm.request_certificate(DomainName="mail.example.net", IdempotencyToken="tok1")["CertificateArn"] == first
    assert acm.request_certificate(DomainName="mail.example.net", IdempotencyToken="tok2")["CertificateArn"] != first
    arn = acm.request_certificate(DomainName="a.b.example.net", DomainValidationOptions=[
        {"DomainName": "a.b.example.net", "ValidationDomain": "example.net"}])["CertificateArn"]
    option = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"][0]
    assert option["ValidationMethod"] == "EMAIL" and "admin@example.net" in option["ValidationEmails"]


def test_import_with_chain_and_reimport(server, acm):
    key, leaf, inter, root = tenant_chain()
    arn = acm.import_certificate(Certificate=cert_pem(leaf), PrivateKey=key_pem(key),
                                 CertificateChain=cert_pem(inter) + cert_pem(root),
                                 Tags=[{"Key": "team", "Value": "shop"}])["CertificateArn"]
    detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert (detail["Type"], detail["DomainName"], detail["Issuer"]) == ("IMPORTED", "shop.example.com", "Tenant Inc")
    assert detail["Subject"] == "O=Tenant Inc,CN=shop.example.com"
    assert detail["Serial"] == ":".join(f"{b:02x}" for b in leaf.serial_number.to_bytes(20, "big").lstrip(b"\0"))
    assert "DomainValidationOptions" not in detail
    got = acm.get_certificate(CertificateArn=arn)
    assert _pems(got["Certificate"]) == [leaf] and _pems(got["CertificateChain"]) == [inter, root]

    key2, leaf2, inter2, _ = tenant_chain("shop.example.com")
    assert refusal(acm.import_certificate, CertificateArn=arn, Certificate=cert_pem(leaf2), PrivateKey=key_pem(key2),
                   Tags=[{"Key": "x", "Value": "y"}])[0] == "ValidationException"
    assert acm.import_certificate(CertificateArn=arn, Certificate=cert_pem(leaf2), PrivateKey=key_pem(key2),
                                  CertificateChain=cert_pem(inter2))["CertificateArn"] == arn
    assert _pems(acm.get_certificate(CertificateArn=arn)["Certificate"]) == [leaf2]
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [{"Key": "team", "Value": "shop"}]
    requested = acm.request_certificate(DomainName="req.example.com")["CertificateArn"]
    assert refusal(acm.import_certificate, CertificateArn=requested, Certificate=cert_pem(leaf2),
                   PrivateKey=key_pem(key2))[0] == "ValidationException"

    # the data plane's bundle: certificate, chain, then the key that matches it, all of this account's
    with_store = Store(server.data_dir / "state.db")
    try:
        account = acm.describe_certificate(CertificateArn=arn)["Certificate"]["CertificateArn"].split(":")[4]
        with with_store.scoped(account, "us-east-1", write=False) as db:
            bundle = certificates.bundle(db, with_store.sealer, arn)
        with with_store.scoped("000000000000", "us-east-1", write=False) as db:
            assert certificates.bundle(db, with_store.sealer, arn) is None
    finally:
        with_store.close()
    assert _pems(bundle) == [leaf2, inter2]
    bundled_key = serialization.load_pem_private_key(bundle[bundle.index("-----BEGIN PRIVATE KEY"):].encode(), None)
    assert bundled_key.private_numbers() == key2.private_numbers()


def test_listing_filters_and_pages(server):
    acm = own_acm(server, "acm-list")
    made = [acm.request_certificate(DomainName=f"n{i}.example.com")["CertificateArn"] for i in range(3)]
    rsa_arns = set(made)
    ec_arn = acm.request_certificate(DomainName="ec.example.com", KeyAlgorithm="EC_secp384r1")["CertificateArn"]
    listed = acm.list_certificates()["CertificateSummaryList"]
    assert {c["CertificateArn"] for c in listed} == rsa_arns  # RSA_1024 and RSA_2048 unless asked
    every = acm.list_certificates(Includes={"keyTypes": ["RSA_2048", "EC_secp384r1"]})["CertificateSummaryList"]
    assert {c["CertificateArn"] for c in every} == rsa_arns | {ec_arn}
    first = acm.list_certificates(MaxItems=2)
    rest = acm.list_certificates(MaxItems=2, NextToken=first["NextToken"])
    assert len(first["CertificateSummaryList"]) == 2 and "NextToken" not in rest
    assert {c["CertificateArn"] for c in first["CertificateSummaryList"] + rest["CertificateSummaryList"]} == rsa_arns
    assert acm.list_certificates(CertificateStatuses=["EXPIRED"])["CertificateSummaryList"] == []
    newest = acm.list_certificates(SortBy="CREATED_AT", SortOrder="DESCENDING", MaxItems=1)
    assert [c["CertificateArn"] for c in newest["CertificateSummaryList"]] == made[-1:]
    assert refusal(acm.list_certificates, NextToken="garbage")[0] == "InvalidArgsException"
    printed = json.loads(server.aws("acm", "list-certificates", "--endpoint-url", server.endpoint).stdout)
    assert isinstance(printed["CertificateSummaryList"], list)


def test_tags(acm):
    arn = acm.request_certificate(DomainName="tags.example.com")["CertificateArn"]
    acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    acm.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": "a", "Value": "other"}, {"Key": "b"}])
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    assert refusal(acm.add_tags_to_certificate, CertificateArn=arn,
                   Tags=[{"Key": "aws:owner", "Value": "x"}])[0] == "InvalidTagException"
    assert refusal(acm.add_tags_to_certificate, CertificateArn=arn,
                   Tags=[{"Key": "bad<key>", "Value": "x"}])[0] == "ValidationException"
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    assert refusal(acm.add_tags_to_certificate, CertificateArn=arn, Tags=many)[0] == "TooManyTagsException"
    assert len(acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]) == 1  # nothing half-added


def test_a_listener_that_serves_it_keeps_it(server, acm):
    arn = acm.request_certificate(DomainName="lb.example.com")["CertificateArn"]
    account = arn.split(":")[4]
    lb = f"arn:aws:elasticloadbalancing:us-east-1:{account}:loadbalancer/app/web/0123456789abcdef"
    listener = f"arn:aws:elasticloadbalancing:us-east-1:{account}:listener/app/web/0123456789abcdef/fedcba9876543210"
    store = Store(server.data_dir / "state.db")
    try:
        with store.scoped(account, "us-east-1") as db:  # as the ELB API records an HTTPS listener
            elbv2.put(db, elbv2.LISTENER, listener, listener, {
                "ListenerArn": listener, "LoadBalancerArn": lb, "Port": 443, "Protocol": "HTTPS",
                "Certificates": [{"CertificateArn": arn}]}, parent=lb)
        detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        assert detail["InUseBy"] == [lb] and detail["RenewalEligibility"] == "ELIGIBLE"
        code, message, status = refusal(acm.delete_certificate, CertificateArn=arn)
        assert (code, status) == ("ResourceInUseException", 400) and lb in message
        with store.scoped(account, "us-east-1") as db:
            elbv2.delete(db, listener)
    finally:
        store.close()
    acm.delete_certificate(CertificateArn=arn)
    assert refusal(acm.describe_certificate, CertificateArn=arn)[0] == "ResourceNotFoundException"


def test_exportable_certificate_exports_its_key_encrypted(acm):
    arn = acm.request_certificate(DomainName="export.example.com", Options={"Export": "ENABLED"})["CertificateArn"]
    out = acm.export_certificate(CertificateArn=arn, Passphrase=b"correct horse")
    assert out["PrivateKey"].startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    key = serialization.load_pem_private_key(out["PrivateKey"].encode(), b"correct horse")
    assert key.public_key() == _pems(out["Certificate"])[0].public_key()
    summary = next(c for c in acm.list_certificates()["CertificateSummaryList"] if c["CertificateArn"] == arn)
    assert summary["Exported"] is True and summary["ExportOption"] == "ENABLED"
    imported_key = ec_key()
    imported = acm.import_certificate(Certificate=cert_pem(make_cert(imported_key, "ec.example.com")),
                                      PrivateKey=key_pem(imported_key))["CertificateArn"]
    plain = acm.request_certificate(DomainName="plain.example.com")["CertificateArn"]
    for refused in (imported, plain):
        assert refusal(acm.export_certificate, CertificateArn=refused, Passphrase=b"pass")[0] == "ValidationException"
