"""What the e2e modules of the VPC core API share: a client of an account of theirs (their
VPCs are seen by no other test), and the stock AWS CLI's answers."""

import json

import pytest


def account_client(server, name: str, **kw):
    key, secret = server.new_account(name)
    return server.client("ec2", key=key, secret=secret, **kw)


@pytest.fixture(scope="module", name="ec2")
def shared_ec2(server):
    """A client of the account the VPC core's modules share on a server (each cleans up after
    itself): one default VPC for them all, as the host's VPC pool has a /16 for each."""
    if not hasattr(server, "vpc_core_account"):
        server.vpc_core_account = server.new_account("vpc-core")
    key, secret = server.vpc_core_account
    return server.client("ec2", key=key, secret=secret)


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
