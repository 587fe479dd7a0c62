"""What CreateListener and ModifyListener check of a listener's own settings (protocol, port,
certificates, SSL policy, ALPN policy), its ARN, its default rule, and the tags given at creation."""

from __future__ import annotations

import secrets

from cloudlet.edge.errors import AWSError
from cloudlet.store import elbv2 as records
from cloudlet.store import certificates

from . import ssl_policies
from .errors import invalid

PROTOCOLS = {"application": ("HTTPS", "HTTP"), "network": ("TLS", "TCP", "TCP_UDP", "UDP")}
SECURE = ("HTTPS", "TLS")
ALPN = ("HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None")
MAX_TAGS = 50


def new_arn(lb_arn: str) -> str:
    """arn:...:listener/app|net/<lb name>/<lb id>/<16 hex>, under its load balancer's ARN."""
    return lb_arn.replace(":loadbalancer/", ":listener/", 1) + "/" + secrets.token_hex(8)


def rule_arn(listener_arn: str) -> str:
    return listener_arn.replace(":listener/", ":listener-rule/", 1) + "/" + secrets.token_hex(8)


def listener_of_rule(rule_arn: str) -> str:
    """The ARN of the listener a rule's ARN is under."""
    return rule_arn.rsplit("/", 1)[0].replace(":listener-rule/", ":listener/", 1)


def save(db, listener: dict) -> None:
    records.put(db, records.LISTENER, listener["ListenerArn"], str(listener["Port"]), listener,
                parent=listener["LoadBalancerArn"])


def protocol_of(lb: dict, protocol: str | None) -> str:
    allowed = PROTOCOLS.get(lb.get("Type"), ())
    if protocol is None:
        raise invalid("A listener protocol must be specified")
    if protocol not in allowed:
        raise invalid(f"Listener protocol '{protocol}' must be one of '{', '.join(allowed)}'")
    return protocol


def port_of(port: int | None) -> int:
    if port is None:
        raise invalid("A listener port must be specified")
    return port


def certificate(db, arn) -> str:
    """The ARN of one of the caller's ACM certificates (the store is scoped to the caller)."""
    if not isinstance(arn, str) or certificates.get(db, arn) is None:
        raise AWSError("CertificateNotFound", f"Certificate '{arn}' not found")
    return arn


def security(db, protocol: str, request: dict, old: dict | None = None) -> dict:
    """Certificates, SslPolicy and AlpnPolicy as the listener shows them; what a ModifyListener
    leaves out stays as it was, unless the new protocol cannot have it."""
    old = old or {}
    keep = old.get("Protocol") in SECURE and protocol in SECURE
    certs, policy = request.get("Certificates"), request.get("SslPolicy")
    alpn = request.get("AlpnPolicy")
    if protocol not in SECURE:
        if certs or policy:
            raise invalid(f"Certificates and an SSL policy cannot be specified for a listener of protocol "
                          f"'{protocol}'")
        if alpn:
            raise AWSError("ALPNPolicyNotSupported", f"ALPN policies are not supported for listeners of protocol "
                                                     f"'{protocol}'")
        return {}
    if certs is None and keep:
        arn = old["Certificates"][0]["CertificateArn"]
    elif not certs:
        raise invalid(f"A certificate must be specified for {protocol} listeners")
    elif len(certs) > 1:
        raise invalid("Only one default certificate can be specified for a listener; add others with "
                      "AddListenerCertificates")
    else:
        arn = certificate(db, certs[0].get("CertificateArn"))
    out = {"Certificates": [{"CertificateArn": arn}],
           "SslPolicy": ssl_policies.check(policy or (old.get("SslPolicy") if keep else None)
                                           or ssl_policies.DEFAULT)}
    if alpn is not None or (keep and old.get("AlpnPolicy")):
        if protocol != "TLS":
            raise AWSError("ALPNPolicyNotSupported", "ALPN policies are supported only for TLS listeners")
        chosen = alpn if alpn is not None else old["AlpnPolicy"]
        if len(chosen) != 1 or chosen[0] not in ALPN:
            raise invalid(f"ALPN policy must be exactly one of '{', '.join(ALPN)}'")
        out["AlpnPolicy"] = list(chosen)
    return out


def refuse_mutual_authentication(request: dict) -> None:
    mode = (request.get("MutualAuthentication") or {}).get("Mode")
    if mode not in (None, "off"):
        raise invalid(f"Mutual authentication mode '{mode}' is not supported: cloudlet has no trust stores")


def tags_given(tags: list[dict] | None) -> list[dict]:
    """The tags of a Create* call as the object keeps them ("_tags", [{Key, Value}])."""
    tags = tags or []
    keys = [t.get("Key") for t in tags]
    for key in keys:
        if keys.count(key) > 1:
            raise AWSError("DuplicateTagKeys", f"Tag key '{key}' was specified more than once")
        if str(key).lower().startswith("aws:"):
            raise invalid("Tag keys starting with 'aws:' are reserved for internal use")
    if len(tags) > MAX_TAGS:
        raise AWSError("TooManyTags", f"The quota of {MAX_TAGS} tags per resource has been reached")
    return [{"Key": t["Key"], **({"Value": t["Value"]} if t.get("Value") is not None else {})} for t in tags]


def save_default_rule(db, listener: dict) -> None:
    """Make or update the listener's default rule: its actions are the listener's DefaultActions."""
    rule = next((r for r in records.objects_of(db, records.RULE, listener["ListenerArn"]) if r["IsDefault"]), None)
    if rule is None:
        rule = {"RuleArn": rule_arn(listener["ListenerArn"]), "Priority": "default", "Conditions": [],
                "IsDefault": True, "_tags": []}
    rule["Actions"] = listener["DefaultActions"]
    records.put(db, records.RULE, rule["RuleArn"], "default", rule, parent=listener["ListenerArn"])
