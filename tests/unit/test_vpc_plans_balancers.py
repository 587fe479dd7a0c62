"""A network load balancer made without security groups: its interfaces take what comes and
reach their targets, as AWS's do, where any other interface without a group takes nothing."""

from cloudlet.agent.network.router_rules import render
from cloudlet.control.vpc_plans import UNGUARDED, compile_plan
from cloudlet.store import enis
from cloudlet.store.schema import subnets, vpcs

ELB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/"


def test_only_a_network_load_balancer_without_groups_is_open(db):
    db.insert(vpcs, vpc_id="vpc-1", cidr="10.0.0.0/16", is_default=0, security_group_id="sg-1", body="{}")
    db.insert(subnets, subnet_id="subnet-1", vpc_id="vpc-1", zone="us-east-1a", cidr="10.0.1.0/24", default_for_az=0,
              body="{}")
    subnet = db.one(subnets)
    nlb = enis.create_eni(db, subnet, groups=[], requester_managed=True, attached_to=ELB + "net/n/1")
    alb = enis.create_eni(db, subnet, groups=[], requester_managed=True, attached_to=ELB + "app/a/2")
    guarded = enis.create_eni(db, subnet, groups=[{"GroupId": "sg-1", "GroupName": "default"}],
                              requester_managed=True, attached_to=ELB + "net/g/3")
    devices = {nlb["NetworkInterfaceId"]: "pn", alb["NetworkInterfaceId"]: "pa", guarded["NetworkInterfaceId"]: "pg"}
    plan = compile_plan(db.conn, "vpc-1", devices)
    groups = {p.key: p.groups for p in plan.ports}
    assert groups == {nlb["NetworkInterfaceId"]: [UNGUARDED], alb["NetworkInterfaceId"]: [],
                      guarded["NetworkInterfaceId"]: ["sg-1"]}
    script = render(plan)
    address = nlb["PrivateIpAddress"]
    # ingress and egress alike, from and to anywhere, any protocol: for its address alone
    assert f"{address} . 0.0.0.0-255.255.255.255 . 0-255" in script.split("set ingress_any")[1].split("}")[0]
    assert f"{address} . 0.0.0.0-255.255.255.255 . 0-255" in script.split("set egress_any")[1].split("}")[0]
    assert alb["PrivateIpAddress"] not in script.split("set ingress_any")[1].split("}")[0]
