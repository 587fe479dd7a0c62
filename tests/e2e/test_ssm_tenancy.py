"""Parameter Store against a hostile tenant: another account reaches none of an account's
parameters by name or ARN, names too long, too deep or of odd characters are refused as AWS
refuses them (never a 500), and the limits on versions, values and parameters hold."""

import sqlite3

import pytest

from tests.e2e.ssm_helpers import own_client, refusal


@pytest.fixture(scope="module")
def owner(server):
    return own_client(server, "ssm-owner")


@pytest.fixture(scope="module")
def intruder(server):
    return own_client(server, "ssm-intruder")


def test_another_account_reaches_nothing(owner, intruder):
    owner.put_parameter(Name="/tenant/secret", Value="owner-only", Type="SecureString",
                        Tags=[{"Key": "team", "Value": "owner"}])
    owner.label_parameter_version(Name="/tenant/secret", Labels=["prod"])
    arn = owner.get_parameter(Name="/tenant/secret")["Parameter"]["ARN"]
    for name in ("/tenant/secret", " /tenant/secret ", arn, arn + ":1", "/tenant/secret:prod"):
        assert refusal(intruder.get_parameter, Name=name, WithDecryption=True)[0] == "ParameterNotFound", name
        assert refusal(intruder.get_parameter_history, Name=name)[0] == "ParameterNotFound", name
    assert intruder.get_parameters(Names=["/tenant/secret", arn])["InvalidParameters"] == ["/tenant/secret", arn]
    assert intruder.get_parameters_by_path(Path="/tenant", Recursive=True)["Parameters"] == []
    assert intruder.get_parameters_by_path(Path="/", Recursive=True)["Parameters"] == []
    assert intruder.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/tenant/secret"]}])[
        "Parameters"] == []
    assert refusal(intruder.label_parameter_version, Name=arn, Labels=["mine"])[0] == "ParameterNotFound"
    assert refusal(intruder.unlabel_parameter_version, Name="/tenant/secret", ParameterVersion=1,
                   Labels=["prod"])[0] == "ParameterNotFound"
    for resource in ("/tenant/secret", arn):
        tagged = dict(ResourceType="Parameter", ResourceId=resource)
        assert refusal(intruder.list_tags_for_resource, **tagged)[0] == "InvalidResourceId"
        assert refusal(intruder.add_tags_to_resource, **tagged, Tags=[{"Key": "k", "Value": "v"}])[0] == \
            "InvalidResourceId"
        assert refusal(intruder.remove_tags_from_resource, **tagged, TagKeys=["team"])[0] == "InvalidResourceId"
    assert refusal(intruder.delete_parameter, Name=arn)[0] == "ParameterNotFound"
    assert intruder.delete_parameters(Names=["/tenant/secret"])["InvalidParameters"] == ["/tenant/secret"]
    # the same name in another account is another parameter
    assert intruder.put_parameter(Name="/tenant/secret", Value="intruder's", Type="String")["Version"] == 1
    mine = owner.get_parameter(Name="/tenant/secret", WithDecryption=True)["Parameter"]
    assert (mine["Value"], mine["Version"], mine["Type"]) == ("owner-only", 1, "SecureString")
    assert owner.list_tags_for_resource(ResourceType="Parameter", ResourceId=arn)["TagList"] == \
        [{"Key": "team", "Value": "owner"}]
    assert owner.get_parameter(Name="/tenant/secret:prod")["Parameter"]["Version"] == 1


def test_an_arn_names_its_region(server, owner):
    owner.put_parameter(Name="/tenant/east", Value="east", Type="String")
    arn = owner.get_parameter(Name="/tenant/east")["Parameter"]["ARN"]
    assert refusal(owner.get_parameter, Name=arn.replace("us-east-1", "us-west-2"))[0] == "ParameterNotFound"
    key, secret = owner.credentials
    west = server.client("ssm", region="us-west-2", key=key, secret=secret)
    assert refusal(west.get_parameter, Name=arn)[0] == "ParameterNotFound"
    assert refusal(west.get_parameter, Name="/tenant/east")[0] == "ParameterNotFound"


def test_hostile_names(owner):
    owner.put_parameter(Name="/n/probe", Value="v", Type="String")
    arn = owner.get_parameter(Name="/n/probe")["Parameter"]["ARN"]
    prefix = len(arn) - len("n/probe")  # "arn:aws:ssm:<region>:<account>:parameter/"
    longest = "/" + "n" * (1011 - prefix)
    assert owner.put_parameter(Name=longest, Value="v", Type="String")["Version"] == 1
    code, message, status = refusal(owner.put_parameter, Name=longest + "n", Value="v", Type="String")
    assert (code, status) == ("ValidationException", 400) and "1011" in message
    assert refusal(owner.put_parameter, Name="/" + "n" * 2048, Value="v", Type="String")[0] == "ValidationException"
    deepest = "/" + "/".join(f"l{i}" for i in range(15))
    assert owner.put_parameter(Name=deepest, Value="v", Type="String")["Version"] == 1
    code, message, status = refusal(owner.put_parameter, Name=deepest + "/l15", Value="v", Type="String")
    assert (code, status) == ("HierarchyLevelLimitExceededException", 400) and "15 levels" in message
    for name in ("/n/x'; DROP TABLE ssm_parameters;--", "/n/a\x00b", "/n/ä", "/n/a\nb", "/n/%2F", "/n/a b",
                 "/n/trailing/", "n/no/leading/slash", "/n/${HOME}", "/n/*", "/n/a:b"):
        code, _, status = refusal(owner.put_parameter, Name=name, Value="v", Type="String")
        assert (code, status) == ("ValidationException", 400), name
        if "\x00" not in name:
            assert refusal(owner.get_parameter, Name=name)[0] in ("ValidationException", "ParameterNotFound"), name
    assert owner.get_parameters_by_path(Path="/n")["Parameters"][0]["Name"] == "/n/probe"


def test_values_labels_and_tags_are_bounded(owner):
    code, _, status = refusal(owner.put_parameter, Name="/bound/huge", Value="x" * 200_000, Type="String",
                              Tier="Advanced")
    assert (code, status) == ("ValidationException", 400)
    owner.put_parameter(Name="/bound/p", Value="v", Type="String")
    answer = owner.label_parameter_version(Name="/bound/p", Labels=["ünïcode", "sp ace", "ok-label", "a" * 100])
    assert sorted(answer["InvalidLabels"]) == ["sp ace", "ünïcode"]
    history = owner.get_parameter_history(Name="/bound/p")["Parameters"]
    assert sorted(history[0]["Labels"]) == sorted(["ok-label", "a" * 100])
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert refusal(owner.put_parameter, Name="/bound/tags", Value="v", Type="String", Tags=tags)[0] == \
        "TooManyTagsError"
    assert refusal(owner.get_parameter, Name="/bound/tags")[0] == "ParameterNotFound"


def test_the_parameter_count_is_bounded(server):
    """An account holds at most 10,000 standard parameters per region. The 10,000 are put in the
    state as rows of the form cloudlet wrote before it kept versions (a bare value), which
    also shows those rows read as their one version."""
    full = own_client(server, "ssm-full")
    key, secret = full.credentials
    account = server.client("sts", key=key, secret=secret).get_caller_identity()["Account"]
    rows = [(account, "us-east-1", f"/full/{i:05d}", "String", f"value {i}", 3, None, None,
             "2026-01-02T03:04:05+00:00") for i in range(9_999)]
    rows.append((account, "us-east-1", "/solo", "String", "old row", 1, "kept", None, "2026-01-02T03:04:05+00:00"))
    with sqlite3.connect(server.data_dir / "state.db", timeout=30) as db:
        db.executemany("INSERT INTO ssm_parameters (account_id, region, name, type, value, version, description, "
                       "key_id, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    code, message, status = refusal(full.put_parameter, Name="/full/one-more", Value="v", Type="String")
    assert (code, status) == ("ParameterLimitExceeded", 400) and "(10000)" in message
    old = full.get_parameter(Name="/full/00042")["Parameter"]
    assert (old["Value"], old["Version"], old["DataType"]) == ("value 42", 3, "text")
    assert full.get_parameter(Name="solo")["Parameter"]["Value"] == "old row"  # "/solo" and "solo" are one
    assert full.put_parameter(Name="/full/00042", Value="new", Overwrite=True)["Version"] == 4
    assert [h["Version"] for h in full.get_parameter_history(Name="/full/00042")["Parameters"]] == [3, 4]
    assert full.put_parameter(Name="solo", Value="newer", Overwrite=True)["Version"] == 2
    assert full.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["solo"]}])["Parameters"][0][
        "Description"] == "kept"
    full.delete_parameter(Name="/full/00007")
    assert full.put_parameter(Name="/full/one-more", Value="v", Type="String")["Version"] == 1
