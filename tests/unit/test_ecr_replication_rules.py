"""Which destinations an ECR replication configuration gives a repository, and what another
account's registry policy lets the source account do there."""

import json

import pytest

from cloudlet.services.ecr.policy_text import grants
from cloudlet.services.ecr.replication import destinations

SOURCE = "111122223333"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal, action, **more) -> dict:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **more}


def test_rules_pick_by_prefix_and_name_each_destination_once():
    config = {"rules": [
        {"destinations": [{"region": "us-west-2", "registryId": SOURCE}],
         "repositoryFilters": [{"filter": "prod/", "filterType": "PREFIX_MATCH"}]},
        {"destinations": [{"region": "us-west-2", "registryId": SOURCE}, {"region": "eu-west-1", "registryId": "x"}]},
    ]}
    assert destinations(config, "prod/web") == [("us-west-2", SOURCE), ("eu-west-1", "x")]
    assert destinations(config, "dev/prod/web") == [("us-west-2", SOURCE), ("eu-west-1", "x")]  # the rule without filters
    assert destinations({"rules": config["rules"][:1]}, "dev/prod/web") == []
    assert destinations({"rules": []}, "prod/web") == []


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": SOURCE}, {"AWS": f"arn:aws:iam::{SOURCE}:root"},
                                       {"AWS": ["arn:aws:iam::999988887777:root", SOURCE]}])
@pytest.mark.parametrize("action", ["ecr:ReplicateImage", "ecr:*", "*", "ECR:replicate*", "ecr:Replicate?mage",
                                    ["ecr:CreateRepository", "ecr:ReplicateImage"]])
def test_an_allow_naming_the_account_and_action_grants(principal, action):
    assert grants(policy(allow(principal, action)), SOURCE, "ecr:ReplicateImage")


@pytest.mark.parametrize("statement", [
    allow({"AWS": "999988887777"}, "ecr:ReplicateImage"),  # another account
    allow({"AWS": f"arn:aws:iam::{SOURCE}:user/bob"}, "ecr:ReplicateImage"),  # a user, not the account
    allow({"Service": "ecr.amazonaws.com"}, "ecr:ReplicateImage"),
    allow("*", "ecr:CreateRepository"),  # another action
    allow("*", "ecr:[R]eplicateImage"),  # IAM has no character classes
    allow("*", "ecr:ReplicateImage", Condition={"StringEquals": {"aws:SourceAccount": SOURCE}}),  # not evaluated
    {"Effect": "Allow", "NotPrincipal": {"AWS": "999988887777"}, "Action": "*", "Resource": "*"},
    {"Effect": "Allow", "Principal": "*", "NotAction": "ecr:DeleteRepository", "Resource": "*"},
])
def test_what_does_not_certainly_allow_grants_nothing(statement):
    assert not grants(policy(statement), SOURCE, "ecr:ReplicateImage")


@pytest.mark.parametrize("deny", [
    {"Effect": "Deny", "Principal": "*", "Action": "ecr:ReplicateImage"},
    {"Effect": "Deny", "Principal": {"AWS": SOURCE}, "Action": "*"},
    {"Effect": "Deny", "NotPrincipal": {"AWS": "999988887777"}, "Action": "ecr:*"},  # may name the source
    {"Effect": "Deny", "Principal": "*", "NotAction": "ecr:DeleteRepository"},
    {"Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
])
def test_a_deny_that_may_apply_wins(deny):
    assert not grants(policy(allow("*", "ecr:*"), deny), SOURCE, "ecr:ReplicateImage")


def test_no_policy_grants_nothing():
    assert not grants(None, SOURCE, "ecr:ReplicateImage")
    assert grants(json.dumps({"Statement": allow({"AWS": SOURCE}, "ecr:ReplicateImage")}), SOURCE,
                  "ecr:ReplicateImage")  # one statement, not in a list
