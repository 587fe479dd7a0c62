"""The default VPC every account and region has: its subnets (one per zone) and default
security group, with filters and AWS's not-found errors."""

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server of this module's own: its VPC pool's /16s go one per account and region, and
    the suite's shared server, with every module's accounts, may have used its pool up."""
    srv = Server(tmp_path_factory.mktemp("default-vpc")).start()
    yield srv
    srv.stop()


def test_default_vpc_subnets_and_group(server):
    ec2 = server.client("ec2", region="eu-west-1")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert len(vpcs) == 1 and vpcs[0]["IsDefault"] and vpcs[0]["State"] == "available"
    vpc = vpcs[0]
    assert ec2.describe_vpcs()["Vpcs"] == vpcs  # the same one on every call
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert [s["AvailabilityZone"] for s in subnets] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert all(s["DefaultForAz"] and s["CidrBlock"].endswith("/20") for s in subnets)
    one = ec2.describe_subnets(SubnetIds=[subnets[1]["SubnetId"]])["Subnets"]
    assert one == [subnets[1]]
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert [g["VpcId"] for g in groups] == [vpc["VpcId"]]
    other = server.client("ec2", region="us-west-2").describe_vpcs()["Vpcs"][0]
    assert other["VpcId"] != vpc["VpcId"] and other["CidrBlock"] != vpc["CidrBlock"]  # one host: no overlap


@pytest.mark.parametrize("call, kw, code", [
    ("describe_vpcs", {"VpcIds": ["vpc-0123456789abcdef0"]}, "InvalidVpcID.NotFound"),
    ("describe_subnets", {"SubnetIds": ["subnet-0123456789abcdef0"]}, "InvalidSubnetID.NotFound"),
    ("describe_security_groups", {"GroupIds": ["sg-0123456789abcdef0"]}, "InvalidGroup.NotFound"),
])
def test_unknown_ids(server, call, kw, code):
    with pytest.raises(ClientError) as err:
        getattr(server.client("ec2"), call)(**kw)
    assert err.value.response["Error"]["Code"] == code
