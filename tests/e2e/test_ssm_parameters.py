"""SSM Parameter Store through boto3 and the AWS CLI: versions, SecureString sealed at rest
and decrypted on request, paths, and AWS's errors."""

import sqlite3

import pytest
from botocore.exceptions import ClientError


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
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="aws-reserved", Value="x", Type="String")
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_an_arn_of_another_service_is_not_a_parameter_name(server):
    # found by the fuzz test: an ARN without ":parameter" was an IndexError, answered 500
    printed = server.aws("ssm", "get-parameter", "--name", "arn:aws:ecs:us-east-1:123456789012:cluster/x", check=False)
    assert printed.returncode != 0 and "(ValidationException)" in printed.stderr and "parameter ARN" in printed.stderr
