"""ECR's registry-wide settings through boto3: the registry policy, the replication
configuration DescribeRegistry shows, and the scanning configuration, whose scan-on-push
rules start scans of pushed images. Each account and region has a registry of its own."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.e2e.errors import code
from tests.e2e.registry_http import V2
from tests.e2e.server import module_server
from tests.e2e.test_ecr_scanning import layer

# registry-wide settings would reach other modules' pushes; conftest's `ecr` is this server's
server = module_server("ecr-registry")

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "ReplicateIn", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
    "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"], "Resource": "arn:aws:ecr:us-east-1:*:repository/*"}]})
INVALID_POLICY = "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'"


@pytest.fixture(scope="module")
def raw(server):
    """A client that sends what the model refuses, as a hand-made request would."""
    return server.client("ecr", validate=False)


@pytest.fixture(scope="module")
def other(server):
    key, secret = server.new_account("ecr-registry-other")
    return server.client("ecr", key=key, secret=secret)


def error(call, **kw) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call(**kw)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_registry_policy_is_the_accounts_own(server, ecr, other):
    account = ecr.describe_registry()["registryId"]
    assert error(ecr.get_registry_policy) == ("RegistryPolicyNotFoundException",
                                              f"Registry policy does not exist in the registry with id '{account}'")
    put = ecr.put_registry_policy(policyText=POLICY)
    assert (put["registryId"], put["policyText"]) == (account, POLICY)
    assert ecr.get_registry_policy() | {"ResponseMetadata": None} == \
        {"registryId": account, "policyText": POLICY, "ResponseMetadata": None}

    # the other account has a registry of its own, without a policy, and cannot reach ours
    assert code(other.get_registry_policy) == "RegistryPolicyNotFoundException"
    assert code(other.delete_registry_policy) == "RegistryPolicyNotFoundException"
    theirs = json.dumps({"Statement": {"Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Resource": "*"}})
    theirs_id = other.describe_registry()["registryId"]
    assert theirs_id != account and other.put_registry_policy(policyText=theirs)["registryId"] == theirs_id
    assert ecr.get_registry_policy()["policyText"] == POLICY
    # so is another region of the same account
    assert code(server.client("ecr", region="eu-west-1").get_registry_policy) == "RegistryPolicyNotFoundException"

    deleted = ecr.delete_registry_policy()
    assert (deleted["registryId"], deleted["policyText"]) == (account, POLICY)
    assert code(ecr.get_registry_policy) == "RegistryPolicyNotFoundException"
    assert code(ecr.delete_registry_policy) == "RegistryPolicyNotFoundException"
    assert other.delete_registry_policy()["policyText"] == theirs


@pytest.mark.parametrize("text", [
    "{nope", "", "[]", '"Statement"', "null", '{"Version": "2012-10-17"}', '{"Statement": "allow"}',
    '{"Statement": [{"Effect": "Perhaps"}]}', '{"Statement": [], "x": NaN}', "[" * 5000 + "]" * 5000,
    '{"Statement": [' + "[" * 3000 + "]" * 3000 + "]}",
])
def test_invalid_policies_are_refused_and_nothing_is_kept(ecr, text):
    ecr.put_registry_policy(policyText=POLICY)
    try:
        assert error(ecr.put_registry_policy, policyText=text) == ("InvalidParameterException", INVALID_POLICY)
        assert ecr.get_registry_policy()["policyText"] == POLICY
    finally:
        ecr.delete_registry_policy()


def test_over_long_policies_are_refused_by_the_model(ecr, raw):
    long = json.dumps({"Statement": [], "Sid": "x" * 10240})
    refused, message = error(raw.put_registry_policy, policyText=long)
    assert refused == "InvalidParameterException"
    assert "at 'policyText' failed to satisfy constraint: Member must have length less than or equal to 10240" \
        in message
    assert code(ecr.get_registry_policy) == "RegistryPolicyNotFoundException"
    ecr.create_repository(repositoryName="registry/policed")
    assert error(ecr.set_repository_policy, repositoryName="registry/policed", policyText="[" * 5000) == \
        ("InvalidParameterException", INVALID_POLICY.replace("registry", "repository"))
    assert code(raw.set_repository_policy, repositoryName="registry/policed", policyText=long) == \
        "InvalidParameterException"
    assert code(ecr.get_repository_policy, repositoryName="registry/policed") == "RepositoryPolicyNotFoundException"


def rule(*destinations: tuple[str, str], prefixes=("team/",)) -> dict:
    return {"destinations": [{"region": r, "registryId": a} for r, a in destinations],
            "repositoryFilters": [{"filter": p, "filterType": "PREFIX_MATCH"} for p in prefixes]}


def test_replication_configuration_is_stored_and_described(ecr, other):
    account = ecr.describe_registry()["registryId"]
    assert ecr.describe_registry()["replicationConfiguration"] == {"rules": []}
    config = {"rules": [rule(("us-west-2", account), ("eu-west-1", "210987654321")),
                        {**rule(("ap-south-1", account), prefixes=("prod", "shared/base")),
                         "deleteReplication": {"enabled": True}},
                        {"destinations": [{"region": "us-east-1", "registryId": "210987654321"}]}]}
    assert ecr.put_replication_configuration(replicationConfiguration=config)["replicationConfiguration"] == config
    assert ecr.describe_registry()["replicationConfiguration"] == config
    assert other.describe_registry()["replicationConfiguration"] == {"rules": []}
    assert ecr.put_replication_configuration(replicationConfiguration={"rules": []})["replicationConfiguration"] \
        == {"rules": []}
    assert ecr.describe_registry()["replicationConfiguration"] == {"rules": []}


def test_replication_configurations_aws_refuses(ecr, raw):
    account = ecr.describe_registry()["registryId"]
    kept = {"rules": [rule(("us-west-2", account))]}
    ecr.put_replication_configuration(replicationConfiguration=kept)
    elsewhere = [(f"us-west-{1 + n % 2}", f"{n:012d}") for n in range(26)]
    refusals = [
        ({"rules": [rule(("us-west-2", account))] * 11}, "at most 10 rules"),
        ({"rules": [rule(*elsewhere)]}, "at most 25 destinations"),
        ({"rules": [rule(("mars-north-1", account))]}, "'mars-north-1' is not a valid region"),
        ({"rules": [rule(("us-east-1", account))]}, "cannot replicate to itself"),
        ({"rules": [rule(("us-west-2", account), ("us-west-2", account))]}, "the same destination more than once"),
        ({"rules": [rule()]}, "at least one destination"),
        ({"rules": [rule(("us-west-2", "12345"))]}, "Member must satisfy regular expression pattern: [0-9]{12}"),
        ({"rules": [rule(("us-west-2", "1234567890123"))]}, "Member must satisfy regular expression pattern"),
        ({"rules": [rule(("US_WEST", account))]}, "Member must satisfy regular expression pattern"),
        ({"rules": [{**rule(("us-west-2", account)), "repositoryFilters": [{"filter": "team/",
                                                                           "filterType": "SUFFIX_MATCH"}]}]},
         "Member must satisfy enum value set: [PREFIX_MATCH]"),
        ({"rules": [rule(("us-west-2", account), prefixes=("Team/*",))]}, "regular expression pattern"),
        ({"rules": [rule(("us-west-2", account), prefixes=())]}, "length greater than or equal to 1"),
        ({}, "Member must not be null"),
    ]
    for config, why in refusals:
        refused, message = error(raw.put_replication_configuration, replicationConfiguration=config)
        assert refused == "InvalidParameterException" and why in message, (config, message)
    assert ecr.describe_registry()["replicationConfiguration"] == kept
    ecr.put_replication_configuration(replicationConfiguration={"rules": []})


def wildcard(*filters: str, frequency: str = "SCAN_ON_PUSH") -> dict:
    return {"scanFrequency": frequency, "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"}
                                                              for f in filters]}


def test_scanning_configuration(ecr, raw, other):
    account = ecr.describe_registry()["registryId"]
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == {"scanType": "BASIC", "rules": []}
    rules = [wildcard("prod-*", "team/*/api"), wildcard("*", frequency="MANUAL")]
    put = ecr.put_registry_scanning_configuration(scanType="BASIC", rules=rules)
    assert put["registryScanningConfiguration"] == {"scanType": "BASIC", "rules": rules}
    got = ecr.get_registry_scanning_configuration()
    assert (got["registryId"], got["scanningConfiguration"]) == (account, {"scanType": "BASIC", "rules": rules})
    assert other.get_registry_scanning_configuration()["scanningConfiguration"] == \
        {"scanType": "BASIC", "rules": []}
    enhanced = [wildcard("*", frequency="CONTINUOUS_SCAN")]
    assert ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=enhanced)[
        "registryScanningConfiguration"] == {"scanType": "ENHANCED", "rules": enhanced}

    refusals = [
        ({"scanType": "BASIC", "rules": [wildcard("*", frequency="CONTINUOUS_SCAN")]},
         "scan frequency CONTINUOUS_SCAN is not supported with scan type BASIC"),
        ({"scanType": "ENHANCED", "rules": [wildcard("*", frequency="MANUAL")]},
         "scan frequency MANUAL is not supported with scan type ENHANCED"),
        ({"scanType": "BASIC", "rules": [wildcard("a*"), wildcard("b*")]}, "more than one rule has scan frequency"),
        ({"scanType": "BASIC", "rules": [wildcard("a")] * 3}, "length less than or equal to 2"),
        ({"scanType": "STANDARD"}, "Member must satisfy enum value set: [BASIC, ENHANCED]"),
        ({"rules": [wildcard("Prod")]}, "regular expression pattern"),
        ({"rules": [wildcard("a" * 256)]}, "length less than or equal to 255"),
        ({"rules": [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "a",
                                                                            "filterType": "PREFIX_MATCH"}]}]},
         "Member must satisfy enum value set: [WILDCARD]"),
        ({"rules": [{"scanFrequency": "HOURLY", "repositoryFilters": []}]}, "enum value set"),
    ]
    for request, why in refusals:
        refused, message = error(raw.put_registry_scanning_configuration, **request)
        assert refused == "InvalidParameterException" and why in message, (request, message)
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == \
        {"scanType": "ENHANCED", "rules": enhanced}
    # put without arguments: back to the default
    assert ecr.put_registry_scanning_configuration()["registryScanningConfiguration"] == \
        {"scanType": "BASIC", "rules": []}


def scan_status(ecr, repo: str, tag: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        status = ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageTag": tag})[
            "imageScanStatus"]["status"]
        if status != "IN_PROGRESS" or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_a_registry_scan_on_push_rule_scans_what_its_filters_pick(server, ecr, other):
    ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[wildcard("scanned/*-app", "edge")])
    v2 = V2.login(server, ecr)
    for repo in ("scanned/web-app", "hedge/fund", "scanned/web-api", "unscanned", "scanned/bad-app"):
        ecr.create_repository(repositoryName=repo)
        v2.push_image(repo, "1", [layer({"bin/app": repo.encode()}) if repo != "scanned/bad-app" else b"no tar"])
    # "*" spans the name; a filter without one picks names that contain it
    for repo in ("scanned/web-app", "hedge/fund"):
        assert scan_status(ecr, repo, "1") == "UNSUPPORTED_IMAGE"  # a scan ran: no package database in it
    assert scan_status(ecr, "scanned/bad-app", "1") == "FAILED"  # not left IN_PROGRESS for ever
    for repo in ("scanned/web-api", "unscanned"):
        assert code(ecr.describe_image_scan_findings, repositoryName=repo, imageId={"imageTag": "1"}) == \
            "ScanNotFoundException"
    # the rule is this account's: the other account's pushes to the same names are not scanned
    other.create_repository(repositoryName="scanned/web-app")
    V2.login(server, other).push_image("scanned/web-app", "1", [b"theirs"])
    time.sleep(0.5)
    assert code(other.describe_image_scan_findings, repositoryName="scanned/web-app", imageId={"imageTag": "1"}) \
        == "ScanNotFoundException"
    ecr.put_registry_scanning_configuration()
    v2.push_image("scanned/web-app", "2", [b"after the rule went"])
    time.sleep(0.5)
    assert code(ecr.describe_image_scan_findings, repositoryName="scanned/web-app", imageId={"imageTag": "2"}) == \
        "ScanNotFoundException"


def test_another_accounts_registry_id_is_refused(ecr, other):
    account = ecr.describe_registry()["registryId"]
    ecr.create_repository(repositoryName="registry/life")
    ecr.put_lifecycle_policy(repositoryName="registry/life", lifecyclePolicyText=json.dumps({"rules": [{
        "rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
        "action": {"type": "expire"}}]}))
    for call in (other.get_lifecycle_policy, other.delete_lifecycle_policy, other.get_repository_policy):
        refused, message = error(call, registryId=account, repositoryName="registry/life")
        assert refused == "InvalidParameterException" and "registryId" in message
    assert ecr.get_lifecycle_policy(repositoryName="registry/life")["registryId"] == account
