"""What a load balancer is made of, checked as AWS checks it: its name, its subnets (one per
zone, one VPC, the caller's), its security groups, its scheme; and the requester-managed
network interfaces it has in each subnet, made and released with it."""

from __future__ import annotations

import json
import re
import secrets

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.store import enis
from cloudlet.store.schema import ec2_vpc_objects, subnets, vpcs

from .errors import configuration, invalid

_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
KINDS = {"application": "app", "network": "net"}
# AWS's hosted zones of its load balancers' DNS names, by region (application, network)
_ZONES = {"us-east-1": ("Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"), "us-east-2": ("Z3AADJGX6KTTL2", "ZLMOA37VPKANP"),
          "us-west-1": ("Z368ELLRRE2KJ0", "Z24FKFUX50B4VW"), "us-west-2": ("Z1H1FL5HABSF5", "Z18D5FSROUN65G"),
          "eu-west-1": ("Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"), "eu-central-1": ("Z215JYRZR1TBD5", "Z3F0SRJ5LGBH90"),
          "ap-northeast-1": ("Z14GRHDCWA56QT", "Z31USIVHYNEOWT"), "ap-southeast-1": ("Z1LMS91P8CMLE5",
                                                                                    "ZKVM4W9LS7TM")}


def check_name(name: str, what: str) -> None:
    """AWS's rule for load balancer and target group names, in AWS's words ("The load balancer
    name 'x' cannot be longer than '32' characters")."""
    name = name or ""
    if len(name) > 32:
        raise invalid(f"{what} name '{name}' cannot be longer than '32' characters")
    if not re.fullmatch(r"[A-Za-z0-9-]+", name):
        raise invalid(f"{what} name '{name}' can only contain characters that are alphanumeric characters or "
                      "hyphens(-)")
    if not _NAME.fullmatch(name):
        raise invalid(f"{what} name '{name}' cannot begin or end with '-'")
    if what == "The load balancer" and name.lower().startswith("internal-"):
        raise invalid(f"{what} name '{name}' cannot begin with 'internal-'")


def new_arn(region: str, account: str, kind: str, name: str) -> str:
    return f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{KINDS[kind]}/{name}/{secrets.token_hex(8)}"


def dns_name(arn: str, scheme: str, region: str) -> str:
    _, _, name, lb_id = arn.rsplit("/", 3)
    return f"{'internal-' if scheme == 'internal' else ''}{name}-{lb_id}.{region}.elb.localhost"


def hosted_zone(region: str, kind: str) -> str:
    return _ZONES.get(region, _ZONES["us-east-1"])[kind == "network"]


def subnets_of(db, request: dict, kind: str) -> list[dict]:
    """The subnet rows a request names (Subnets or SubnetMappings), checked."""
    mappings = request.get("SubnetMappings")
    given = [m.get("SubnetId") for m in mappings] if mappings else list(request.get("Subnets") or [])
    if mappings and request.get("Subnets"):
        raise invalid("You can specify subnets or subnet mappings, not both")
    if any(m.get("AllocationId") or m.get("PrivateIPv4Address") or m.get("IPv6Address") for m in mappings or []):
        raise invalid("Subnet mappings with Elastic IPs or chosen addresses are not supported by cloudlet yet")
    rows = []
    for subnet_id in dict.fromkeys(given):
        row = db.one(subnets, subnets.c.subnet_id == subnet_id) if isinstance(subnet_id, str) else None
        if row is None:
            raise AWSError("SubnetNotFound", f"The subnet ID '{subnet_id}' is not valid")
        rows.append(row)
    if kind == "application" and len({r["zone"] for r in rows}) < 2:
        raise invalid("At least two subnets in two different Availability Zones must be specified")
    if not rows:
        raise invalid("At least one subnet must be specified")
    if len({r["vpc_id"] for r in rows}) > 1:
        raise configuration("The subnets must all be in the same VPC")
    zones = [r["zone"] for r in rows]
    if len(set(zones)) < len(zones):
        raise configuration("A load balancer cannot be attached to multiple subnets in the same Availability Zone")
    return rows


def groups_of(db, vpc_id: str, given: list[str] | None, kind: str) -> list[dict]:
    """[{GroupId, GroupName}] of the groups named (the VPC's default one for an ALB given none)."""
    if not given:
        return enis.default_groups(db, vpc_id) if kind == "application" else []
    vpc = db.one(vpcs, vpcs.c.vpc_id == vpc_id)
    out = []
    for group_id in dict.fromkeys(given):
        if group_id == vpc["security_group_id"]:
            out.append({"GroupId": group_id, "GroupName": "default"})
            continue
        row = db.one(ec2_vpc_objects, ec2_vpc_objects.c.object_id == group_id,
                     ec2_vpc_objects.c.kind == "security-group") if isinstance(group_id, str) else None
        if row is None or row["vpc_id"] != vpc_id:
            raise AWSError("InvalidSecurityGroup", f"The security group '{group_id}' does not exist")
        out.append({"GroupId": group_id, "GroupName": json.loads(row["body"])["GroupName"]})
    if len(out) > 5:
        raise AWSError("TooManySecurityGroups", "A load balancer can have at most 5 security groups")
    return out


def check_scheme(db, vpc_id: str, scheme: str) -> None:
    attached = db.one(ec2_vpc_objects, ec2_vpc_objects.c.kind == "internet-gateway", ec2_vpc_objects.c.vpc_id == vpc_id)
    if scheme == "internet-facing" and attached is None:
        raise AWSError("InvalidSubnet", f"VPC {vpc_id} has no internet gateway")


def make_interface(db, lb: dict, subnet: dict, groups: list[dict], pool: str) -> dict:
    """The load balancer's interface in subnet (its row), as AWS makes one: requester-managed,
    named for it, with a public address when it is internet-facing."""
    kind, name, lb_id = lb["LoadBalancerArn"].rsplit("/", 3)[-3:]
    eni = enis.create_eni(db, subnet, groups=groups, description=f"ELB {kind}/{name}/{lb_id}", requester_managed=True,
                          requester_id="amazon-elb", attached_to=lb["LoadBalancerArn"])
    eni.update(Status="in-use", Attachment={
        "AttachmentId": ids.resource_id("eni-attach"), "AttachTime": now(), "DeleteOnTermination": False,
        "DeviceIndex": 1, "NetworkCardIndex": 0, "InstanceOwnerId": "amazon-elb", "Status": "attached"})
    enis.save(db, eni)
    if lb["Scheme"] == "internet-facing":
        enis.give_launch_ip(db, eni, pool)
    return eni


def zone_of(lb: dict, subnet: dict, eni: dict) -> dict:
    """The AvailabilityZones entry of one subnet (an NLB shows its addresses)."""
    out = {"ZoneName": subnet["zone"], "SubnetId": subnet["subnet_id"], "LoadBalancerAddresses": []}
    if lb["Type"] == "network":
        public = (eni.get("Association") or {}).get("PublicIp")
        out["LoadBalancerAddresses"] = [{"IpAddress": public} if public else
                                        {"PrivateIPv4Address": eni["PrivateIpAddress"]}]
    return out
