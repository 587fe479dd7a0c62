"""EC2 launch templates through boto3: versions, $Latest and $Default, SourceVersion,
describe filters and paging, the delete rules, ClientToken retries, and AWS's refusals
(test_launch_template_launches.py launches instances from templates)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timezone

import pytest
from botocore.exceptions import ClientError

from tests.e2e.instance_helpers import account_fixtures

account, ec2 = account_fixtures("launch-templates")


def refused(call, **kw) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a call that must fail."""
    with pytest.raises(ClientError) as err:
        call(**kw)
    return (err.value.response["Error"]["Code"], err.value.response["Error"]["Message"],
            err.value.response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.fixture
def template(ec2, request):
    """A new template of one version (ImageId ami-0123456789abcdef0), deleted after the test."""
    name = request.node.name[:100].replace("[", "(").replace("]", ")")
    made = ec2.create_launch_template(LaunchTemplateName=name, VersionDescription="one",
                                      LaunchTemplateData={"ImageId": "ami-0123456789abcdef0"})["LaunchTemplate"]
    yield made
    try:
        ec2.delete_launch_template(LaunchTemplateId=made["LaunchTemplateId"])
    except ClientError:
        pass  # the test deleted it


def data_of(ec2, template_id, version):
    return ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[version])[
        "LaunchTemplateVersions"][0]["LaunchTemplateData"]


def test_versions_latest_default_and_source_version(ec2, template):
    tid, name = template["LaunchTemplateId"], template["LaunchTemplateName"]
    assert tid.startswith("lt-") and len(tid) == 20 and int(tid[3:], 16) >= 0
    assert (template["DefaultVersionNumber"], template["LatestVersionNumber"]) == (1, 1)
    assert template["CreatedBy"].startswith("arn:aws:iam::") and template["CreateTime"].tzinfo
    second = ec2.create_launch_template_version(LaunchTemplateName=name, VersionDescription="two", LaunchTemplateData={
        "InstanceType": "t3.small", "KeyName": "k", "MetadataOptions": {"HttpTokens": "required"},
        "BlockDeviceMappings": [{"DeviceName": "/dev/sdb", "Ebs": {"VolumeSize": 2}}]})["LaunchTemplateVersion"]
    assert (second["VersionNumber"], second["DefaultVersion"], second["VersionDescription"]) == (2, False, "two")
    assert "ImageId" not in second["LaunchTemplateData"]  # without SourceVersion nothing is inherited
    third = ec2.create_launch_template_version(LaunchTemplateId=tid, SourceVersion="2", LaunchTemplateData={
        "InstanceType": "t3.micro", "BlockDeviceMappings": [{"DeviceName": "/dev/sdc", "Ebs": {"VolumeSize": 3}}]})
    assert third["LaunchTemplateVersion"]["LaunchTemplateData"] == {
        "InstanceType": "t3.micro", "KeyName": "k", "MetadataOptions": {"HttpTokens": "required"},
        "BlockDeviceMappings": [{"DeviceName": "/dev/sdc", "Ebs": {"VolumeSize": 3}}]}  # a list given replaces
    from_default = ec2.create_launch_template_version(LaunchTemplateId=tid, SourceVersion="$Default",
                                                      LaunchTemplateData={"KeyName": "other"})
    assert from_default["LaunchTemplateVersion"]["LaunchTemplateData"] == {"ImageId": "ami-0123456789abcdef0",
                                                                         "KeyName": "other"}
    assert data_of(ec2, tid, "$Latest") == from_default["LaunchTemplateVersion"]["LaunchTemplateData"]
    assert data_of(ec2, tid, "$Default") == {"ImageId": "ami-0123456789abcdef0"}
    shown = ec2.describe_launch_templates(LaunchTemplateIds=[tid])["LaunchTemplates"][0]
    assert (shown["DefaultVersionNumber"], shown["LatestVersionNumber"]) == (1, 4)

    assert ec2.modify_launch_template(LaunchTemplateId=tid, DefaultVersion="3")["LaunchTemplate"][
        "DefaultVersionNumber"] == 3
    assert data_of(ec2, tid, "$Default")["InstanceType"] == "t3.micro"
    every = ec2.describe_launch_template_versions(LaunchTemplateName=name)["LaunchTemplateVersions"]
    assert [(v["VersionNumber"], v["DefaultVersion"]) for v in every] == [(1, False), (2, False), (3, True), (4, False)]
    picked = ec2.describe_launch_template_versions(LaunchTemplateId=tid, Versions=["$Latest", "1", "$Default"])
    assert [v["VersionNumber"] for v in picked["LaunchTemplateVersions"]] == [1, 3, 4]
    ranged = ec2.describe_launch_template_versions(LaunchTemplateId=tid, MinVersion="2", MaxVersion="3")
    assert [v["VersionNumber"] for v in ranged["LaunchTemplateVersions"]] == [2, 3]
    everywhere = ec2.describe_launch_template_versions(Versions=["$Latest", "$Default"])["LaunchTemplateVersions"]
    assert sorted(v["VersionNumber"] for v in everywhere if v["LaunchTemplateId"] == tid) == [3, 4]
    by_filter = ec2.describe_launch_template_versions(LaunchTemplateId=tid, Filters=[
        {"Name": "instance-type", "Values": ["t3.*"]}, {"Name": "is-default-version", "Values": ["false"]}])
    assert [v["VersionNumber"] for v in by_filter["LaunchTemplateVersions"]] == [2]


def test_describe_filters_tags_and_paging(ec2):
    made = [ec2.create_launch_template(LaunchTemplateName=f"page-{n}", LaunchTemplateData={"InstanceType": "t3.nano"},
                                       TagSpecifications=[{"ResourceType": "launch-template", "Tags": [
                                           {"Key": "tier", "Value": "web" if n % 2 else "db"}]}])["LaunchTemplate"]
            for n in range(5)]
    assert made[1]["Tags"] == [{"Key": "tier", "Value": "web"}]
    ids = [t["LaunchTemplateId"] for t in made]
    try:
        def names(**kw):
            return sorted(t["LaunchTemplateName"] for t in ec2.describe_launch_templates(**kw)["LaunchTemplates"])

        assert names(Filters=[{"Name": "tag:tier", "Values": ["web"]}]) == ["page-1", "page-3"]
        assert names(Filters=[{"Name": "tag-key", "Values": ["tier"]},
                              {"Name": "launch-template-name", "Values": ["page-[0-2]", "page-?"]}]) == \
            [f"page-{n}" for n in range(5)]
        assert names(Filters=[{"Name": "launch-template-name", "Values": ["page-4"]}]) == ["page-4"]
        created = made[0]["CreateTime"].astimezone(timezone.utc)
        assert "page-0" in names(Filters=[{"Name": "create-time", "Values": [created.strftime("%Y-%m-%dT%H:*Z")]}])
        assert names(LaunchTemplateNames=["page-0", "page-2"]) == ["page-0", "page-2"]
        assert names(LaunchTemplateIds=ids[3:]) == ["page-3", "page-4"]
        seen, token = [], None
        while True:
            page = ec2.describe_launch_templates(MaxResults=2, Filters=[{"Name": "tag-key", "Values": ["tier"]}],
                                                 **({"NextToken": token} if token else {}))
            assert len(page["LaunchTemplates"]) <= 2
            seen += [t["LaunchTemplateId"] for t in page["LaunchTemplates"]]
            token = page.get("NextToken")
            if not token:
                break
        assert sorted(seen) == sorted(ids)
        for n in range(3):
            ec2.create_launch_template_version(LaunchTemplateId=ids[0], LaunchTemplateData={"KeyName": f"k{n}"})
        first = ec2.describe_launch_template_versions(LaunchTemplateId=ids[0], MaxResults=3)
        rest = ec2.describe_launch_template_versions(LaunchTemplateId=ids[0], MaxResults=3,
                                                     NextToken=first["NextToken"])
        assert [v["VersionNumber"] for v in first["LaunchTemplateVersions"] + rest["LaunchTemplateVersions"]] == \
            [1, 2, 3, 4] and "NextToken" not in rest
        assert refused(ec2.describe_launch_templates, Filters=[{"Name": "image-id", "Values": ["x"]}])[:2] == \
            ("InvalidParameterValue", "The filter 'image-id' is invalid")
        assert refused(ec2.describe_launch_templates, NextToken="garbage")[0] == "InvalidNextToken"
    finally:
        for template_id in ids:
            ec2.delete_launch_template(LaunchTemplateId=template_id)


def test_delete_rules(ec2, template):
    tid, name = template["LaunchTemplateId"], template["LaunchTemplateName"]
    for n in range(3):
        ec2.create_launch_template_version(LaunchTemplateId=tid, LaunchTemplateData={"KeyName": f"k{n}"})
    out = ec2.delete_launch_template_versions(LaunchTemplateId=tid, Versions=["1", "4", "9", "$Latest"])
    assert [v["VersionNumber"] for v in out["SuccessfullyDeletedLaunchTemplateVersions"]] == [4]
    failures = {v["VersionNumber"]: v["ResponseError"] for v in out["UnsuccessfullyDeletedLaunchTemplateVersions"]}
    assert failures[1]["Code"] == "unexpectedError" and "default version" in failures[1]["Message"]
    assert failures[9]["Code"] == failures[4]["Code"] == "launchTemplateVersionDoesNotExist"  # $Latest: 4, gone
    assert ec2.describe_launch_templates(LaunchTemplateIds=[tid])["LaunchTemplates"][0]["LatestVersionNumber"] == 3
    again = ec2.create_launch_template_version(LaunchTemplateId=tid, LaunchTemplateData={"KeyName": "k9"})
    assert again["LaunchTemplateVersion"]["VersionNumber"] == 5  # a deleted version's number is not given again
    gone = ec2.delete_launch_template_versions(LaunchTemplateId="lt-0123456789abcdef0", Versions=["2"])
    assert gone["UnsuccessfullyDeletedLaunchTemplateVersions"][0]["ResponseError"]["Code"] == \
        "launchTemplateIdDoesNotExist" and not gone.get("SuccessfullyDeletedLaunchTemplateVersions")
    assert ec2.delete_launch_template(LaunchTemplateName=name)["LaunchTemplate"]["LaunchTemplateId"] == tid
    assert refused(ec2.describe_launch_template_versions, LaunchTemplateId=tid)[0] == "InvalidLaunchTemplateId.NotFound"
    assert not [t for t in ec2.describe_tags()["Tags"] if t["ResourceId"] == tid]
    reused = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"KeyName": "k"})
    assert reused["LaunchTemplate"]["LaunchTemplateId"] != tid
    ec2.delete_launch_template(LaunchTemplateId=reused["LaunchTemplate"]["LaunchTemplateId"])


def test_client_token_makes_a_retry_answer_the_same(ec2, template):
    first = ec2.create_launch_template(LaunchTemplateName="retried", LaunchTemplateData={"KeyName": "k"},
                                       ClientToken="token-1")["LaunchTemplate"]
    again = ec2.create_launch_template(LaunchTemplateName="retried", LaunchTemplateData={"KeyName": "k"},
                                       ClientToken="token-1")["LaunchTemplate"]
    assert again["LaunchTemplateId"] == first["LaunchTemplateId"]
    assert len(ec2.describe_launch_templates(LaunchTemplateNames=["retried"])["LaunchTemplates"]) == 1
    ec2.delete_launch_template(LaunchTemplateId=first["LaunchTemplateId"])
    versions = {ec2.create_launch_template_version(LaunchTemplateId=template["LaunchTemplateId"], ClientToken="v",
                                                   LaunchTemplateData={"KeyName": "k"})["LaunchTemplateVersion"][
                    "VersionNumber"] for _ in range(2)}
    assert versions == {2}


def test_racing_creates_of_one_name_make_one_template(server, account, ec2):
    def create(n):
        client = server.client("ec2", key=account[0], secret=account[1])
        try:
            return client.create_launch_template(LaunchTemplateName="raced", LaunchTemplateData={
                "KeyName": f"k{n}"})["LaunchTemplate"]["LaunchTemplateId"]
        except ClientError as error:
            return error.response["Error"]["Code"]

    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(create, range(6)))
    made = [g for g in got if g.startswith("lt-")]
    assert len(made) == 1 and got.count("InvalidLaunchTemplateName.AlreadyExistsException") == 5, got
    assert [t["LaunchTemplateId"] for t in ec2.describe_launch_templates(LaunchTemplateNames=["raced"])[
        "LaunchTemplates"]] == made
    ec2.delete_launch_template(LaunchTemplateName="raced")


LONG = "n" * 129
BAD_NAMES = ["ab", LONG, "a b c", "x;rm -rf /", "名前テスト", "<script>", "x'--", "a\nb", "tab\t"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_malformed_names(server, account, name):
    loose = server.client("ec2", key=account[0], secret=account[1], validate=False)
    assert refused(loose.create_launch_template, LaunchTemplateName=name, LaunchTemplateData={"KeyName": "k"}) == (
        "InvalidLaunchTemplateName.MalformedException", "A launch template name must be between 3 and 128 "
        "characters, and may contain letters, numbers, and the following characters: - ( ) . / _.", 400)
    for call in (loose.describe_launch_templates, loose.describe_launch_template_versions):
        kw = {"LaunchTemplateNames": [name]} if call == loose.describe_launch_templates else {"LaunchTemplateName": name}
        code, message, status = refused(call, **kw)  # the model's pattern, checked before the provider
        assert (code, status) == ("InvalidParameterValue", 400) and "failed to satisfy constraint" in message


@pytest.mark.parametrize("name", ["../../etc/passwd", "((.))", "-_-", "n" * 128])
def test_odd_but_valid_names_are_only_names(ec2, name):
    made = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"KeyName": "k"})["LaunchTemplate"]
    assert ec2.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"][0]["LaunchTemplateId"] == \
        made["LaunchTemplateId"]
    assert ec2.describe_launch_template_versions(LaunchTemplateName=name)["LaunchTemplateVersions"][0][
        "LaunchTemplateName"] == name
    ec2.delete_launch_template(LaunchTemplateName=name)


def test_refusals(server, account, ec2, template):
    loose = server.client("ec2", key=account[0], secret=account[1], validate=False)
    tid, name = template["LaunchTemplateId"], template["LaunchTemplateName"]
    tags = [{"Key": "a", "Value": "b"}]
    cases = [
        (ec2.create_launch_template, dict(LaunchTemplateName=name, LaunchTemplateData={"KeyName": "k"}),
         "InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use."),
        (loose.create_launch_template, dict(LaunchTemplateName="no-data"), "MissingParameter", None),
        (ec2.create_launch_template, dict(LaunchTemplateName="bad-tag-type", LaunchTemplateData={"KeyName": "k"},
                                          TagSpecifications=[{"ResourceType": "instance", "Tags": tags}]),
         "InvalidParameterValue", "'instance' is not a valid taggable resource type for this operation."),
        (ec2.create_launch_template, dict(LaunchTemplateName="aws-tag", LaunchTemplateData={"KeyName": "k"},
                                          TagSpecifications=[{"ResourceType": "launch-template",
                                                              "Tags": [{"Key": "aws:x", "Value": "1"}]}]),
         "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use"),
        (ec2.create_launch_template, dict(LaunchTemplateName="data-tags", LaunchTemplateData={
            "TagSpecifications": [{"Tags": tags}]}), "InvalidTagSpecification.Malformed",
         "The resource type cannot be null or empty."),
        (ec2.create_launch_template, dict(LaunchTemplateName="data-tags", LaunchTemplateData={
            "TagSpecifications": [{"ResourceType": "instance"}]}), "InvalidTagSpecification.Malformed",
         "The tags cannot be null or empty."),
        (ec2.create_launch_template, dict(LaunchTemplateName="data-tags", LaunchTemplateData={
            "TagSpecifications": [{"ResourceType": "launch-template", "Tags": tags}]}), "InvalidParameterValue",
         "'launch-template' is not a valid taggable resource type for this operation."),
        (ec2.create_launch_template, dict(LaunchTemplateName="data-tags", LaunchTemplateData={"TagSpecifications": [
            {"ResourceType": "instance", "Tags": [{"Key": f"k{n}", "Value": "v"} for n in range(51)]}]}),
         "TagLimitExceeded", None),
        (ec2.create_launch_template_version, dict(LaunchTemplateName="no-such", LaunchTemplateData={"KeyName": "k"}),
         "InvalidLaunchTemplateName.NotFoundException",
         "The specified launch template, with template name no-such, does not exist."),
        (ec2.create_launch_template_version, dict(LaunchTemplateId=tid, SourceVersion="7", LaunchTemplateData={"KeyName": "k"}),
         "InvalidLaunchTemplateId.VersionNotFound",
         f"Could not find the specified version 7 for the launch template with ID {tid}."),
        (ec2.describe_launch_template_versions, dict(LaunchTemplateId="lt-0123456789abcdef0"),
         "InvalidLaunchTemplateId.NotFound",
         "The specified launch template, with template ID lt-0123456789abcdef0, does not exist."),
        (ec2.describe_launch_template_versions, dict(LaunchTemplateId=tid, Versions=["99999999999999999999999"]),
         "InvalidLaunchTemplateId.VersionNotFound", None),
        (ec2.describe_launch_template_versions, dict(LaunchTemplateId=tid, Versions=["latest"]),
         "InvalidLaunchTemplateId.VersionNotFound", None),
        (ec2.describe_launch_template_versions, dict(LaunchTemplateId=tid, MinVersion="one"),
         "InvalidParameterValue", None),
        (ec2.describe_launch_template_versions, dict(LaunchTemplateId=tid, MaxResults=201), "InvalidParameterValue",
         None),
        (ec2.describe_launch_template_versions, {}, "MissingParameter", None),
        (ec2.describe_launch_template_versions, dict(Versions=["1"]), "InvalidParameterValue", None),
        (ec2.describe_launch_templates, dict(LaunchTemplateNames=["no-such"]),
         "InvalidLaunchTemplateName.NotFoundException",
         "At least one of the launch templates specified in the request does not exist."),
        (ec2.modify_launch_template, dict(LaunchTemplateId=tid, DefaultVersion="2"),
         "InvalidLaunchTemplateId.VersionNotFound",
         "The launch template version 2 is not found for the specified launch template."),
        (ec2.modify_launch_template, dict(LaunchTemplateId="template_n", LaunchTemplateName=name, DefaultVersion="1"),
         "InvalidParameterCombination", "Either provide launch template ID or launch template name to modify the "
         "template."),
        (ec2.delete_launch_template, {}, "MissingParameter",
         "The request must contain the parameter launch template ID or launch template name"),
        (ec2.delete_launch_template_versions, dict(LaunchTemplateId=tid, Versions=[str(n) for n in range(201)]),
         "InvalidParameterValue", None),
    ]
    for bad in ("lt-0123", "lt-0123456789abcdefg", "sg-0123456789abcdef0", "LT-0123456789ABCDEF0", "lt-../../x"):
        for call in (ec2.describe_launch_templates, ec2.describe_launch_template_versions, ec2.delete_launch_template):
            kw = {"LaunchTemplateIds": [bad]} if call == ec2.describe_launch_templates else {"LaunchTemplateId": bad}
            cases.append((call, kw, "InvalidLaunchTemplateId.Malformed",
                          f"The specified ID for the launch template, {bad}, is malformed."))
    for call, kw, want_code, want_message in cases:
        got = refused(call, **kw)
        assert got[0] == want_code and got[2] == 400, (call.__name__, kw, got)
        assert want_message is None or got[1] == want_message, (call.__name__, kw, got)
    shown = ec2.describe_launch_templates(LaunchTemplateIds=[tid])["LaunchTemplates"][0]
    assert (shown["LatestVersionNumber"], shown["DefaultVersionNumber"]) == (1, 1)  # nothing half-made
    assert not [t for t in ec2.describe_launch_templates()["LaunchTemplates"]
                if t["LaunchTemplateName"] in ("bad-tag-type", "aws-tag", "data-tags", "no-data")]

