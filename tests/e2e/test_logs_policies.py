"""CloudWatch Logs resource policies, subscription filters and tags through boto3: AWS's limits
(10 account policies, 5120-character documents, 2 subscription filters a group), JSON and ARN
checks, updates in place, the old and new tagging APIs agreeing, and another account seeing
none of the first's policies, filters or tags."""

import json

import pytest

from tests.e2e.errors import code

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "Service": "route53.amazonaws.com"}, "Action": "logs:PutLogEvents", "Resource": "*"}]})


@pytest.fixture(scope="module")
def logs(server):
    return server.client("logs")


@pytest.fixture(scope="module")
def other(server):
    key, secret = server.new_account("logs-policies-other")
    return server.client("logs", key=key, secret=secret)


def account_of(logs) -> str:
    logs.create_log_group(logGroupName="/who/am/i")
    arn = logs.describe_log_groups(logGroupNamePrefix="/who/am/i")["logGroups"][0]["logGroupArn"]
    logs.delete_log_group(logGroupName="/who/am/i")
    return arn.split(":")[4]


def test_account_policies(logs, other):
    put = logs.put_resource_policy(policyName="route53", policyDocument=POLICY)
    assert put["resourcePolicy"]["policyName"] == "route53" and put["resourcePolicy"]["policyScope"] == "ACCOUNT"
    again = logs.put_resource_policy(policyName="route53", policyDocument=POLICY.replace("route53", "delivery"))
    assert again["revisionId"] != put["revisionId"]
    listed = logs.describe_resource_policies()["resourcePolicies"]
    assert [p["policyName"] for p in listed] == ["route53"] and "delivery" in listed[0]["policyDocument"]
    for i in range(9):
        logs.put_resource_policy(policyName=f"p{i}", policyDocument=POLICY)
    assert code(logs.put_resource_policy, policyName="one-too-many", policyDocument=POLICY) == \
        "LimitExceededException"
    logs.put_resource_policy(policyName="p0", policyDocument=POLICY)  # replacing one is no new one
    page = logs.describe_resource_policies(limit=4)
    rest = logs.describe_resource_policies(nextToken=page["nextToken"])
    assert len(page["resourcePolicies"]) + len(rest["resourcePolicies"]) == 10
    assert other.describe_resource_policies()["resourcePolicies"] == []
    assert code(other.delete_resource_policy, policyName="route53") == "ResourceNotFoundException"
    other.put_resource_policy(policyName="mine", policyDocument=POLICY)  # its own 10, not the first's
    for i in range(9):
        logs.delete_resource_policy(policyName=f"p{i}")
    logs.delete_resource_policy(policyName="route53")
    assert code(logs.delete_resource_policy, policyName="route53") == "ResourceNotFoundException"
    assert logs.describe_resource_policies()["resourcePolicies"] == []
    assert [p["policyName"] for p in other.describe_resource_policies()["resourcePolicies"]] == ["mine"]


@pytest.mark.parametrize("name, document", [
    ("bad-json", "{not json"), ("not-an-object", "[1, 2]"), ("too-long", json.dumps({"a": "x" * 5200})),
    ("", POLICY), ("n" * 256, POLICY)])
def test_bad_policies(logs, name, document):
    assert code(logs.put_resource_policy, policyName=name, policyDocument=document) == "InvalidParameterException"
    assert all(p["policyName"] != name for p in logs.describe_resource_policies()["resourcePolicies"])


def test_resource_policy_of_a_group(logs, other):
    logs.create_log_group(logGroupName="/policies/group")
    arn = logs.describe_log_groups(logGroupNamePrefix="/policies/group")["logGroups"][0]["logGroupArn"]
    first = logs.put_resource_policy(resourceArn=arn, policyName="g", policyDocument=POLICY)
    assert first["resourcePolicy"]["policyScope"] == "RESOURCE"
    assert code(logs.put_resource_policy, resourceArn=arn, policyName="g", policyDocument=POLICY) == \
        "OperationAbortedException"  # no expectedRevisionId for a policy that exists
    logs.put_resource_policy(resourceArn=arn, policyName="g", policyDocument=POLICY,
                             expectedRevisionId=first["revisionId"])
    assert len(logs.describe_resource_policies(resourceArn=arn)["resourcePolicies"]) == 1
    assert code(other.describe_resource_policies, resourceArn=arn) == "ResourceNotFoundException"
    assert code(other.put_resource_policy, resourceArn=arn, policyName="g", policyDocument=POLICY) == \
        "ResourceNotFoundException"
    logs.delete_log_group(logGroupName="/policies/group")  # its policy goes with it
    logs.create_log_group(logGroupName="/policies/group")
    assert logs.describe_resource_policies(resourceArn=arn)["resourcePolicies"] == []


def test_subscription_filters(logs, other):
    logs.create_log_group(logGroupName="/subs/app")
    account = account_of(logs)
    kinesis = f"arn:aws:kinesis:us-east-1:{account}:stream/logs"
    logs.put_subscription_filter(logGroupName="/subs/app", filterName="errors", filterPattern="ERROR",
                                 destinationArn=kinesis, roleArn=f"arn:aws:iam::{account}:role/CWLtoKinesis")
    logs.put_subscription_filter(logGroupName="/subs/app", filterName="json", filterPattern='{ $.level = "x" }',
                                 destinationArn=f"arn:aws:lambda:us-east-1:{account}:function:f",
                                 distribution="Random")
    assert code(logs.put_subscription_filter, logGroupName="/subs/app", filterName="third", filterPattern="",
                destinationArn=kinesis) == "LimitExceededException"
    logs.put_subscription_filter(logGroupName="/subs/app", filterName="errors", filterPattern="WARN",
                                 destinationArn=kinesis)  # an update, not a third
    filters = logs.describe_subscription_filters(logGroupName="/subs/app")["subscriptionFilters"]
    assert [(f["filterName"], f["filterPattern"], f["distribution"]) for f in filters] == \
        [("errors", "WARN", "ByLogStream"), ("json", '{ $.level = "x" }', "Random")]
    assert filters[0]["destinationArn"] == kinesis and filters[0]["creationTime"] > 0
    assert [f["filterName"] for f in logs.describe_subscription_filters(
        logGroupName="/subs/app", filterNamePrefix="j")["subscriptionFilters"]] == ["json"]
    assert code(other.describe_subscription_filters, logGroupName="/subs/app") == "ResourceNotFoundException"
    assert code(other.delete_subscription_filter, logGroupName="/subs/app", filterName="json") == \
        "ResourceNotFoundException"
    logs.delete_subscription_filter(logGroupName="/subs/app", filterName="json")
    assert code(logs.delete_subscription_filter, logGroupName="/subs/app", filterName="json") == \
        "ResourceNotFoundException"
    logs.delete_log_group(logGroupName="/subs/app")
    logs.create_log_group(logGroupName="/subs/app")
    assert logs.describe_subscription_filters(logGroupName="/subs/app")["subscriptionFilters"] == []


@pytest.mark.parametrize("change, expected", [
    ({"filterPattern": '{ $.level = '}, "InvalidParameterException"),
    ({"filterPattern": "%a+%"}, "InvalidParameterException"),
    ({"destinationArn": "not-an-arn"}, "InvalidParameterException"),
    ({"destinationArn": "arn:aws:s3:::bucket"}, "InvalidParameterException"),
    ({"destinationArn": "arn:aws:kinesis:eu-west-1:{account}:stream/s"}, "InvalidParameterException"),
    ({"destinationArn": "arn:aws:kinesis:us-east-1:999999999999:stream/s"}, "InvalidParameterException"),
    ({"roleArn": "arn:aws:iam::1:user/x"}, "InvalidParameterException"),
    ({"logGroupName": "/subs/none"}, "ResourceNotFoundException"),
])
def test_bad_subscription_filters(logs, change, expected):
    if not logs.describe_log_groups(logGroupNamePrefix="/subs/bad")["logGroups"]:
        logs.create_log_group(logGroupName="/subs/bad")
    account = account_of(logs)
    request = {"logGroupName": "/subs/bad", "filterName": "f", "filterPattern": "",
               "destinationArn": f"arn:aws:kinesis:us-east-1:{account}:stream/s"}
    request.update({k: v.replace("{account}", account) for k, v in change.items()})
    assert code(logs.put_subscription_filter, **request) == expected
    assert logs.describe_subscription_filters(logGroupName="/subs/bad")["subscriptionFilters"] == []


def test_tags_agree_between_the_two_apis(logs, other):
    logs.create_log_group(logGroupName="/tags/app", tags={"team": "shop"})
    group = logs.describe_log_groups(logGroupNamePrefix="/tags/app")["logGroups"][0]
    arn, star_arn = group["logGroupArn"], group["arn"]
    logs.tag_resource(resourceArn=arn, tags={"env": "prod"})
    logs.tag_log_group(logGroupName="/tags/app", tags={"cost": "7"})
    logs.tag_resource(resourceArn=arn, tags={"tier": "web"})
    assert code(logs.tag_resource, resourceArn=star_arn, tags={"x": "y"}) == "InvalidParameterException"  # AWS's model
    everything = {"team": "shop", "env": "prod", "cost": "7", "tier": "web"}
    assert logs.list_tags_log_group(logGroupName="/tags/app")["tags"] == everything
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == everything
    logs.untag_log_group(logGroupName="/tags/app", tags=["env", "absent"])
    logs.untag_resource(resourceArn=arn, tagKeys=["cost"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "shop", "tier": "web"}
    assert code(logs.tag_resource, resourceArn=arn, tags={"aws:owner": "x"}) == "InvalidParameterException"
    assert code(logs.tag_log_group, logGroupName="/tags/app", tags={"aws:owner": "x"}) == \
        "InvalidParameterException"
    many = {f"k{i}": "v" for i in range(49)}
    assert code(logs.tag_resource, resourceArn=arn, tags=many) == "TooManyTagsException"
    assert code(logs.tag_log_group, logGroupName="/tags/app", tags=many) == "InvalidParameterException"
    assert logs.list_tags_log_group(logGroupName="/tags/app")["tags"] == {"team": "shop", "tier": "web"}
    assert code(logs.create_log_group, logGroupName="/tags/bad", tags={"aws:x": "y"}) == \
        "InvalidParameterException"
    assert logs.describe_log_groups(logGroupNamePrefix="/tags/bad")["logGroups"] == []
    assert code(logs.untag_log_group, logGroupName="/tags/none", tags=["team"]) == "ResourceNotFoundException"
    assert code(logs.list_tags_for_resource, resourceArn="not-an-arn") == "InvalidParameterException"
    for call, kwargs in ((other.tag_resource, {"tags": {"team": "thief"}}), (other.untag_resource,
                         {"tagKeys": ["team"]}), (other.list_tags_for_resource, {})):
        assert code(call, resourceArn=arn, **kwargs) == "ResourceNotFoundException"
    other.create_log_group(logGroupName="/tags/app")  # the same name in another account is another group
    assert code(other.tag_resource, resourceArn=arn, tags={"team": "thief"}) == "ResourceNotFoundException"
    assert other.list_tags_log_group(logGroupName="/tags/app")["tags"] == {}
    assert logs.list_tags_log_group(logGroupName="/tags/app")["tags"] == {"team": "shop", "tier": "web"}
