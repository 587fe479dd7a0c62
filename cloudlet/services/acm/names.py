"""The names of a RequestCertificate, checked as ACM checks them beyond the model's pattern
(which the edge has applied to each: labels of 1-63 letters, digits and hyphens, a leading
"*." wildcard at most, 253 characters in all)."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError

MAX_NAMES = 100
MAX_FIRST = 64  # the DomainName is the certificate's CN, which X.520 bounds at 64 characters


def _check(name: str) -> None:
    if name.rsplit(".", 1)[-1].isdigit():  # an IP address, or a name with a numeric top-level domain
        raise AWSError("InvalidParameterException", f"DomainName {name} is not valid: a certificate's names must "
                       "be fully qualified domain names, not IP addresses.")


def requested_names(request) -> tuple[list[str], dict[str, str]]:
    """(the certificate's names, DomainName first and each once; name -> the ValidationDomain asked for it)."""
    first = request["DomainName"]
    if len(first) > MAX_FIRST:
        raise AWSError("InvalidParameterException", f"DomainName {first} is longer than {MAX_FIRST} characters: "
                       "the first domain name of a certificate cannot exceed 64 octets, including periods.")
    names: dict[str, str] = {}
    for name in [first, *(request.get("SubjectAlternativeNames") or [])]:
        _check(name)
        names.setdefault(name.lower(), name)
    if len(names) > MAX_NAMES:
        raise AWSError("LimitExceededException", f"The certificate would have {len(names)} domain names; a "
                       f"certificate can have at most {MAX_NAMES}.")
    validation_domains = {}
    for option in request.get("DomainValidationOptions") or []:
        name, domain = option["DomainName"], option["ValidationDomain"]
        base = name.lower().removeprefix("*.")
        if name.lower() not in names:
            raise AWSError("InvalidDomainValidationOptionsException", f"DomainValidationOptions names {name}, "
                           "which is not one of the certificate's domain names.")
        if base != domain.lower() and not base.endswith("." + domain.lower()):
            raise AWSError("InvalidDomainValidationOptionsException", f"ValidationDomain {domain} is neither "
                           f"{base} nor a domain above it.")
        validation_domains[names[name.lower()]] = domain
    return list(names.values()), validation_domains
