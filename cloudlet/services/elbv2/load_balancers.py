"""Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer, their
attributes, SetSecurityGroups, SetSubnets, SetIpAddressType and DescribeAccountLimits. The
operations record what a load balancer should be, with an interface per subnet; its
controller (control/elb.py) plugs those in, runs its proxy and makes it "active"."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.store import elbv2 as records
from cloudlet.store import enis
from cloudlet.store.schema import subnets

from . import attributes, lb_spec
from .errors import configuration, find, invalid, not_found
from .paging import page
from .tagging import checked_tags

MAX_LOAD_BALANCERS = 50  # AWS's quota per region
LIMITS = {"application-load-balancers": 50, "network-load-balancers": 50, "target-groups": 3000,
          "listeners-per-application-load-balancer": 50, "listeners-per-network-load-balancer": 50,
          "rules-per-application-load-balancer": 100, "targets-per-application-load-balancer": 1000,
          "targets-per-network-load-balancer": 500, "targets-per-availability-zone-per-network-load-balancer": 500,
          "target-groups-per-application-load-balancer": 100, "target-groups-per-action-on-application-load-balancer":
          5, "target-groups-per-action-on-network-load-balancer": 1, "certificates-per-application-load-balancer": 25,
          "certificates-per-network-load-balancer": 25}
_COMPARED = ("Type", "Scheme", "SecurityGroups", "IpAddressType")


def _zones(db, lb: dict) -> list[dict]:
    out = []
    for subnet_id, eni_id in lb["_enis"].items():
        subnet = db.one(subnets, subnets.c.subnet_id == subnet_id)
        eni = enis.find(db, eni_id) if subnet else None
        if eni:
            out.append(lb_spec.zone_of(lb, subnet, eni))
    return sorted(out, key=lambda z: z["ZoneName"])


def _release(db, lb: dict) -> None:
    for eni in enis.attached_to(db, lb["LoadBalancerArn"]):
        enis.release_eni(db, eni["NetworkInterfaceId"])


class LoadBalancers:
    def create_load_balancer(self, ctx, request):
        name, kind = request["Name"], request.get("Type") or "application"
        lb_spec.check_name(name, "The load balancer")
        if kind not in lb_spec.KINDS:
            raise invalid(f"Load balancer type '{kind}' is not supported: cloudlet offers application and network "
                          "load balancers")
        scheme = request.get("Scheme") or "internet-facing"
        if request.get("IpAddressType", "ipv4") != "ipv4":
            raise configuration("The subnets of the load balancer have no IPv6 CIDR block: only ipv4 is supported")
        if request.get("CustomerOwnedIpv4Pool"):
            raise invalid("Customer-owned IPv4 pools are for AWS Outposts, which cloudlet has none of")
        tags = checked_tags(request.get("Tags"))
        with ctx.write() as db:
            rows = lb_spec.subnets_of(db, request, kind)
            vpc_id = rows[0]["vpc_id"]
            groups = lb_spec.groups_of(db, vpc_id, request.get("SecurityGroups"), kind)
            lb_spec.check_scheme(db, vpc_id, scheme)
            wanted = {"Type": kind, "Scheme": scheme, "SecurityGroups": [g["GroupId"] for g in groups],
                      "IpAddressType": "ipv4"}
            same = records.by_name(db, records.LOAD_BALANCER, name)
            if same is not None:
                if any(same.get(k) != wanted[k] for k in _COMPARED) or sorted(same["_enis"]) != sorted(
                        r["subnet_id"] for r in rows):
                    raise AWSError("DuplicateLoadBalancerName",
                                   f"A load balancer with the same name '{name}' exists, but with different settings")
                return {"LoadBalancers": [self._shown(db, same)]}
            if records.count(db, records.LOAD_BALANCER) >= MAX_LOAD_BALANCERS:
                raise AWSError("TooManyLoadBalancers", "The quota of load balancers has been reached")
            arn = lb_spec.new_arn(db.region, db.account_id, kind, name)
            lb = {"LoadBalancerArn": arn, "DNSName": lb_spec.dns_name(arn, scheme, db.region),
                  "CanonicalHostedZoneId": lb_spec.hosted_zone(db.region, kind), "CreatedTime": now(),
                  "LoadBalancerName": name, "VpcId": vpc_id, "State": {"Code": "provisioning"}, **wanted,
                  "_attributes": attributes.defaults(attributes.LOAD_BALANCER[kind]), "_tags": tags, "_enis": {}}
            for row in rows:
                lb["_enis"][row["subnet_id"]] = lb_spec.make_interface(db, lb, row, groups, self.config.public_pool)[
                    "NetworkInterfaceId"]
            records.put(db, records.LOAD_BALANCER, arn, name, lb)
            shown = self._shown(db, lb)
        self.wake_controller()
        return {"LoadBalancers": [shown]}

    @staticmethod
    def _shown(db, lb: dict) -> dict:
        out = records.public(lb)
        out["AvailabilityZones"] = _zones(db, lb)
        if lb["Type"] == "network" and not lb["SecurityGroups"]:
            out.pop("SecurityGroups")  # an NLB made without groups shows none, not an empty list
        return out

    def describe_load_balancers(self, ctx, request):
        arns, names = request.get("LoadBalancerArns"), request.get("Names")
        if arns and names:
            raise invalid("Load balancer ARNs and names cannot be specified at the same time")
        with ctx.read() as db:
            if arns:
                found = [find(db, records.LOAD_BALANCER, arn) for arn in dict.fromkeys(arns)]
            elif names:
                found = [records.by_name(db, records.LOAD_BALANCER, n) for n in dict.fromkeys(names)]
                missing = [n for n, lb in zip(dict.fromkeys(names), found) if lb is None]
                if missing:
                    raise not_found(records.LOAD_BALANCER, f"Load balancers '[{', '.join(missing)}]' not found")
            else:
                found = records.objects_of(db, records.LOAD_BALANCER)
            shown = [self._shown(db, lb) for lb in found]
        return page(shown, lambda lb: [lb["LoadBalancerName"], lb["LoadBalancerArn"]], request, "LoadBalancers")

    def delete_load_balancer(self, ctx, request):
        with ctx.write() as db:
            lb = records.get(db, request["LoadBalancerArn"], records.LOAD_BALANCER)
            if lb is None:
                return {}  # AWS answers a load balancer already gone with success
            if lb["_attributes"].get("deletion_protection.enabled") == "true":
                raise AWSError("OperationNotPermitted", f"Load balancer '{lb['LoadBalancerArn']}' cannot be deleted "
                                                        "because deletion protection is enabled")
            records.delete(db, lb["LoadBalancerArn"])
            _release(db, lb)
        self.wake_controller()
        return {}

    def describe_load_balancer_attributes(self, ctx, request):
        with ctx.read() as db:
            lb = find(db, records.LOAD_BALANCER, request["LoadBalancerArn"])
        return {"Attributes": [{"Key": k, "Value": v} for k, v in lb["_attributes"].items()]}

    def modify_load_balancer_attributes(self, ctx, request):
        with ctx.write() as db:
            lb = find(db, records.LOAD_BALANCER, request["LoadBalancerArn"])
            changed = attributes.changed(attributes.LOAD_BALANCER[lb["Type"]], lb["_attributes"],
                                         request["Attributes"], "Load balancer")
            if changed.get("access_logs.s3.enabled") == "true" or changed.get("connection_logs.s3.enabled") == "true":
                bucket = changed.get("access_logs.s3.bucket") or changed.get("connection_logs.s3.bucket") or ""
                raise configuration(f"Access Denied for bucket: {bucket}. cloudlet has no S3 to write logs to")
            lb["_attributes"] = changed
            records.put(db, records.LOAD_BALANCER, lb["LoadBalancerArn"], lb["LoadBalancerName"], lb)
        self.wake_controller()
        return {"Attributes": [{"Key": k, "Value": v} for k, v in changed.items()]}

    def set_security_groups(self, ctx, request):
        with ctx.write() as db:
            lb = find(db, records.LOAD_BALANCER, request["LoadBalancerArn"])
            if lb["Type"] == "network" and not lb["SecurityGroups"]:
                raise configuration("You cannot set security groups on a Network Load Balancer which was created "
                                    "without any security groups.")
            groups = lb_spec.groups_of(db, lb["VpcId"], request["SecurityGroups"], lb["Type"])
            if not groups:
                raise invalid("At least one security group must be specified")
            lb["SecurityGroups"] = [g["GroupId"] for g in groups]
            for eni in enis.attached_to(db, lb["LoadBalancerArn"]):
                eni["Groups"] = groups
                enis.save(db, eni)
            records.put(db, records.LOAD_BALANCER, lb["LoadBalancerArn"], lb["LoadBalancerName"], lb)
        self.config.network_changed()
        return {"SecurityGroupIds": lb["SecurityGroups"]}

    def set_subnets(self, ctx, request):
        with ctx.write() as db:
            lb = find(db, records.LOAD_BALANCER, request["LoadBalancerArn"])
            rows = lb_spec.subnets_of(db, request, lb["Type"])
            if any(r["vpc_id"] != lb["VpcId"] for r in rows):
                raise configuration("The subnets must be in the load balancer's VPC")
            wanted = {r["subnet_id"]: r for r in rows}
            for subnet_id in set(lb["_enis"]) - set(wanted):
                enis.release_eni(db, lb["_enis"].pop(subnet_id))
            groups = lb_spec.groups_of(db, lb["VpcId"], lb["SecurityGroups"], lb["Type"])
            for subnet_id in set(wanted) - set(lb["_enis"]):
                lb["_enis"][subnet_id] = lb_spec.make_interface(db, lb, wanted[subnet_id], groups,
                                                                self.config.public_pool)["NetworkInterfaceId"]
            records.put(db, records.LOAD_BALANCER, lb["LoadBalancerArn"], lb["LoadBalancerName"], lb)
            zones = _zones(db, lb)
        self.wake_controller()
        return {"AvailabilityZones": zones, "IpAddressType": "ipv4"}

    def set_ip_address_type(self, ctx, request):
        with ctx.read() as db:
            find(db, records.LOAD_BALANCER, request["LoadBalancerArn"])
        if request["IpAddressType"] != "ipv4":
            raise configuration("The load balancer's subnets have no IPv6 CIDR block: only ipv4 is supported")
        return {"IpAddressType": "ipv4"}

    def describe_account_limits(self, ctx, request):
        limits = [{"Name": k, "Max": str(v)} for k, v in LIMITS.items()]
        return page(limits, lambda x: [x["Name"]], request, "Limits")
