"""Security group rules as AWS takes and shows them, without the store: a request's
IpPermissions (or the legacy top-level CidrIp/IpProtocol/FromPort/ToPort members) checked
and broken into one rule per direction, protocol, port range and peer, and the rules folded
back into the IpPermissions that DescribeSecurityGroups shows.

A stored rule is the SecurityGroupRule of DescribeSecurityGroupRules: IpProtocol "tcp",
"udp", "icmp", "-1" or another protocol number (ICMPv6 is "58"); FromPort/ToPort the port
range (tcp, udp), the ICMP type and code (icmp, 58), -1 and -1 otherwise; and one peer,
CidrIpv4 or ReferencedGroupInfo.
"""

from __future__ import annotations

import ipaddress
import re

from cloudlet.edge.errors import AWSError

MAX_RULES = 60  # inbound, and outbound, per group: AWS's default quota
TEXT = re.compile(r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}")
TEXT_SET = "a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*"
_NAMES = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "-1": "-1", "icmpv6": "58"}
_NUMBERS = {6: "tcp", 17: "udp", 1: "icmp"}
_PORTED = ("tcp", "udp", "icmp", "58")  # the protocols whose rules keep FromPort/ToPort


def protocol(value) -> str:
    """AWS's name for a protocol given by name or number (6 is "tcp"); any other number
    stays a number, ICMPv6 ("icmpv6") too."""
    if value is None or value == "":
        raise AWSError("InvalidParameterValue", "Invalid value 'null' for protocol. VPC security group rules must "
                       "specify protocols explicitly.")
    text = str(value).strip().lower()
    if text in _NAMES:
        return _NAMES[text]
    if re.fullmatch(r"[0-9]{1,3}", text) and int(text) <= 255:
        return _NUMBERS.get(int(text), str(int(text)))
    raise AWSError("InvalidParameterValue", f"Invalid value '{value}' for IP protocol. Unknown protocol.")


def ports(proto: str, low: int | None, high: int | None) -> tuple[int, int]:
    """The FromPort/ToPort a rule of proto keeps; any protocol but tcp, udp and ICMP allows
    every port whatever the request said, as AWS does."""
    if proto in ("tcp", "udp"):
        if low is None or high is None:
            raise AWSError("InvalidParameterValue", "Invalid value 'Must specify both from and to ports with TCP/UDP.' "
                           "for portRange.")
        if low == high == -1:  # the CLI's --port all
            return 0, 65535
        for port in (low, high):
            if not 0 <= port <= 65535:
                raise AWSError("InvalidPermission.Malformed", f"TCP/UDP port ({port}) out of range")
        if low > high:
            raise AWSError("InvalidParameterValue", f"Invalid TCP/UDP port range: the from port ({low}) is greater "
                           f"than the to port ({high}).")
        return low, high
    if proto in ("icmp", "58"):
        if proto == "58" and low is None and high is None:
            return -1, -1
        if low is None or high is None:
            raise AWSError("InvalidParameterValue", "Invalid value 'Must specify both from and to ports with ICMP.' "
                           "for portRange.")
        for what, number in (("type", low), ("code", high)):
            if not -1 <= number <= 255:
                raise AWSError("InvalidPermission.Malformed", f"ICMP {what} ({number}) out of range")
        if low == -1 and high != -1:
            raise AWSError("InvalidParameterValue", f"Invalid ICMP code ({high}): all ICMP types (-1) take all codes "
                           "(-1).")
        return low, high
    return -1, -1


def cidr(value) -> str:
    """An IPv4 CIDR block, with the host bits AWS masks off masked off."""
    text = value if isinstance(value, str) else ""
    try:
        if "/" not in text:
            raise ValueError(text)
        return str(ipaddress.IPv4Network(text, strict=False))
    except ValueError:
        raise AWSError("InvalidParameterValue", f"Value ({value}) for parameter cidrIp is invalid. This is not a valid "
                       "CIDR block.") from None


def description(value: str | None, what: str = "rule") -> str | None:
    if value is not None and not TEXT.fullmatch(value):
        raise AWSError("InvalidParameterValue", f"Invalid {what} description. Valid descriptions are strings less "
                       f"than 256 characters from the following set:  {TEXT_SET}")
    return value


def key(rule: dict) -> tuple:
    """What makes two rules the same rule (a description does not)."""
    peer = rule.get("CidrIpv4") or rule["ReferencedGroupInfo"]["GroupId"]
    return rule["IsEgress"], rule["IpProtocol"], rule["FromPort"], rule["ToPort"], peer


def duplicate(rule: dict) -> AWSError:
    peer = rule.get("CidrIpv4") or rule["ReferencedGroupInfo"]["GroupId"]
    proto, low, high = rule["IpProtocol"], rule["FromPort"], rule["ToPort"]
    if proto == "-1":
        what = "ALL"
    elif proto in ("tcp", "udp"):
        what = f"{proto.upper()}, from port: {low}, to port: {high}"
    elif proto in ("icmp", "58"):
        shown = [("ALL" if n == -1 else n) for n in (low, high)]
        what = f"{'ICMP' if proto == 'icmp' else 'ICMPV6'}, type: {shown[0]}, code: {shown[1]}"
    else:
        what = f"protocol: {proto}"
    return AWSError("InvalidPermission.Duplicate", f'the specified rule "peer: {peer}, {what}, ALLOW" already exists')


def ip_permissions(rules: list[dict], egress: bool) -> list[dict]:
    """The rules of one direction as DescribeSecurityGroups shows them: one IpPermission per
    protocol and port range, its peers in IpRanges and UserIdGroupPairs, in rule order."""
    folded: dict[tuple, dict] = {}
    for rule in rules:
        if rule["IsEgress"] != egress:
            continue
        proto = rule["IpProtocol"]
        permission = folded.get((proto, rule["FromPort"], rule["ToPort"]))
        if permission is None:
            permission = {"IpProtocol": proto, "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                          "UserIdGroupPairs": []}
            if proto in _PORTED:
                permission.update(FromPort=rule["FromPort"], ToPort=rule["ToPort"])
            folded[(proto, rule["FromPort"], rule["ToPort"])] = permission
        described = {"Description": rule["Description"]} if rule.get("Description") is not None else {}
        if "CidrIpv4" in rule:
            permission["IpRanges"].append({"CidrIp": rule["CidrIpv4"], **described})
        else:
            permission["UserIdGroupPairs"].append({**rule["ReferencedGroupInfo"], **described})
    return list(folded.values())


def from_request(request: dict) -> list[dict]:
    """The request's IpPermissions, or the one its legacy top-level members make: a
    SourceSecurityGroupName alone grants the group all of TCP, UDP and ICMP, as on AWS."""
    legacy = {k: request[k] for k in ("CidrIp", "IpProtocol", "FromPort", "ToPort", "SourceSecurityGroupName",
                                      "SourceSecurityGroupOwnerId") if request.get(k) is not None}
    permissions = request.get("IpPermissions")
    if permissions and legacy:
        raise AWSError("MissingParameter", "Missing source specification: include source security group or CIDR "
                       "information")
    if permissions:
        return permissions
    source = legacy.pop("SourceSecurityGroupName", None)
    owner = legacy.pop("SourceSecurityGroupOwnerId", None)
    if source is not None:
        if legacy:
            raise AWSError("InvalidParameterCombination", "The parameter sourceSecurityGroupName cannot be used with "
                           "the parameters cidrIp, ipProtocol, fromPort or toPort; use ipPermissions for a rule of "
                           "one protocol and port range.")
        pair = {"GroupName": source, **({"UserId": owner} if owner else {})}
        return [{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": [pair]},
                {"IpProtocol": "udp", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": [pair]},
                {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "UserIdGroupPairs": [pair]}]
    if owner is not None:
        raise AWSError("MissingParameter", "Source group ID missing.")
    if not legacy:
        raise AWSError("MissingParameter", "The request must contain the parameter ipPermissions")
    permission = {k: legacy.get(k) for k in ("IpProtocol", "FromPort", "ToPort")}
    if "CidrIp" in legacy:
        permission["IpRanges"] = [{"CidrIp": legacy["CidrIp"]}]
    return [permission]
