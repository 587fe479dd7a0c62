"""The entries of a network ACL: CreateNetworkAclEntry, ReplaceNetworkAclEntry and
DeleteNetworkAclEntry. An entry is one rule number in one direction (Egress), for a protocol
by number (-1: all; names are taken and stored as numbers, as AWS shows them), a CIDR block,
a port range for TCP and UDP, an ICMP type and code for ICMP, and allow or deny. Rule 32767
is the deny below every ACL's rules, which no call can change."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError

from . import vpc_objects as objects
from . import vpcs
from .network_events import wake_network

LAST = 32767
MAX_ENTRIES = 20  # AWS's default quota of rules per direction of an ACL
_NAMES = {"all": "-1", "tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58"}


def _entry(number: int, egress: bool, action: str, protocol: str = "-1", block: str = "0.0.0.0/0") -> dict:
    return {"RuleNumber": number, "Protocol": protocol, "RuleAction": action, "Egress": egress, "CidrBlock": block}


def initial(allow_all: bool) -> list[dict]:
    """A new ACL's entries: the last deny both ways, and for a VPC's default ACL rule 100 allowing all."""
    entries = [_entry(LAST, egress, "deny") for egress in (True, False)]
    if allow_all:
        entries += [_entry(100, egress, "allow") for egress in (True, False)]
    return _sorted(entries)


def _sorted(entries: list[dict]) -> list[dict]:
    return sorted(entries, key=lambda e: (not e["Egress"], e["RuleNumber"]))  # AWS lists egress first


def _number(value: int) -> int:
    if not 1 <= value <= LAST - 1:
        raise AWSError("InvalidParameterValue", f"Value ({value}) for parameter ruleNumber is invalid. "
                       f"Rulenumber must be in range 1..{LAST - 1}")
    return value


def _protocol(value: str) -> str:
    text = _NAMES.get(value.strip().lower(), value.strip())
    if text != "-1" and not (text.isascii() and text.isdigit() and 0 <= int(text) <= 255):
        raise AWSError("InvalidParameterValue", f"Invalid value '{value}' for protocol. Specify a protocol number "
                       "from 0 to 255, or -1 for all protocols.")
    return str(int(text))


def _range(value: int | None, low: int, high: int, what: str) -> int:
    if value is None or not low <= value <= high:
        raise AWSError("InvalidParameterValue", f"Invalid value '{value}' for {what}. It must be from {low} to {high}.")
    return value


def _parsed(request) -> dict:
    """The entry a Create/ReplaceNetworkAclEntry request describes, checked."""
    if request.get("Ipv6CidrBlock"):
        raise AWSError("UnsupportedOperation", "VPCs here are IPv4 only: an entry takes a CidrBlock.")
    if not request.get("CidrBlock"):
        raise AWSError("MissingParameter", "The request must contain the parameter cidrBlock or ipv6CidrBlock")
    protocol = _protocol(request["Protocol"])
    entry = _entry(_number(request["RuleNumber"]), bool(request["Egress"]), request["RuleAction"], protocol,
                   str(objects.cidr(request["CidrBlock"])))
    if protocol in ("6", "17"):
        ports = request.get("PortRange")
        if not ports:
            raise AWSError("MissingParameter", "The request must contain the parameter portRange")
        low = _range(ports.get("From"), 0, 65535, "portRange.from")
        high = _range(ports.get("To"), low, 65535, "portRange.to")
        entry["PortRange"] = {"From": low, "To": high}
    elif protocol == "1":
        icmp = request.get("IcmpTypeCode")
        if not icmp:
            raise AWSError("MissingParameter", "The request must contain the parameter icmpTypeCode")
        entry["IcmpTypeCode"] = {"Type": _range(icmp.get("Type"), -1, 255, "icmpTypeCode.type"),
                                 "Code": _range(icmp.get("Code"), -1, 255, "icmpTypeCode.code")}
    return entry


def _held(acl: dict, number: int, egress: bool) -> dict | None:
    return next((e for e in acl["Entries"] if e["RuleNumber"] == number and e["Egress"] == egress), None)


def _missing(number: int, egress: bool) -> AWSError:
    return AWSError("InvalidNetworkAclEntry.NotFound", f"The network acl entry identified by {number} "
                    f"({'egress' if egress else 'ingress'}) does not exist.")


class AclEntries:
    def _change_entries(self, ctx, request, change) -> dict:
        """Apply change(acl, entries) -> entries to the ACL the request names, saved; the reconciler woken."""
        with vpcs.session(ctx) as db:
            acl = objects.find(db, objects.NETWORK_ACL, request["NetworkAclId"])
            acl["Entries"] = _sorted(change(acl, list(acl["Entries"])))
            objects.save(db, acl["NetworkAclId"], acl)
        wake_network(ctx)
        return {}

    def create_network_acl_entry(self, ctx, request):
        entry = _parsed(request)

        def add(acl, entries):
            if _held(acl, entry["RuleNumber"], entry["Egress"]):
                raise AWSError("NetworkAclEntryAlreadyExists", f"The network acl entry identified by "
                               f"{entry['RuleNumber']} already exists.")
            if sum(e["Egress"] == entry["Egress"] and e["RuleNumber"] != LAST for e in entries) >= MAX_ENTRIES:
                raise AWSError("NetworkAclEntryLimitExceeded", "The maximum number of network acl entries has been "
                               "reached.")
            return entries + [entry]
        return self._change_entries(ctx, request, add)

    def replace_network_acl_entry(self, ctx, request):
        entry = _parsed(request)

        def replace(acl, entries):
            old = _held(acl, entry["RuleNumber"], entry["Egress"])
            if old is None:
                raise _missing(entry["RuleNumber"], entry["Egress"])
            return [entry if e is old else e for e in entries]
        return self._change_entries(ctx, request, replace)

    def delete_network_acl_entry(self, ctx, request):
        number, egress = _number(request["RuleNumber"]), bool(request["Egress"])

        def delete(acl, entries):
            old = _held(acl, number, egress)
            if old is None:
                raise _missing(number, egress)
            return [e for e in entries if e is not old]
        return self._change_entries(ctx, request, delete)
