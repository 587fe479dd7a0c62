"""Finding parameters: DescribeParameters with ParameterFilters and the older Filters, its
pages, GetParametersByPath from the root and with filters, and parameters' tags. Each test
module's account is its own, so listings hold only what the tests put there."""

import pytest

from tests.e2e.ssm_helpers import own_client, refusal


@pytest.fixture(scope="module")
def ssm(server):
    client = own_client(server, "ssm-search")
    client.put_parameter(Name="rootA", Value="a", Type="String")
    client.put_parameter(Name="/rootB", Value="b", Type="SecureString", KeyId="alias/team")
    client.put_parameter(Name="/app/prod/db", Value="x" * 5000, Type="String", Tier="Advanced")
    client.put_parameter(Name="/app/prod/web", Value="w", Type="StringList", Tags=[{"Key": "team", "Value": "web"}])
    client.put_parameter(Name="/app/dev/db", Value="d", Type="String", Tags=[{"Key": "team", "Value": "data"}])
    client.put_parameter(Name="/app/dev/db", Value="d2", Overwrite=True)
    ami = next(i["ImageId"] for i in server.client("ec2").describe_images(Owners=["amazon"])["Images"])
    client.put_parameter(Name="/app/ami", Value=ami, Type="String", DataType="aws:ec2:image")
    return client


def names(ssm, **kw) -> list[str]:
    return sorted(p["Name"] for p in ssm.describe_parameters(MaxResults=50, **kw)["Parameters"])


def test_parameter_filters(ssm):
    assert names(ssm, ParameterFilters=[{"Key": "Name", "Values": ["rootB"]}]) == ["/rootB"]
    assert names(ssm, ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/app/prod"]}]) == \
        ["/app/prod/db", "/app/prod/web"]
    assert names(ssm, ParameterFilters=[{"Key": "Name", "Option": "Contains", "Values": ["dev"]}]) == ["/app/dev/db"]
    assert names(ssm, ParameterFilters=[{"Key": "Path", "Values": ["/app"]}]) == ["/app/ami"]
    assert names(ssm, ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/app/"]}]) == \
        ["/app/ami", "/app/dev/db", "/app/prod/db", "/app/prod/web"]
    assert names(ssm, ParameterFilters=[{"Key": "Path", "Values": ["/"]}]) == ["/rootB", "rootA"]
    assert names(ssm, ParameterFilters=[{"Key": "Type", "Values": ["SecureString", "StringList"]}]) == \
        ["/app/prod/web", "/rootB"]
    assert names(ssm, ParameterFilters=[{"Key": "KeyId", "Values": ["alias/team"]}]) == ["/rootB"]
    assert names(ssm, ParameterFilters=[{"Key": "Tier", "Values": ["Advanced"]}]) == ["/app/prod/db"]
    assert names(ssm, ParameterFilters=[{"Key": "DataType", "Values": ["aws:ec2:image"]}]) == ["/app/ami"]
    assert names(ssm, ParameterFilters=[{"Key": "tag:team", "Values": ["web", "data"]}]) == \
        ["/app/dev/db", "/app/prod/web"]
    assert names(ssm, ParameterFilters=[{"Key": "tag:team", "Option": "BeginsWith", "Values": ["da"]},
                                        {"Key": "Path", "Option": "Recursive", "Values": ["/app"]}]) == ["/app/dev/db"]
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/app/dev/db"]}])["Parameters"][0]
    assert (meta["Version"], meta["Type"], meta["Tier"], meta["DataType"]) == (2, "String", "Standard", "text")
    assert meta["ARN"].endswith(":parameter/app/dev/db") and meta["LastModifiedUser"].startswith("arn:aws:iam::")


def test_legacy_filters(ssm):
    assert names(ssm, Filters=[{"Key": "Name", "Values": ["/app/prod"]}]) == ["/app/prod/db", "/app/prod/web"]
    assert names(ssm, Filters=[{"Key": "Type", "Values": ["SecureString"]}]) == ["/rootB"]
    assert names(ssm, Filters=[{"Key": "KeyId", "Values": ["alias/team"]}]) == ["/rootB"]
    code, message, _ = refusal(ssm.describe_parameters, Filters=[{"Key": "Name", "Values": ["x"]}],
                               ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    assert (code, message) == ("ValidationException", "You can use either Filters or ParameterFilters in a single "
                                                      "request.")


def test_filter_refusals(ssm):
    cases = [
        ([{"Key": "Label", "Values": ["x"]}], "InvalidFilterKey"),  # GetParametersByPath's only
        ([{"Key": "Name", "Values": ["a"]}, {"Key": "Name", "Values": ["b"]}], "InvalidFilterKey"),
        ([{"Key": "Name"}], "InvalidFilterValue"),
        ([{"Key": "Name", "Option": "Recursive", "Values": ["a"]}], "InvalidFilterOption"),
        ([{"Key": "Type", "Option": "Contains", "Values": ["String"]}], "InvalidFilterOption"),
        ([{"Key": "Path", "Option": "Equals", "Values": ["/a"]}], "InvalidFilterOption"),
        ([{"Key": "Type", "Values": ["Integer"]}], "InvalidFilterValue"),
        ([{"Key": "Tier", "Values": ["Premium"]}], "InvalidFilterValue"),
        ([{"Key": "Path", "Values": ["no-slash"]}], "ValidationException"),
        ([{"Key": "Path", "Values": ["/aws/service"]}], "ValidationException"),
        ([{"Key": "Nope", "Values": ["a"]}], "ValidationException"),  # not even the model's pattern
    ]
    for parameter_filters, expected in cases:
        assert refusal(ssm.describe_parameters, ParameterFilters=parameter_filters)[0] == expected, parameter_filters
    assert refusal(ssm.describe_parameters, MaxResults=51)[0] == "ValidationException"
    assert refusal(ssm.describe_parameters, NextToken="not-a-token")[0] == "InvalidNextToken"


def test_pages_of_ten_by_default(server):
    many = own_client(server, "ssm-pages")
    for i in range(23):
        many.put_parameter(Name=f"/p/{i:02d}", Value=str(i), Type="String")
    first = many.describe_parameters()
    assert len(first["Parameters"]) == 10 and first["NextToken"]
    seen = [p["Name"] for p in first["Parameters"]]
    token = first["NextToken"]
    while token:
        page = many.describe_parameters(NextToken=token, MaxResults=7)
        assert len(page["Parameters"]) <= 7
        seen += [p["Name"] for p in page["Parameters"]]
        token = page.get("NextToken")
    assert seen == [f"/p/{i:02d}" for i in range(23)]
    assert len(many.describe_parameters(MaxResults=50)["Parameters"]) == 23
    by_path = many.get_parameters_by_path(Path="/p")
    assert len(by_path["Parameters"]) == 10 and by_path["NextToken"]
    assert refusal(many.get_parameters_by_path, Path="/p", MaxResults=11)[0] == "ValidationException"
    assert many.describe_parameters(Shared=True)["Parameters"] == []  # nothing is shared between accounts here


def test_by_path_from_the_root_and_with_filters(ssm):
    root = ssm.get_parameters_by_path(Path="/")["Parameters"]
    assert sorted(p["Name"] for p in root) == ["/rootB", "rootA"]
    everything = ssm.get_parameters_by_path(Path="/", Recursive=True, MaxResults=10)["Parameters"]
    assert len(everything) == 6
    secure = ssm.get_parameters_by_path(Path="/", ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}],
                                        WithDecryption=True)["Parameters"]
    assert [(p["Name"], p["Value"]) for p in secure] == [("/rootB", "b")]
    ssm.label_parameter_version(Name="/app/dev/db", ParameterVersion=1, Labels=["golden"])
    labeled = ssm.get_parameters_by_path(Path="/app", Recursive=True,
                                         ParameterFilters=[{"Key": "Label", "Values": ["golden"]}])["Parameters"]
    assert [(p["Name"], p["Value"], p["Version"]) for p in labeled] == [("/app/dev/db", "d", 1)]
    for bad, expected in (([{"Key": "Name", "Values": ["x"]}], "InvalidFilterKey"),
                          ([{"Key": "tag:team", "Values": ["x"]}], "InvalidFilterKey"),
                          ([{"Key": "Label", "Option": "BeginsWith", "Values": ["x"]}], "InvalidFilterOption")):
        assert refusal(ssm.get_parameters_by_path, Path="/", ParameterFilters=bad)[0] == expected, bad
    code, message, _ = refusal(ssm.get_parameters_by_path, Path="no-slash")
    assert code == "ValidationException" and message.startswith("The parameter doesn't meet the parameter name")
    assert refusal(ssm.get_parameters_by_path, Path="/a//b")[0] == "ValidationException"


def test_tags(ssm):
    tagged = dict(ResourceType="Parameter", ResourceId="/app/prod/db")
    ssm.add_tags_to_resource(**tagged, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "ops"}])
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=ssm.get_parameter(Name="/app/prod/db")[
        "Parameter"]["ARN"], Tags=[{"Key": "env", "Value": "production"}])
    assert ssm.list_tags_for_resource(**tagged)["TagList"] == [{"Key": "env", "Value": "production"},
                                                               {"Key": "owner", "Value": "ops"}]
    ssm.remove_tags_from_resource(**tagged, TagKeys=["owner", "absent"])
    assert ssm.list_tags_for_resource(**tagged)["TagList"] == [{"Key": "env", "Value": "production"}]
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="rootA")["TagList"] == []
    arn = ssm.get_parameter(Name="/app/prod/web")["Parameter"]["ARN"]
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=arn)["TagList"] == \
        [{"Key": "team", "Value": "web"}]
    for kw in (dict(ResourceType="Parameter", ResourceId="/no/such"),
               dict(ResourceType="Document", ResourceId="/app/prod/db"),
               dict(ResourceType="MaintenanceWindow", ResourceId="mw-0123456789abcdef0")):
        assert refusal(ssm.list_tags_for_resource, **kw)[0] == "InvalidResourceId", kw
    for bad in ({"Key": "aws:x", "Value": "v"}, {"Key": "bad#key", "Value": "v"}, {"Key": "k", "Value": "<script>"}):
        assert refusal(ssm.add_tags_to_resource, **tagged, Tags=[bad])[0] == "ValidationException", bad
    ssm.add_tags_to_resource(**tagged, Tags=[{"Key": "équipe café", "Value": "Ünïcode 42 @home"}])
    ssm.remove_tags_from_resource(**tagged, TagKeys=["équipe café"])
    fifty = [{"Key": f"k{i}", "Value": "v"} for i in range(49)]
    ssm.add_tags_to_resource(**tagged, Tags=fifty)
    assert refusal(ssm.add_tags_to_resource, **tagged, Tags=[{"Key": "one-more", "Value": "v"}])[0] == \
        "TooManyTagsError"
    assert len(ssm.list_tags_for_resource(**tagged)["TagList"]) == 50
    ssm.put_parameter(Name="/tags/gone", Value="v", Type="String", Tags=[{"Key": "a", "Value": "b"}])
    ssm.delete_parameter(Name="/tags/gone")
    ssm.put_parameter(Name="/tags/gone", Value="v", Type="String")
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/tags/gone")["TagList"] == []
