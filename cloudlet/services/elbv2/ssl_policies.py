"""ELB's predefined security policies (DescribeSSLPolicies), as AWS lists them: each policy's
TLS protocols and its ciphers in the order of preference the load balancer offers them. A
listener of protocol HTTPS or TLS names one (ELBSecurityPolicy-2016-08 unless told)."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError

DEFAULT = "ELBSecurityPolicy-2016-08"
TYPES = ["application", "network"]

_TLS13 = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
# The ECDHE suites by key size; AWS lists each size's GCM, then SHA-2 CBC, then SHA-1 CBC suites.
_ECDHE_GCM_128 = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"]
_ECDHE_CBC_128 = ["ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256"]
_ECDHE_SHA1_128 = ["ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA"]
_ECDHE_GCM_256 = ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"]
_ECDHE_CBC_256 = ["ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384"]
_ECDHE_SHA1_256 = ["ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA"]
_RSA_SHA2 = ["AES128-GCM-SHA256", "AES128-SHA256", "AES256-GCM-SHA384", "AES256-SHA256"]
_RSA_ALL = ["AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA", "AES256-GCM-SHA384", "AES256-SHA256", "AES256-SHA"]

_ECDHE_SHA2 = _ECDHE_GCM_128 + _ECDHE_CBC_128 + _ECDHE_GCM_256 + _ECDHE_CBC_256
_ECDHE_ALL = _ECDHE_GCM_128 + _ECDHE_CBC_128 + _ECDHE_SHA1_128 + _ECDHE_GCM_256 + _ECDHE_CBC_256 + _ECDHE_SHA1_256
_ECDHE_GCM = _ECDHE_GCM_128 + _ECDHE_GCM_256
_CLASSIC = _ECDHE_ALL + _RSA_ALL  # what ELBSecurityPolicy-2016-08 offers

_V13, _V12, _V11, _V10 = "TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1"

# name -> (protocols, ciphers)
POLICIES: dict[str, tuple[list[str], list[str]]] = {
    "ELBSecurityPolicy-TLS13-1-2-2021-06": ([_V13, _V12], _TLS13 + _ECDHE_SHA2),
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06": ([_V13, _V12], _TLS13 + _ECDHE_GCM),
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06": ([_V13, _V12], _TLS13 + _ECDHE_SHA2 + _RSA_SHA2),
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06": ([_V13, _V12], _TLS13 + _CLASSIC),
    "ELBSecurityPolicy-TLS13-1-1-2021-06": ([_V13, _V12, _V11], _TLS13 + _CLASSIC),
    "ELBSecurityPolicy-TLS13-1-0-2021-06": ([_V13, _V12, _V11, _V10], _TLS13 + _CLASSIC),
    "ELBSecurityPolicy-TLS13-1-3-2021-06": ([_V13], _TLS13),
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06": ([_V12], _CLASSIC),
    "ELBSecurityPolicy-TLS-1-2-2017-01": ([_V12], _ECDHE_SHA2 + _RSA_SHA2),
    "ELBSecurityPolicy-TLS-1-1-2017-01": ([_V12, _V11], _CLASSIC),
    "ELBSecurityPolicy-FS-1-2-Res-2020-10": ([_V12], _ECDHE_GCM),
    "ELBSecurityPolicy-FS-1-2-Res-2019-08": ([_V12], _ECDHE_SHA2),
    "ELBSecurityPolicy-FS-1-2-2019-08": ([_V12], _ECDHE_ALL),
    "ELBSecurityPolicy-FS-1-1-2019-08": ([_V12, _V11], _ECDHE_ALL),
    "ELBSecurityPolicy-FS-2018-06": ([_V12, _V11, _V10], _ECDHE_ALL),
    "ELBSecurityPolicy-2016-08": ([_V12, _V11, _V10], _CLASSIC),
    "ELBSecurityPolicy-TLS-1-0-2015-04": ([_V12, _V11, _V10], _CLASSIC + ["DES-CBC3-SHA"]),
}


def not_found(name: str) -> AWSError:
    return AWSError("SSLPolicyNotFound", f"One or more SSL policies not found: '{name}'")


def check(name: str) -> str:
    if name not in POLICIES:
        raise not_found(name)
    return name


def shown(name: str) -> dict:
    protocols, ciphers = POLICIES[name]
    return {"SslProtocols": list(protocols), "Name": name, "SupportedLoadBalancerTypes": list(TYPES),
            "Ciphers": [{"Name": c, "Priority": i} for i, c in enumerate(ciphers, 1)]}


def described(names: list[str] | None, lb_type: str | None) -> list[dict]:
    """The policies named (all of them if none), refusing a name that is not one; a load balancer
    type keeps the policies that type supports (every one here supports both)."""
    for name in names or []:
        check(name)
    chosen = names or list(POLICIES)
    if lb_type is not None and lb_type not in TYPES:
        return []
    return [shown(name) for name in dict.fromkeys(chosen)]
