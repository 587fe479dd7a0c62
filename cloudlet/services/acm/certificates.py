"""A certificate as ACM describes it: the CertificateDetail read off the X.509 certificate
(subject, issuer, serial, validity, algorithms, key usages), the domain validation a
requested certificate went through, what uses it, and the summary ListCertificates gives."""

from __future__ import annotations

import hashlib
import time

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloudlet.store import elbv2

from .pem import key_algorithm

_SHORT = {NameOID.COUNTRY_NAME: "C", NameOID.STATE_OR_PROVINCE_NAME: "ST", NameOID.LOCALITY_NAME: "L",
          NameOID.ORGANIZATION_NAME: "O", NameOID.ORGANIZATIONAL_UNIT_NAME: "OU", NameOID.COMMON_NAME: "CN",
          NameOID.EMAIL_ADDRESS: "EMAILADDRESS", NameOID.SERIAL_NUMBER: "SERIALNUMBER"}
_KEY_USAGES = (("digital_signature", "DIGITAL_SIGNATURE"), ("content_commitment", "NON_REPUDIATION"),
               ("key_encipherment", "KEY_ENCIPHERMENT"), ("data_encipherment", "DATA_ENCIPHERMENT"),
               ("key_agreement", "KEY_AGREEMENT"), ("key_cert_sign", "CERTIFICATE_SIGNING"),
               ("crl_sign", "CRL_SIGNING"))
_EXTENDED = {ExtendedKeyUsageOID.SERVER_AUTH: "TLS_WEB_SERVER_AUTHENTICATION",
             ExtendedKeyUsageOID.CLIENT_AUTH: "TLS_WEB_CLIENT_AUTHENTICATION",
             ExtendedKeyUsageOID.CODE_SIGNING: "CODE_SIGNING", ExtendedKeyUsageOID.EMAIL_PROTECTION: "EMAIL_PROTECTION",
             ExtendedKeyUsageOID.TIME_STAMPING: "TIME_STAMPING", ExtendedKeyUsageOID.OCSP_SIGNING: "OCSP_SIGNING"}
_EMAIL_BOXES = ("admin", "administrator", "hostmaster", "postmaster", "webmaster")


def _name_text(name: x509.Name) -> str:
    """ACM's rendering of a distinguished name: C=US,O=Example,CN=www.example.com (as written)."""
    return ",".join(f"{_SHORT.get(a.oid, a.oid.dotted_string)}={a.value}" for a in name)


def _issuer(name: x509.Name) -> str:
    """The issuing CA's name as ACM shows it: its organization ("Amazon"), else its common name."""
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        found = name.get_attributes_for_oid(oid)
        if found:
            return str(found[0].value)
    return _name_text(name)


def _extension(cert: x509.Certificate, kind):
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _signature(cert: x509.Certificate) -> str:
    """SHA256WITHRSA, SHA384WITHECDSA, ... as ACM names them."""
    digest = cert.signature_hash_algorithm.name.upper() if cert.signature_hash_algorithm else "NONE"
    return f"{digest}WITH{'ECDSA' if 'ecdsa' in cert.signature_algorithm_oid._name.lower() else 'RSA'}"


def detail(arn: str, cert: x509.Certificate) -> dict:
    """The fields of a CertificateDetail that the certificate itself decides."""
    sans = _extension(cert, x509.SubjectAlternativeName)
    names = sans.get_values_for_type(x509.DNSName) if sans else []
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    usage = _extension(cert, x509.KeyUsage)
    extended = _extension(cert, x509.ExtendedKeyUsage)
    return {
        "CertificateArn": arn,
        "DomainName": str(common[0].value) if common else (names[0] if names else ""),
        "SubjectAlternativeNames": names,
        "Serial": ":".join(f"{b:02x}" for b in cert.serial_number.to_bytes(20, "big").lstrip(b"\0") or b"\0"),
        "Subject": _name_text(cert.subject),
        "Issuer": _issuer(cert.issuer),
        "NotBefore": cert.not_valid_before_utc.timestamp(),
        "NotAfter": cert.not_valid_after_utc.timestamp(),
        "KeyAlgorithm": key_algorithm(cert.public_key()),
        "SignatureAlgorithm": _signature(cert),
        "KeyUsages": [{"Name": n} for attr, n in _KEY_USAGES if usage is not None and getattr(usage, attr)],
        "ExtendedKeyUsages": [{"Name": _EXTENDED.get(oid, "CUSTOM"), "OID": oid.dotted_string}
                              for oid in (extended or [])],
    }


def validation(account_id: str, domain: str, method: str, validation_domain: str | None) -> dict:
    """A name's DomainValidation: passed at once (see local_ca), with the record or mailboxes ACM would ask for."""
    base = domain.removeprefix("*.")
    out = {"DomainName": domain, "ValidationDomain": validation_domain or base, "ValidationStatus": "SUCCESS",
           "ValidationMethod": method}
    if method == "DNS":
        # ACM's record is the same for a name and its wildcard, and for the same account every time
        token = hashlib.sha256(f"{account_id}:{base.lower()}".encode()).hexdigest()
        out["ResourceRecord"] = {"Name": f"_{token[:32]}.{base}.", "Type": "CNAME",
                                 "Value": f"_{token[32:]}.acm-validations.aws."}
    else:
        out["ValidationEmails"] = [f"{box}@{validation_domain or base}" for box in _EMAIL_BOXES]
    return out


def in_use_by(db, arn: str) -> list[str]:
    """The load balancers whose listeners serve the certificate."""
    users = {listener.get("LoadBalancerArn") for listener in elbv2.objects_of(db, elbv2.LISTENER)
             if any(c.get("CertificateArn") == arn for c in listener.get("Certificates") or [])}
    return sorted(u for u in users if u)


def shown(db, body: dict) -> dict:
    """The CertificateDetail of a stored body: its public fields, what uses it now, and whether it renews."""
    out = {k: v for k, v in body.items() if not k.startswith("_")}
    out["InUseBy"] = in_use_by(db, body["CertificateArn"])
    if out["Status"] == "ISSUED" and out["NotAfter"] < time.time():
        out["Status"] = "EXPIRED"
    renews = body["Type"] == "AMAZON_ISSUED" and (out["InUseBy"] or body.get("Options", {}).get("Export") == "ENABLED")
    out["RenewalEligibility"] = "ELIGIBLE" if renews else "INELIGIBLE"
    return out


def summary(body: dict, detail_out: dict) -> dict:
    """A CertificateSummary of a body and the CertificateDetail shown() made of it."""
    names = detail_out["SubjectAlternativeNames"]
    out = {"CertificateArn": detail_out["CertificateArn"], "DomainName": detail_out["DomainName"],
           "SubjectAlternativeNameSummaries": names[:100], "HasAdditionalSubjectAlternativeNames": len(names) > 100,
           "Status": detail_out["Status"], "Type": detail_out["Type"], "KeyAlgorithm": detail_out["KeyAlgorithm"],
           "KeyUsages": [u["Name"] for u in detail_out["KeyUsages"]],
           "ExtendedKeyUsages": [u["Name"] for u in detail_out["ExtendedKeyUsages"]],
           "InUse": bool(detail_out["InUseBy"]), "RenewalEligibility": detail_out["RenewalEligibility"],
           "ExportOption": detail_out.get("Options", {}).get("Export", "DISABLED"),
           "Exported": bool(body.get("_exported"))}
    for field in ("NotBefore", "NotAfter", "CreatedAt", "IssuedAt", "ImportedAt"):
        if field in detail_out:
            out[field] = detail_out[field]
    return out
