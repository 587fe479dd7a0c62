"""What a target group is: its protocol, port, type and health check, with AWS's defaults for
each protocol and the checks AWS makes of each value."""

from __future__ import annotations

import re
import secrets

from cloudlet.edge.errors import AWSError

from .errors import configuration, invalid, within

PROTOCOLS = ("HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP")
HTTP = ("HTTP", "HTTPS")
TYPES = ("instance", "ip", "alb")
_CODES = re.compile(r"\d{3}(?:-\d{3})?(?:,\d{3}(?:-\d{3})?)*")
_PATH = re.compile(r"/[\x21-\x7e]{0,1023}")
SHOWN = ("HealthCheckProtocol", "HealthCheckPort", "HealthCheckEnabled", "HealthCheckIntervalSeconds",
         "HealthCheckTimeoutSeconds", "HealthyThresholdCount", "UnhealthyThresholdCount", "HealthCheckPath", "Matcher")


def new_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{name}/{secrets.token_hex(8)}"


def basics(request: dict) -> dict:
    """Protocol, Port, VpcId, TargetType and ProtocolVersion of a CreateTargetGroup call."""
    target_type = request.get("TargetType") or "instance"
    if target_type == "lambda":
        raise invalid("Target type 'lambda' is not supported: cloudlet runs no Lambda functions")
    if target_type not in TYPES:
        raise invalid(f"Target type '{target_type}' is not valid")
    protocol = request.get("Protocol")
    if protocol == "GENEVE":
        raise AWSError("UnsupportedProtocol", "Protocol 'GENEVE' is for Gateway Load Balancers, which cloudlet has "
                                              "none of")
    if protocol is None or request.get("Port") is None or not request.get("VpcId"):
        raise invalid("A protocol, a port and a VPC ID must be specified for a target group of type "
                      f"'{target_type}'")
    if protocol not in PROTOCOLS:
        raise invalid(f"Protocol '{protocol}' is not valid")
    within(request["Port"], 1, 65535, "port")
    if target_type == "alb" and protocol != "TCP":
        raise configuration("A target group of type 'alb' must use the TCP protocol")
    version = request.get("ProtocolVersion")
    if version is not None and (protocol not in HTTP or version not in ("HTTP1", "HTTP2", "GRPC")):
        raise invalid(f"Protocol version '{version}' is not valid for protocol '{protocol}'")
    out = {"Protocol": protocol, "Port": request["Port"], "VpcId": request["VpcId"], "TargetType": target_type,
           "IpAddressType": request.get("IpAddressType") or "ipv4"}
    if out["IpAddressType"] != "ipv4":
        raise configuration("Only ipv4 target groups are supported: the VPCs have no IPv6")
    if protocol in HTTP:
        out["ProtocolVersion"] = version or "HTTP1"
    return out


def _defaults(protocol: str, check_protocol: str) -> dict:
    if protocol in HTTP:
        return {"HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5,
                "UnhealthyThresholdCount": 2, "HealthCheckPath": "/", "Matcher": {"HttpCode": "200"}}
    out = {"HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 6 if check_protocol == "HTTP" else 10,
           "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2}
    if check_protocol in HTTP:
        out.update(HealthCheckPath="/", Matcher={"HttpCode": "200-399"})
    return out


def health_check(basic: dict, request: dict, old: dict | None = None) -> dict:
    """The health check fields, from the request over the old ones (or AWS's defaults)."""
    protocol = basic["Protocol"]
    old = old or {}
    check_protocol = request.get("HealthCheckProtocol") or old.get("HealthCheckProtocol") or (
        protocol if protocol in ("HTTP", "HTTPS", "TCP") else "TCP")
    allowed = HTTP if protocol in HTTP else ("TCP", "HTTP", "HTTPS")
    if check_protocol not in allowed:
        raise invalid(f"Health check protocol '{check_protocol}' is not supported for target group protocol "
                      f"'{protocol}'")
    out = {**_defaults(protocol, check_protocol), **{k: old[k] for k in SHOWN if k in old}}
    if check_protocol == "TCP" and protocol not in HTTP:
        out.pop("HealthCheckPath", None)
        out.pop("Matcher", None)
    given = {k: request[k] for k in SHOWN + ("HealthCheckPath",) if request.get(k) is not None}
    if check_protocol == "TCP" and ("HealthCheckPath" in given or "Matcher" in given):
        raise invalid("Health check path and matcher cannot be set for TCP health checks")
    out.update(given, HealthCheckProtocol=check_protocol, HealthCheckEnabled=request.get(
        "HealthCheckEnabled", old.get("HealthCheckEnabled", True)))
    out["HealthCheckPort"] = str(request.get("HealthCheckPort") or old.get("HealthCheckPort") or "traffic-port")
    if out["HealthCheckPort"] != "traffic-port" and not (out["HealthCheckPort"].isdigit() and
                                                         1 <= int(out["HealthCheckPort"]) <= 65535):
        raise invalid(f"Health check port '{out['HealthCheckPort']}' must be 'traffic-port' or from 1 to 65535")
    _check_numbers(out)
    if "HealthCheckPath" in out and not _PATH.fullmatch(out["HealthCheckPath"]):
        raise invalid("Health check path must begin with '/' and be at most 1024 printable characters with no spaces")
    if "Matcher" in out:
        _check_matcher(out["Matcher"], protocol)
    return out


def _check_numbers(out: dict) -> None:
    within(out["HealthCheckIntervalSeconds"], 5, 300, "healthCheckIntervalSeconds")
    within(out["HealthCheckTimeoutSeconds"], 2, 120, "healthCheckTimeoutSeconds")
    within(out["HealthyThresholdCount"], 2, 10, "healthyThresholdCount")
    within(out["UnhealthyThresholdCount"], 2, 10, "unhealthyThresholdCount")
    if out["HealthCheckTimeoutSeconds"] >= out["HealthCheckIntervalSeconds"]:
        raise invalid("Health check timeout must be smaller than the interval")


def _check_matcher(matcher: dict, protocol: str) -> None:
    if matcher.get("GrpcCode") is not None:
        raise invalid("gRPC health check codes are not supported by cloudlet")
    code = matcher.get("HttpCode") or ""
    high = 499 if protocol in HTTP else 599
    if not _CODES.fullmatch(code) or any(not 200 <= int(c) <= high for c in re.findall(r"\d{3}", code)):
        raise invalid(f"Health check matcher HTTP code '{code}' must be a code, a list or a range of codes from 200 "
                      f"to {high}")
