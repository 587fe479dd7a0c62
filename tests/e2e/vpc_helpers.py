"""What the e2e modules of the VPC core API share: a client of an account of their own (their
VPCs are seen by no other test), and the stock AWS CLI's answers."""

import json

import pytest


def account_client(server, name: str, **kw):
    key, secret = server.new_account(name)
    return server.client("ec2", key=key, secret=secret, **kw)


def account_fixture(name: str):
    """A module's `ec2` fixture: a client of an account of the module's own."""
    @pytest.fixture(scope="module")
    def ec2(server):
        return account_client(server, name)
    return ec2


def cli(server, *args) -> dict:
    """`aws ec2 <args>` under the server's own profile, its JSON answer."""
    out = server.aws("ec2", *args).stdout
    return json.loads(out) if out.strip() else {}


def cli_refusal(server, *args) -> str:
    """What `aws ec2 <args>` says on stderr when AWS refuses it (it must)."""
    proc = server.aws("ec2", *args, check=False)
    assert proc.returncode != 0, (proc.stdout, proc.stderr)
    return proc.stderr


def vpc_with_subnet(ec2, cidr: str = "10.0.0.0/16", subnet: str = "10.0.1.0/24") -> tuple[str, str]:
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    return vpc, ec2.create_subnet(VpcId=vpc, CidrBlock=subnet)["Subnet"]["SubnetId"]


def by_vpc(vpc_id: str) -> list[dict]:
    return [{"Name": "vpc-id", "Values": [vpc_id]}]
