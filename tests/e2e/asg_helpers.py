"""What the EC2 Auto Scaling e2e tests share: their clients and a launch template (of a
built-in AMI: the groups made from it stay at 0 or do not launch), as fixtures to import."""

import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def asg(server):
    return server.client("autoscaling")


@pytest.fixture(scope="module")
def ec2(server):
    return server.client("ec2")


@pytest.fixture(scope="module")
def template(ec2):
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.create_launch_template(LaunchTemplateName=f"asg-{uuid.uuid4().hex[:8]}", LaunchTemplateData={
        "ImageId": ami, "InstanceType": "t3.nano"})["LaunchTemplate"]


def group(asg, name: str) -> dict:
    return asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]


def refusal(call, **kw) -> tuple[str, str]:
    """The (code, message) a boto3 call fails with (it must fail)."""
    with pytest.raises(ClientError) as err:
        call(**kw)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]
