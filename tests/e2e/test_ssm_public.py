"""AWS's public parameters (/aws/service/...): the names scripts look AMIs up by resolve,
read-only and in every account, to the built-in AMIs, as services/ssm/public.py maps them."""

import json

import pytest

from tests.e2e.ssm_helpers import own_client, refusal

AL = "/aws/service/ami-amazon-linux-latest/"
ECS = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended"


@pytest.fixture(scope="module")
def ssm(server):
    return server.client("ssm")


@pytest.fixture(scope="module")
def amis(server):
    """Built-in AMI name -> its id, as DescribeImages shows them."""
    images = server.client("ec2").describe_images(Owners=["amazon"])["Images"]
    return {image["Name"]: image["ImageId"] for image in images}


def test_amazon_linux_debian_and_ubuntu_names(ssm, amis):
    debian, busybox = amis["cloudlet-debian"], amis["cloudlet-busybox"]
    expected = {
        AL + "al2023-ami-kernel-6.1-x86_64": (debian, "text"),
        AL + "al2023-ami-kernel-default-x86_64": (debian, "text"),
        AL + "al2023-ami-minimal-kernel-default-x86_64": (busybox, "text"),
        AL + "amzn2-ami-hvm-x86_64-gp2": (debian, "text"),
        "/aws/service/debian/release/12/latest/amd64": (debian, "aws:ec2:image"),
        "/aws/service/debian/release/bookworm/latest/amd64": (debian, "aws:ec2:image"),
        "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id": (debian, "aws:ec2:image"),
        "/aws/service/canonical/ubuntu/server/noble/stable/current/amd64/hvm/ebs-gp3/ami-id": (debian, "aws:ec2:image"),
    }
    for name, (value, data_type) in expected.items():
        p = ssm.get_parameter(Name=name)["Parameter"]
        assert (p["Value"], p["DataType"], p["Type"], p["Version"]) == (value, data_type, "String", 1), name
        assert p["ARN"] == f"arn:aws:ssm:us-east-1::parameter{name}" and p["LastModifiedDate"]
    found = ssm.get_parameters(Names=list(expected) + [AL + "al2023-ami-kernel-default-arm64"])
    assert len(found["Parameters"]) == len(expected)
    assert found["InvalidParameters"] == [AL + "al2023-ami-kernel-default-arm64"]  # x86_64 guests only
    by_arn = ssm.get_parameter(Name=f"arn:aws:ssm:us-east-1::parameter{AL}amzn2-ami-hvm-x86_64-gp2")["Parameter"]
    assert by_arn["Value"] == debian
    assert ssm.get_parameter(Name=AL + "amzn2-ami-hvm-x86_64-gp2:1")["Parameter"]["Selector"] == ":1"
    assert refusal(ssm.get_parameter, Name=AL + "amzn2-ami-hvm-x86_64-gp2:2")[0] == "ParameterVersionNotFound"


def test_the_ecs_optimized_metadata(ssm, amis, server):
    metadata = json.loads(ssm.get_parameter(Name=ECS)["Parameter"]["Value"])
    assert metadata["image_id"] == amis["cloudlet-debian"] and metadata["image_name"] == "cloudlet-debian"
    assert {"ecs_agent_version", "ecs_runtime_version", "os", "schema_version", "source_image_name",
            "image_version"} <= set(metadata)
    assert ssm.get_parameter(Name=ECS + "/image_id")["Parameter"]["Value"] == amis["cloudlet-debian"]
    two = ssm.get_parameter(Name="/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id")["Parameter"]
    assert two["Value"] == amis["cloudlet-debian"]
    printed = server.aws("ssm", "get-parameters", "--names", ECS + "/image_id", "--query", "Parameters[0].Value",
                         "--output", "text").stdout.strip()
    assert printed == amis["cloudlet-debian"]


def test_by_path(ssm, amis):
    below = ssm.get_parameters_by_path(Path="/aws/service/ecs/optimized-ami/amazon-linux-2023", Recursive=True)
    assert [p["Name"] for p in below["Parameters"]] == [ECS] + [f"{ECS}/{f}" for f in (
        "image_id", "image_name", "image_version", "source_image_name")]
    one_level = ssm.get_parameters_by_path(Path="/aws/service/ecs/optimized-ami/amazon-linux-2023")["Parameters"]
    assert [p["Name"] for p in one_level] == [ECS]
    names, token = [], None
    while True:
        page = ssm.get_parameters_by_path(Path="/aws/service/ami-amazon-linux-latest",
                                          **({"NextToken": token} if token else {}))
        assert len(page["Parameters"]) <= 10
        names += [p["Name"] for p in page["Parameters"]]
        token = page.get("NextToken")
        if not token:
            break
    assert AL + "al2023-ami-kernel-6.1-x86_64" in names and len(names) == len(set(names)) > 10
    assert all(p.startswith(AL) for p in names)
    # the account's own listing does not hold them
    assert not any(p["Name"].startswith("/aws/") for p in ssm.describe_parameters(MaxResults=50)["Parameters"])


def test_readable_by_every_account_writable_by_none(server, ssm, amis):
    other = own_client(server, "ssm-public-reader")
    name = AL + "al2023-ami-kernel-6.1-x86_64"
    assert other.get_parameter(Name=name)["Parameter"]["Value"] == amis["cloudlet-debian"]
    for client in (ssm, other):
        for call, kw in ((client.put_parameter, dict(Name=name, Value="ami-0123456789abcdef0", Overwrite=True)),
                         (client.put_parameter, dict(Name="/aws/mine", Value="v", Type="String")),
                         (client.put_parameter, dict(Name="awsAnything", Value="v", Type="String")),
                         (client.delete_parameter, dict(Name=name)),
                         (client.delete_parameters, dict(Names=[name])),
                         (client.label_parameter_version, dict(Name=name, Labels=["mine"])),
                         (client.add_tags_to_resource, dict(ResourceType="Parameter", ResourceId=name,
                                                            Tags=[{"Key": "k", "Value": "v"}]))):
            code, message, status = refusal(call, **kw)
            assert (code, status) == ("AccessDeniedException", 400) and "No access to reserved parameter name" \
                in message, (call, kw)
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == amis["cloudlet-debian"]
    assert refusal(ssm.get_parameter, Name="/aws/service/not/a/parameter")[0] == "ParameterNotFound"
    history = ssm.get_parameter_history(Name=name)["Parameters"]
    assert [(h["Version"], h["Value"]) for h in history] == [(1, amis["cloudlet-debian"])]


def test_another_region_resolves_to_its_own_amis(server, ssm):
    west = server.client("ssm", region="us-west-2")
    images = server.client("ec2", region="us-west-2").describe_images(Owners=["amazon"])["Images"]
    debian = next(i["ImageId"] for i in images if i["Name"] == "cloudlet-debian")
    p = west.get_parameter(Name="/aws/service/debian/release/12/latest/amd64")["Parameter"]
    assert p["Value"] == debian and p["ARN"].startswith("arn:aws:ssm:us-west-2::parameter/aws/")
