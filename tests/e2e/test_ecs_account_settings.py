"""ECS account settings through boto3 and the AWS CLI: a user's own, the root user's default for
everyone else, AWS's defaults, the filters of ListAccountSettings, and what is refused. Each test
has an account of its own, so that settings do not leak between tests."""

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def account(server):
    key, secret = server.new_account(f"settings-{secrets.token_hex(3)}")
    ecs = server.client("ecs", key=key, secret=secret)
    identity = server.client("sts", key=key, secret=secret).get_caller_identity()
    return {"ecs": ecs, "user": identity["Arn"], "root": f"arn:aws:iam::{identity['Account']}:root",
            "id": identity["Account"], "key": key, "secret": secret}


def refusal(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def effective(ecs, **kwargs) -> dict[str, tuple[str, str]]:
    settings = ecs.list_account_settings(effectiveSettings=True, **kwargs)["settings"]
    return {s["name"]: (s["value"], s["principalArn"]) for s in settings}


def test_defaults_are_awss(account):
    ecs, root = account["ecs"], account["root"]
    assert ecs.list_account_settings()["settings"] == []  # nothing set by anyone
    first = ecs.list_account_settings(effectiveSettings=True)
    assert len(first["settings"]) == 10 and first["nextToken"]
    rest = ecs.list_account_settings(effectiveSettings=True, nextToken=first["nextToken"])
    settings = {s["name"]: s for s in first["settings"] + rest["settings"]}
    assert "nextToken" not in rest
    assert {n: s["value"] for n, s in settings.items()} == {
        "awsvpcTrunking": "disabled", "containerInsights": "disabled", "containerInstanceLongArnFormat": "enabled",
        "defaultLogDriverMode": "non-blocking", "fargateEventWindows": "disabled", "fargateFIPSMode": "disabled",
        "fargateTaskRetirementWaitPeriod": "7", "guardDutyActivate": "off", "serviceLongArnFormat": "enabled",
        "tagResourceAuthorization": "on", "taskLongArnFormat": "enabled"}
    assert {s["principalArn"] for s in settings.values()} == {root}
    assert settings["guardDutyActivate"]["type"] == "aws_managed" and settings["awsvpcTrunking"]["type"] == "user"


def test_own_settings_over_the_roots_over_awss(account):
    ecs, user, root = account["ecs"], account["user"], account["root"]
    put = ecs.put_account_setting_default(name="awsvpcTrunking", value="enabled")["setting"]
    assert put == {"name": "awsvpcTrunking", "value": "enabled", "principalArn": root, "type": "user"}
    assert effective(ecs, name="awsvpcTrunking") == {"awsvpcTrunking": ("enabled", root)}
    mine = ecs.put_account_setting(name="awsvpcTrunking", value="disabled")["setting"]
    assert (mine["principalArn"], mine["value"]) == (user, "disabled")
    assert effective(ecs, name="awsvpcTrunking") == {"awsvpcTrunking": ("disabled", user)}
    assert effective(ecs, name="awsvpcTrunking", principalArn=root) == {"awsvpcTrunking": ("enabled", root)}
    assert ecs.list_account_settings()["settings"] == [mine]
    assert ecs.list_account_settings(principalArn=root)["settings"] == [put]
    # filters: a name, and a value with it
    ecs.put_account_setting(name="containerInsights", value="enhanced")
    assert [s["name"] for s in ecs.list_account_settings(effectiveSettings=True, name="containerInsights",
                                                          value="enhanced")["settings"]] == ["containerInsights"]
    assert ecs.list_account_settings(name="containerInsights", value="enabled")["settings"] == []
    # deleting one's own: the root user's applies again
    deleted = ecs.delete_account_setting(name="awsvpcTrunking")["setting"]
    assert (deleted["value"], deleted["principalArn"]) == ("disabled", user)
    assert effective(ecs, name="awsvpcTrunking") == {"awsvpcTrunking": ("enabled", root)}
    ecs.delete_account_setting(name="awsvpcTrunking", principalArn=root)
    assert effective(ecs, name="awsvpcTrunking") == {"awsvpcTrunking": ("disabled", root)}


def test_a_new_cluster_takes_the_container_insights_setting(account):
    ecs = account["ecs"]
    ecs.put_account_setting(name="containerInsights", value="enabled")
    made = ecs.create_cluster(clusterName="insightful")["cluster"]
    assert made["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    given = ecs.create_cluster(clusterName="dark", settings=[{"name": "containerInsights", "value": "disabled"}])
    assert given["cluster"]["settings"] == [{"name": "containerInsights", "value": "disabled"}]


def test_the_retirement_wait_is_the_root_users(account):
    ecs, root = account["ecs"], account["root"]
    assert refusal(ecs.put_account_setting, name="fargateTaskRetirementWaitPeriod", value="14")[0] == \
        "InvalidParameterException"
    assert ecs.put_account_setting(name="fargateTaskRetirementWaitPeriod", value="14",
                                   principalArn=root)["setting"]["value"] == "14"
    assert effective(ecs, name="fargateTaskRetirementWaitPeriod") == {"fargateTaskRetirementWaitPeriod": ("14", root)}


@pytest.mark.parametrize("kwargs, words", [
    ({"name": "awsvpcTrunking", "value": "on"}, "Invalid value 'on' for awsvpcTrunking: it takes enabled, disabled."),
    ({"name": "tagResourceAuthorization", "value": "enabled"}, "it takes on, off"),
    ({"name": "fargateTaskRetirementWaitPeriod", "value": "3"}, "can only be set for the root user"),
    ({"name": "serviceLongArnFormat", "value": "disabled"}, "it takes enabled."),  # cloudlet's ARNs are all long
    ({"name": "guardDutyActivate", "value": "on"}, "guardDutyActivate is managed by AWS"),
    ({"name": "awsvpcTrunking", "value": "x" * 5000}, "Invalid value 'xxx"),
])
def test_values_refused(account, kwargs, words):
    code, message = refusal(account["ecs"].put_account_setting, **kwargs)
    assert code == "InvalidParameterException" and words in message and len(message) < 600
    assert account["ecs"].list_account_settings()["settings"] == []


def test_principals_of_other_accounts_or_none(server, account):
    ecs = account["ecs"]
    admin = server.client("sts").get_caller_identity()
    for principal in (admin["Arn"], f"arn:aws:iam::{admin['Account']}:root", "arn:aws:iam::123456789012:user/x",
                      f"arn:aws:iam::{account['id']}:role/made-up", f"arn:aws:iam::{account['id']}:user/nobody",
                      "*", "arn:aws:iam::" + "9" * 10_000):
        assert refusal(ecs.put_account_setting, name="awsvpcTrunking", value="enabled", principalArn=principal)[0] == \
            "InvalidParameterException"
        assert refusal(ecs.list_account_settings, principalArn=principal)[0] == "InvalidParameterException"
    # what one account sets, another does not see
    ecs.put_account_setting_default(name="containerInsights", value="enabled")
    assert effective(server.client("ecs"), name="containerInsights")["containerInsights"][0] == "disabled"


def test_list_refusals(account):
    ecs = account["ecs"]
    assert refusal(ecs.list_account_settings, value="enabled")[0] == "InvalidParameterException"
    assert refusal(ecs.list_account_settings, maxResults=11)[0] == "InvalidParameterException"
    assert refusal(ecs.list_account_settings, nextToken="garbage!")[0] == "InvalidParameterException"


def cli(server, account, *args: str) -> dict:
    """The stock AWS CLI with the account's keys in its environment."""
    env = {**server.env(), "AWS_ACCESS_KEY_ID": account["key"], "AWS_SECRET_ACCESS_KEY": account["secret"],
           "AWS_DEFAULT_REGION": "us-east-1"}
    proc = subprocess.run([str(Path(sys.executable).with_name("aws")), "--endpoint-url", server.endpoint, *args],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_aws_cli(server, account):
    put = cli(server, account, "ecs", "put-account-setting-default", "--name", "containerInsights", "--value",
              "enhanced")
    assert put["setting"]["principalArn"] == account["root"]
    listed = cli(server, account, "ecs", "list-account-settings", "--effective-settings", "--name",
                 "containerInsights")
    assert [(s["value"], s["principalArn"]) for s in listed["settings"]] == [("enhanced", account["root"])]
