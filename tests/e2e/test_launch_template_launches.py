"""RunInstances from EC2 launch templates through boto3 and the AWS CLI: the template's data as
the base, the request's members over it, the aws:ec2launchtemplate:* tags, what is checked
only at launch, GetLaunchTemplateData, and a second account that can neither see nor use the
first's templates. Nothing boots: instances are stopped at once (tests/integration boots one)."""

import base64
import json

import pytest

from tests.e2e.instance_helpers import WAIT, account_fixtures, instance
from tests.e2e.test_launch_templates import refused

account, ec2 = account_fixtures("template-launches")
other_account, other = account_fixtures("template-launches-other", keys="other_account", client="other")
USER_DATA = base64.b64encode(b"#!/bin/sh\necho from-template\n").decode()


@pytest.fixture(scope="module")
def ami(ec2):
    return ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


@pytest.fixture(scope="module")
def web(ec2, ami):
    """A template (two versions) of the account's, with its key pair and security group."""
    ec2.create_key_pair(KeyName="lt-key")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="lt-web", Description="web", VpcId=vpc)["GroupId"]
    made = ec2.create_launch_template(LaunchTemplateName="web", LaunchTemplateData={
        "ImageId": ami, "InstanceType": "t3.small", "KeyName": "lt-key", "UserData": USER_DATA,
        "SecurityGroupIds": [group], "MetadataOptions": {"HttpTokens": "required"},
        "BlockDeviceMappings": [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1, "VolumeType": "gp3"}}],
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "tmpl"},
                                                                    {"Key": "role", "Value": "web"}]},
                              {"ResourceType": "volume", "Tags": [{"Key": "disk", "Value": "web"}]},
                              {"ResourceType": "spot-instances-request", "Tags": [{"Key": "spot", "Value": "x"}]}]})
    tid = made["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=tid, SourceVersion="1",
                                       LaunchTemplateData={"InstanceType": "t3.micro"})
    return {"id": tid, "group": group}


def launched(ec2, **kw) -> dict:
    """RunInstances' answer for one instance, which is then stopped at once: nothing boots."""
    made = ec2.run_instances(MinCount=1, MaxCount=1, **kw)["Instances"][0]
    ec2.stop_instances(InstanceIds=[made["InstanceId"]])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[made["InstanceId"]], WaiterConfig=WAIT)
    return made


def tag_map(body: dict) -> dict:
    return {t["Key"]: t["Value"] for t in body.get("Tags", [])}


def test_an_instance_takes_the_templates_data_and_the_requests_overrides(ec2, web):
    first = launched(ec2, LaunchTemplate={"LaunchTemplateId": web["id"]})  # no Version: $Default, 1
    assert (first["InstanceType"], first["KeyName"]) == ("t3.small", "lt-key")
    assert [g["GroupId"] for g in first["SecurityGroups"]] == [web["group"]]
    assert first["MetadataOptions"]["HttpTokens"] == "required"
    assert tag_map(first) == {"Name": "tmpl", "role": "web", "aws:ec2launchtemplate:id": web["id"],
                              "aws:ec2launchtemplate:version": "1"}
    assert ec2.describe_instance_attribute(InstanceId=first["InstanceId"], Attribute="userData")["UserData"] == \
        {"Value": USER_DATA}
    disks = {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in instance(ec2, first["InstanceId"])["BlockDeviceMappings"]}
    extra = ec2.describe_volumes(VolumeIds=[disks["/dev/sdf"]])["Volumes"][0]
    assert (extra["Size"], extra["VolumeType"], tag_map(extra)) == (1, "gp3", {"disk": "web"})

    second = launched(ec2, LaunchTemplate={"LaunchTemplateName": "web", "Version": "$Latest"}, InstanceType="t3.nano",
                      TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "own"}]}])
    assert (second["InstanceType"], second["KeyName"]) == ("t3.nano", "lt-key")
    shown = instance(ec2, second["InstanceId"])
    assert tag_map(shown) == {"Name": "own", "role": "web", "aws:ec2launchtemplate:id": web["id"],
                              "aws:ec2launchtemplate:version": "2"}
    assert launched(ec2, LaunchTemplate={"LaunchTemplateId": web["id"], "Version": "2"})["InstanceType"] == "t3.micro"
    found = ec2.describe_instances(Filters=[{"Name": "tag:aws:ec2launchtemplate:id", "Values": [web["id"]]}])
    assert len([i for r in found["Reservations"] for i in r["Instances"]]) == 3

    iid = second["InstanceId"]
    for call, kw in ((ec2.create_tags, {"Tags": [{"Key": "aws:ec2launchtemplate:id", "Value": "lt-x"}]}),
                     (ec2.delete_tags, {"Tags": [{"Key": "aws:ec2launchtemplate:version"}]})):
        assert refused(call, Resources=[iid], **kw) == (
            "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use", 400)
    ec2.delete_tags(Resources=[iid])  # every tag of the tenant's; AWS's stay
    assert tag_map(instance(ec2, iid)) == {"aws:ec2launchtemplate:id": web["id"], "aws:ec2launchtemplate:version": "2"}


def test_get_launch_template_data_makes_a_template_like_the_instance(ec2, web):
    iid = launched(ec2, LaunchTemplate={"LaunchTemplateId": web["id"]})["InstanceId"]
    data = ec2.get_launch_template_data(InstanceId=iid)["LaunchTemplateData"]
    assert (data["InstanceType"], data["KeyName"], data["UserData"]) == ("t3.small", "lt-key", USER_DATA)
    assert data["TagSpecifications"] == [{"ResourceType": "instance", "Tags": [
        {"Key": "Name", "Value": "tmpl"}, {"Key": "role", "Value": "web"}]}]  # not AWS's own tags
    assert data["NetworkInterfaces"][0]["Groups"] == [web["group"]] and data["MetadataOptions"]["HttpTokens"] == \
        "required"
    assert [m["DeviceName"] for m in data["BlockDeviceMappings"]] == ["/dev/xvda", "/dev/sdf"]
    copy = ec2.create_launch_template(LaunchTemplateName="copy", LaunchTemplateData=data)["LaunchTemplate"]
    ec2.delete_launch_template(LaunchTemplateId=copy["LaunchTemplateId"])
    assert refused(ec2.get_launch_template_data, InstanceId="i-0123456789abcdef0")[0] == "InvalidInstanceID.NotFound"


def test_what_is_checked_only_at_launch(ec2, ami, web):
    def template(name, data, kind="t3.micro"):
        return ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={
            **({"InstanceType": kind} if kind else {}), **data})["LaunchTemplate"]["LaunchTemplateId"]

    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    made = {  # all accepted when made, as AWS accepts them
        "no-image": template("no-image", {"ImageId": "ami-0123456789abcdef0"}),
        "bad-image": template("bad-image", {"ImageId": "\tami-x"}),
        "no-ami": template("no-ami", {"KeyName": "lt-key"}),
        "bad-data": template("bad-data", {"ImageId": ami, "UserData": "not base64!"}),
        "no-key": template("no-key", {"ImageId": ami, "KeyName": "missing"}),
        "eni": template("eni", {"ImageId": ami, "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": subnet}]}),
        "abis": template("abis", {"ImageId": ami, "InstanceRequirements": {"VCpuCount": {"Min": 1},
                                                                          "MemoryMiB": {"Min": 512}}}, kind=None),
    }
    before = {i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    for name, extra, expected in (
            ("no-image", {}, "InvalidAMIID.NotFound"), ("bad-image", {}, "InvalidAMIID.Malformed"),
            ("no-ami", {}, "MissingParameter"), ("bad-data", {}, "InvalidParameterValue"),
            ("no-key", {}, "InvalidKeyPair.NotFound"), ("eni", {"SubnetId": subnet}, "InvalidParameterCombination"),
            ("abis", {}, "InvalidParameterCombination")):
        got = refused(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateId": made[name]},
                      **extra)
        assert got[0] == expected and got[2] == 400, (name, got)
    assert launched(ec2, LaunchTemplate={"LaunchTemplateName": "abis"}, InstanceType="t3.nano")["InstanceType"] == \
        "t3.nano"  # a type given makes InstanceRequirements moot
    for spec, expected, message in (
            ({"LaunchTemplateId": "lt-0123456789abcdef0"}, "InvalidLaunchTemplateId.NotFound",
             "The specified launch template, with template ID lt-0123456789abcdef0, does not exist."),
            ({"LaunchTemplateName": "nope"}, "InvalidLaunchTemplateName.NotFoundException",
             "The specified launch template, with template name nope, does not exist."),
            ({"LaunchTemplateId": web["id"], "Version": "9"}, "InvalidLaunchTemplateId.VersionNotFound",
             f"Could not find the specified version 9 for the launch template with ID {web['id']}."),
            ({"LaunchTemplateId": "lt-1"}, "InvalidLaunchTemplateId.Malformed",
             "The specified ID for the launch template, lt-1, is malformed."),
            ({"LaunchTemplateId": web["id"], "LaunchTemplateName": "web"}, "InvalidParameterCombination", None),
            ({"Version": "1"}, "MissingParameter", None)):
        got = refused(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate=spec)
        assert got[0] == expected and got[2] == 400 and (message is None or got[1] == message), (spec, got)
    after = {i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    assert len(after - before) == 1  # the one launched; nothing half-made by the refusals
    for template_id in made.values():
        ec2.delete_launch_template(LaunchTemplateId=template_id)


def test_a_second_account_can_neither_see_nor_use_the_templates(ec2, other, web, ami):
    assert [t for t in other.describe_launch_templates()["LaunchTemplates"] if t["LaunchTemplateId"] == web["id"]] == []
    assert other.describe_launch_template_versions(Versions=["$Latest"])["LaunchTemplateVersions"] == []
    for call, kw in ((other.describe_launch_templates, {"LaunchTemplateIds": [web["id"]]}),
                     (other.describe_launch_template_versions, {"LaunchTemplateId": web["id"]}),
                     (other.create_launch_template_version, {"LaunchTemplateId": web["id"],
                                                             "LaunchTemplateData": {"KeyName": "x"}}),
                     (other.modify_launch_template, {"LaunchTemplateId": web["id"], "DefaultVersion": "2"}),
                     (other.delete_launch_template, {"LaunchTemplateId": web["id"]}),
                     (other.run_instances, {"MinCount": 1, "MaxCount": 1, "LaunchTemplate": {
                         "LaunchTemplateId": web["id"]}}),
                     (other.create_tags, {"Resources": [web["id"]], "Tags": [{"Key": "a", "Value": "b"}]})):
        assert refused(call, **kw)[0] == "InvalidLaunchTemplateId.NotFound", call.__name__
    assert refused(other.describe_launch_templates, LaunchTemplateNames=["web"])[0] == \
        "InvalidLaunchTemplateName.NotFoundException"
    deleted = other.delete_launch_template_versions(LaunchTemplateId=web["id"], Versions=["2"])
    assert deleted["UnsuccessfullyDeletedLaunchTemplateVersions"][0]["ResponseError"]["Code"] == \
        "launchTemplateIdDoesNotExist"
    # The name is the account's own; the first account's key pair and group are not reachable from it.
    own = other.create_launch_template(LaunchTemplateName="web", LaunchTemplateData={
        "ImageId": ami, "InstanceType": "t3.micro", "KeyName": "lt-key",
        "SecurityGroupIds": [web["group"]]})["LaunchTemplate"]["LaunchTemplateId"]
    assert refused(other.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateId": own})[0] == \
        "InvalidKeyPair.NotFound"
    other.create_launch_template_version(LaunchTemplateId=own, SourceVersion="1", LaunchTemplateData={"KeyName": ""})
    assert refused(other.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={
        "LaunchTemplateId": own, "Version": "$Latest"})[0] == "InvalidGroup.NotFound"
    assert ec2.describe_launch_template_versions(LaunchTemplateId=web["id"])["LaunchTemplateVersions"][-1][
        "VersionNumber"] == 2  # untouched
    other.delete_launch_template(LaunchTemplateId=own)


def test_the_aws_cli_launches_from_a_template(server, ami):
    data = json.dumps({"ImageId": ami, "InstanceType": "t3.micro"})
    made = json.loads(server.aws("ec2", "create-launch-template", "--launch-template-name", "cli-web",
                                 "--launch-template-data", data).stdout)["LaunchTemplate"]
    ran = json.loads(server.aws("ec2", "run-instances", "--launch-template",
                                "LaunchTemplateName=cli-web,Version=$Latest", "--count", "1").stdout)
    iid = ran["Instances"][0]["InstanceId"]
    try:
        assert ran["Instances"][0]["InstanceType"] == "t3.micro"
        assert {"Key": "aws:ec2launchtemplate:id", "Value": made["LaunchTemplateId"]} in ran["Instances"][0]["Tags"]
    finally:
        server.aws("ec2", "terminate-instances", "--instance-ids", iid)
        server.aws("ec2", "delete-launch-template", "--launch-template-id", made["LaunchTemplateId"])
