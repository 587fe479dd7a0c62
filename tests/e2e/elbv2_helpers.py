"""What the ELBv2 listener and rule tests share: an account of the module's own, its default
VPC's subnets, load balancers and target groups made through the API as a tenant makes them,
and an ACM certificate imported the way a tenant imports one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from tests.e2e.acm_helpers import cert_pem, key_pem, make_cert, rsa_key


def refusal(call, **kw) -> tuple[str, str]:
    """(code, message) of a boto3 call that must fail; ELBv2's refusals are all HTTP 400."""
    with pytest.raises(ClientError) as err:
        call(**kw)
    response = err.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return response["Error"]["Code"], response["Error"]["Message"]


@dataclass
class Tenant:
    elbv2: object
    loose: object  # an ELBv2 client that leaves the model's checks to the server
    ec2: object
    acm: object
    vpc_id: str
    subnets: list[str]

    def load_balancer(self, kind: str = "application") -> str:
        name = f"{kind[:3]}-{secrets.token_hex(4)}"
        made = self.elbv2.create_load_balancer(Name=name, Subnets=self.subnets[:2], Type=kind)
        return made["LoadBalancers"][0]["LoadBalancerArn"]

    def target_group(self, protocol: str = "HTTP", port: int = 80, target_type: str = "instance",
                     vpc_id: str | None = None) -> str:
        made = self.elbv2.create_target_group(Name=f"tg-{secrets.token_hex(4)}", Protocol=protocol, Port=port,
                                              VpcId=vpc_id or self.vpc_id, TargetType=target_type)
        return made["TargetGroups"][0]["TargetGroupArn"]

    def certificate(self, name: str = "www.example.com") -> str:
        key = rsa_key()
        return self.acm.import_certificate(Certificate=cert_pem(make_cert(key, name)),
                                           PrivateKey=key_pem(key))["CertificateArn"]


def tenant(server, name: str) -> Tenant:
    """A new account's clients and its default VPC in us-east-1."""
    key, secret = server.new_account(name)
    ec2 = server.client("ec2", key=key, secret=secret)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    def client(service, **kw):
        return server.client(service, key=key, secret=secret, **kw)

    return Tenant(client("elbv2"), client("elbv2", validate=False), ec2, client("acm"), vpc, sorted(subnets))


def forward(group_arn: str) -> list[dict]:
    return [{"Type": "forward", "TargetGroupArn": group_arn}]


def forwarded(group_arn: str) -> dict:
    """A forward to one group as AWS shows it."""
    return {"Type": "forward", "TargetGroupArn": group_arn, "Order": 1,
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": group_arn, "Weight": 1}],
                              "TargetGroupStickinessConfig": {"Enabled": False}}}
