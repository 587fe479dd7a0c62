"""SSM Parameter Store through boto3 and the AWS CLI: versions, SecureString sealed at rest
and decrypted on request, paths, selectors and ARNs, history and labels, and AWS's errors
for what PutParameter refuses."""

import sqlite3

import pytest
from botocore.exceptions import ClientError

from tests.e2e.ssm_helpers import refusal

BAD_NAME = ("Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it can consist "
            "of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the "
            "following 3 symbols .-_")


@pytest.fixture(scope="module")
def ssm(server):
    return server.client("ssm")


def test_parameters(server, ssm):
    assert ssm.put_parameter(Name="/shop/db/host", Value="db.internal", Type="String")["Version"] == 1
    ssm.put_parameter(Name="/shop/db/password", Value="s3cret-value", Type="SecureString")
    ssm.put_parameter(Name="/shop/web/port", Value="80", Type="String")
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/shop/db/host", Value="other", Type="String")
    assert err.value.response["Error"]["Code"] == "ParameterAlreadyExists"
    assert ssm.put_parameter(Name="/shop/db/host", Value="db2", Type="String", Overwrite=True)["Version"] == 2
    sealed = ssm.get_parameter(Name="/shop/db/password")["Parameter"]
    assert sealed["Type"] == "SecureString" and sealed["Value"] != "s3cret-value"
    opened = ssm.get_parameter(Name="/shop/db/password", WithDecryption=True)["Parameter"]
    assert opened["Value"] == "s3cret-value" and opened["ARN"].endswith(":parameter/shop/db/password")
    with sqlite3.connect(server.data_dir / "state.db") as db:
        stored = db.execute("SELECT value FROM ssm_parameters WHERE name = '/shop/db/password'").fetchone()[0]
    assert "s3cret" not in stored
    by_path = ssm.get_parameters_by_path(Path="/shop/db")["Parameters"]
    assert [p["Name"] for p in by_path] == ["/shop/db/host", "/shop/db/password"]
    everything = ssm.get_parameters_by_path(Path="/shop", Recursive=True)["Parameters"]
    assert len(everything) == 3 and not ssm.get_parameters_by_path(Path="/shop")["Parameters"]
    both = ssm.get_parameters(Names=["/shop/web/port", "/nope"])
    assert [p["Value"] for p in both["Parameters"]] == ["80"] and both["InvalidParameters"] == ["/nope"]
    printed = server.aws("ssm", "get-parameter", "--name", "/shop/web/port", "--query", "Parameter.Value",
                         "--output", "text").stdout.strip()
    assert printed == "80"
    ssm.delete_parameter(Name="/shop/web/port")
    with pytest.raises(ClientError) as err:
        ssm.get_parameter(Name="/shop/web/port")
    assert err.value.response["Error"]["Code"] == "ParameterNotFound"
    assert refusal(ssm.delete_parameter, Name="/shop/web/port")[0] == "ParameterNotFound"


def test_an_arn_of_another_service_is_not_a_parameter_name(server):
    # found by the fuzz test: an ARN without ":parameter" was an IndexError, answered 500
    printed = server.aws("ssm", "get-parameter", "--name", "arn:aws:ecs:us-east-1:123456789012:cluster/x", check=False)
    assert printed.returncode != 0 and "(ValidationException)" in printed.stderr and "parameter ARN" in printed.stderr


def test_a_name_and_the_name_with_a_leading_slash_are_one_parameter(ssm):
    ssm.put_parameter(Name="with-slash", Value="one", Type="String")
    assert refusal(ssm.put_parameter, Name="/with-slash", Value="two", Type="String")[0] == "ParameterAlreadyExists"
    assert ssm.put_parameter(Name="/with-slash", Value="two", Overwrite=True)["Version"] == 2
    got = ssm.get_parameter(Name="/with-slash")["Parameter"]
    assert got["Value"] == "two" and got["Name"] == "with-slash"  # the name as first written
    assert got["ARN"].endswith(":parameter/with-slash")
    assert ssm.get_parameter(Name=" with-slash ")["Parameter"]["Value"] == "two"  # spaces around are dropped
    ssm.delete_parameter(Name="/with-slash")
    assert refusal(ssm.get_parameter, Name="with-slash")[0] == "ParameterNotFound"


def test_by_arn_version_and_label(ssm):
    ssm.put_parameter(Name="/sel/app", Value="v1", Type="String")
    ssm.put_parameter(Name="/sel/app", Value="v2", Overwrite=True)
    ssm.put_parameter(Name="/sel/app", Value="v3", Overwrite=True)
    arn = ssm.get_parameter(Name="/sel/app")["Parameter"]["ARN"]
    by_arn = ssm.get_parameter(Name=arn)["Parameter"]
    assert (by_arn["Name"], by_arn["Value"], by_arn["Version"]) == ("/sel/app", "v3", 3) and "Selector" not in by_arn
    first = ssm.get_parameter(Name="/sel/app:1")["Parameter"]
    assert (first["Value"], first["Version"], first["Selector"]) == ("v1", 1, ":1")
    assert ssm.get_parameter(Name=arn + ":2")["Parameter"]["Value"] == "v2"
    code, message, status = refusal(ssm.get_parameter, Name="/sel/app:9")
    assert (code, status) == ("ParameterVersionNotFound", 400) and "version 9 of /sel/app" in message
    answer = ssm.label_parameter_version(Name="/sel/app", ParameterVersion=2, Labels=["prod"])
    assert (answer["InvalidLabels"], answer["ParameterVersion"]) == ([], 2)
    labeled = ssm.get_parameter(Name="/sel/app:prod")["Parameter"]
    assert (labeled["Value"], labeled["Selector"]) == ("v2", ":prod")
    both = ssm.get_parameters(Names=["/sel/app:1", "/sel/app:prod", "/sel/app:missing", "/sel/app:7"])
    assert [p["Selector"] for p in both["Parameters"]] == [":1", ":prod"]
    assert sorted(both["InvalidParameters"]) == ["/sel/app:7", "/sel/app:missing"]
    assert refusal(ssm.get_parameter, Name="/sel/app:missing")[0] == "ParameterNotFound"


def test_labels(ssm):
    for value in ("a", "b", "c"):
        ssm.put_parameter(Name="/labels/p", Value=value, Type="String", Overwrite=value != "a")
    answer = ssm.label_parameter_version(Name="/labels/p", Labels=["latest", "9lives", "awsThing", "SSMx", "bad label"])
    assert answer["ParameterVersion"] == 3  # the current version when none is named
    assert sorted(answer["InvalidLabels"]) == ["9lives", "SSMx", "awsThing", "bad label"]
    ssm.label_parameter_version(Name="/labels/p", ParameterVersion=1, Labels=["stable", "latest"])  # moves "latest"
    history = {h["Version"]: h["Labels"] for h in ssm.get_parameter_history(Name="/labels/p")["Parameters"]}
    assert history == {1: ["stable", "latest"], 2: [], 3: []}
    assert ssm.get_parameter(Name="/labels/p:latest")["Parameter"]["Value"] == "a"
    ten = [f"l{i}" for i in range(10)]
    ssm.label_parameter_version(Name="/labels/p", ParameterVersion=2, Labels=ten)
    code, message, _ = refusal(ssm.label_parameter_version, Name="/labels/p", ParameterVersion=2, Labels=["eleventh"])
    assert code == "ParameterVersionLabelLimitExceeded" and "10 labels" in message
    assert refusal(ssm.label_parameter_version, Name="/labels/p", ParameterVersion=5,
                   Labels=["x"])[0] == "ParameterVersionNotFound"
    assert refusal(ssm.label_parameter_version, Name="/labels/none", Labels=["x"])[0] == "ParameterNotFound"
    assert refusal(ssm.label_parameter_version, Name="/labels/p", Labels=["x" * 101])[0] == "ValidationException"
    removed = ssm.unlabel_parameter_version(Name="/labels/p", ParameterVersion=1, Labels=["stable", "nothere"])
    assert (removed["RemovedLabels"], removed["InvalidLabels"]) == (["stable"], ["nothere"])


def test_history_pages_and_decrypts(ssm):
    for i in range(7):
        ssm.put_parameter(Name="/hist/secret", Value=f"value-{i}", Type="SecureString", Overwrite=i > 0,
                          Description=f"d{i}")
    first = ssm.get_parameter_history(Name="/hist/secret", MaxResults=3)
    assert [h["Version"] for h in first["Parameters"]] == [1, 2, 3] and first["NextToken"]
    assert all(h["Value"] != f"value-{h['Version'] - 1}" and h["KeyId"] == "alias/aws/ssm" for h in first["Parameters"])
    rest = ssm.get_parameter_history(Name="/hist/secret", NextToken=first["NextToken"], WithDecryption=True)
    assert [(h["Version"], h["Value"], h["Description"]) for h in rest["Parameters"]] == \
        [(v, f"value-{v - 1}", f"d{v - 1}") for v in range(4, 8)]
    assert "NextToken" not in rest and rest["Parameters"][0]["LastModifiedUser"].startswith("arn:aws:iam::")
    assert refusal(ssm.get_parameter_history, Name="/hist/none")[0] == "ParameterNotFound"
    assert refusal(ssm.get_parameter_history, Name="/hist/secret", NextToken="garbage")[0] == "InvalidNextToken"


def test_put_refusals(ssm):
    cases = [
        (dict(Name="/put/empty", Value="", Type="String"), "ValidationException", "1 validation error detected: "
         "Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        (dict(Name="/put/typeless", Value="v"), "ValidationException",
         "A parameter type is required when you create a parameter."),
        (dict(Name="put/no-slash", Value="v", Type="String"), "ValidationException", BAD_NAME),
        (dict(Name="/put/sp ace", Value="v", Type="String"), "ValidationException", BAD_NAME),
        (dict(Name="/put//double", Value="v", Type="String"), "ValidationException", BAD_NAME),
        (dict(Name="/ssm/x", Value="v", Type="String"), "ValidationException", BAD_NAME),
        (dict(Name="SSM-param", Value="v", Type="String"), "ValidationException",
         "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive)."),
        (dict(Name="/put/nested", Value="x{{ssm:other}}", Type="String"), "ValidationException",
         "Parameter value can't nest another parameter. Do not use \"{{}}\" in the value."),
        (dict(Name="/put/dt", Value="v", Type="String", DataType="Text"), "ValidationException",
         "The following data type is not supported: Text (Data type names are all lowercase.)"),
        (dict(Name="/put/dt", Value="ami-0123456789abcdef0", Type="StringList", DataType="aws:ec2:image"),
         "ValidationException",
         "The aws:ec2:image data type is not supported for the following input type: StringList"),
        (dict(Name="/put/tags", Value="v", Type="String", Overwrite=True, Tags=[{"Key": "k", "Value": "v"}]),
         "ValidationException", "Invalid request: tags and overwrite can't be used together."),
        (dict(Name="/put/big", Value="x" * 4097, Type="String"), "ValidationException",
         "Standard tier parameters support a maximum parameter value of 4096 characters."),
        (dict(Name="/put/bigger", Value="x" * 8193, Type="String", Tier="Advanced"), "ValidationException",
         "Advanced tier parameters support a maximum parameter value of 8192 characters."),
    ]
    for kw, expected, message in cases:
        got = refusal(ssm.put_parameter, **kw)
        assert got[0] == expected and got[1].startswith(message) and got[2] == 400, (kw, got)
    assert refusal(ssm.get_parameter, Name="/put/typeless")[0] == "ParameterNotFound"  # nothing half-written


def test_tiers_are_kept_on_overwrite(ssm):
    assert ssm.put_parameter(Name="/tier/big", Value="x" * 5000, Type="String",
                             Tier="Intelligent-Tiering")["Tier"] == "Advanced"
    assert ssm.put_parameter(Name="/tier/big", Value="small now", Overwrite=True)["Tier"] == "Advanced"
    code, message, _ = refusal(ssm.put_parameter, Name="/tier/big", Value="small", Overwrite=True, Tier="Standard")
    assert code == "ValidationException" and "can't downgrade" in message
    assert ssm.put_parameter(Name="/tier/small", Value="s", Type="String", Tier="Intelligent-Tiering")["Tier"] == \
        "Standard"
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/tier/big"]}])["Parameters"]
    assert [(d["Tier"], d["Version"]) for d in described] == [("Advanced", 2)]
    history = ssm.get_parameter_history(Name="/tier/big")["Parameters"]
    assert [h["Tier"] for h in history] == ["Advanced", "Advanced"]


def test_overwrite_keeps_what_it_does_not_change(ssm):
    ssm.put_parameter(Name="/keep/p", Value="s1", Type="SecureString", Description="the db password",
                      KeyId="alias/mine")
    ssm.put_parameter(Name="/keep/p", Value="s2", Overwrite=True)
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/keep/p"]}])["Parameters"][0]
    assert (meta["Type"], meta["Description"], meta["KeyId"], meta["Version"]) == \
        ("SecureString", "the db password", "alias/mine", 2)
    assert ssm.put_parameter(Name="/keep/p", Value="plain", Type="String", Overwrite=True)["Version"] == 3
    now = ssm.get_parameter(Name="/keep/p")["Parameter"]
    assert (now["Type"], now["Value"]) == ("String", "plain")


def test_ami_data_type(ssm, server):
    debian = next(i["ImageId"] for i in server.client("ec2").describe_images(Owners=["amazon"])["Images"]
                  if i["Name"] == "cloudlet-debian")
    assert ssm.put_parameter(Name="/ami/golden", Value=debian, Type="String", DataType="aws:ec2:image")["Version"] == 1
    got = ssm.get_parameter(Name="/ami/golden")["Parameter"]
    assert (got["Value"], got["DataType"]) == (debian, "aws:ec2:image")
    # AWS checks the AMI after answering, and a value that names no AMI of the account is dropped
    for value in ("ami-0123456789abcdef0", "not-an-ami"):
        assert ssm.put_parameter(Name="/ami/golden", Value=value, Overwrite=True)["Version"] == 2
        assert ssm.get_parameter(Name="/ami/golden")["Parameter"]["Version"] == 1
        assert ssm.put_parameter(Name="/ami/other", Value=value, Type="String",
                                 DataType="aws:ec2:image")["Version"] == 1
        assert refusal(ssm.get_parameter, Name="/ami/other")[0] == "ParameterNotFound"
    code, message, _ = refusal(ssm.put_parameter, Name="/ami/golden", Value="text now", Overwrite=True,
                               DataType="text")
    assert code == "ValidationException" and "data type" in message
    code, message, _ = refusal(ssm.put_parameter, Name="/ami/golden", Value=debian, Overwrite=True,
                               Type="SecureString")
    assert code == "ValidationException" and message.endswith("following input type: SecureString")


def test_versions_beyond_a_hundred(ssm):
    for i in range(101):
        ssm.put_parameter(Name="/many/versions", Value=str(i), Type="String", Overwrite=i > 0)
    history = ssm.get_parameter_history(Name="/many/versions")
    versions = [h["Version"] for h in history["Parameters"]]
    while "NextToken" in history:
        history = ssm.get_parameter_history(Name="/many/versions", NextToken=history["NextToken"])
        versions += [h["Version"] for h in history["Parameters"]]
    assert versions == list(range(2, 102))  # the oldest went: Parameter Store keeps 100
    ssm.label_parameter_version(Name="/many/versions", ParameterVersion=2, Labels=["pinned"])
    code, message, _ = refusal(ssm.put_parameter, Name="/many/versions", Value="next", Overwrite=True)
    assert code == "ParameterMaxVersionLimitExceeded" and "Version 2, the oldest version" in message
    assert ssm.get_parameter(Name="/many/versions")["Parameter"]["Version"] == 101
