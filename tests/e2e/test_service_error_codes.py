"""What ECR, ECS and CloudWatch Logs answer for what their models refuse (InvalidParameterException,
not the usual ValidationException), and for tags of what does not exist, in this account or another."""

import pytest
from botocore.exceptions import ClientError


def refusal(call, **kwargs) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    resp = err.value.response
    return resp["Error"]["Code"], resp["Error"]["Message"], resp["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def raw(server):
    """Clients that send what they are given, as a script in another language would."""
    return {service: server.client(service, validate=False) for service in ("ecr", "ecs", "logs")}


@pytest.mark.parametrize("service, call, kwargs, where", [
    ("ecr", "create_repository", {"repositoryName": "Upper/Case"}, "repositoryName"),
    ("ecr", "create_repository", {"repositoryName": "a"}, "repositoryName"),
    ("ecr", "create_repository", {"repositoryName": "ok-name", "imageTagMutability": "SOMETIMES"},
     "imageTagMutability"),
    ("ecr", "put_image_tag_mutability", {"repositoryName": "ok-name", "imageTagMutability": "SOMETIMES"},
     "imageTagMutability"),
    ("ecr", "list_images", {"repositoryName": "ok-name", "filter": {"tagStatus": "MAYBE"}}, "filter.tagStatus"),
    ("ecr", "describe_images", {"repositoryName": "ok-name", "filter": {"tagStatus": "MAYBE"}}, "filter.tagStatus"),
    ("ecr", "describe_repositories", {"maxResults": 0}, "maxResults"),
    ("ecs", "run_task", {"taskDefinition": "x", "launchType": "SPACESHIP"}, "launchType"),
    ("ecs", "run_task", {}, "taskDefinition"),
    ("ecs", "create_service", {"serviceName": "s", "taskDefinition": "x", "schedulingStrategy": "SOMETIMES"},
     "schedulingStrategy"),
    ("ecs", "create_service", {"taskDefinition": "x"}, "serviceName"),
    ("logs", "create_log_group", {"logGroupName": "no spaces allowed"}, "logGroupName"),
    ("logs", "describe_log_groups", {"limit": 0}, "limit"),
])
def test_model_refusals_are_invalid_parameter(raw, service, call, kwargs, where):
    code, message, status = refusal(getattr(raw[service], call), **kwargs)
    assert (code, status) == ("InvalidParameterException", 400)
    assert message.startswith("1 validation error detected: ") and f"at '{where}'" in message


def test_other_services_keep_validation_exception(server):
    ssm = server.client("ssm", validate=False)
    assert refusal(ssm.get_parameter, Name="")[0] == "ValidationException"


def test_a_wrongly_typed_member_is_a_serialization_error(raw):
    assert refusal(raw["ecs"].run_task, taskDefinition="x", count="many")[0] == "SerializationException"


@pytest.fixture(scope="module")
def other(server):
    key, secret = server.new_account("error-codes-b")
    return {service: server.client(service, key=key, secret=secret) for service in ("ecr", "ecs")}


def test_ecr_tags_of_a_missing_repository(server, other):
    ecr = server.client("ecr")
    account = server.client("sts").get_caller_identity()["Account"]
    missing = f"arn:aws:ecr:us-east-1:{account}:repository/never-made"
    for call, kwargs in (("tag_resource", {"tags": [{"Key": "k", "Value": "v"}]}),
                         ("untag_resource", {"tagKeys": ["k"]}), ("list_tags_for_resource", {})):
        code, message, _ = refusal(getattr(ecr, call), resourceArn=missing, **kwargs)
        assert code == "RepositoryNotFoundException"
        assert message == f"The repository with name 'never-made' does not exist in the registry with id '{account}'"
    assert refusal(ecr.list_tags_for_resource, resourceArn="not-an-arn")[0] == "InvalidParameterException"
    # another account's repository, named exactly, is not found from here, and keeps its tags
    arn = ecr.create_repository(repositoryName="tagged-mine")["repository"]["repositoryArn"]
    try:
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "a"}])
        other["ecr"].create_repository(repositoryName="tagged-mine")
        assert refusal(other["ecr"].tag_resource, resourceArn=arn, tags=[{"Key": "team", "Value": "b"}])[0] == \
            "RepositoryNotFoundException"
        assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "a"}]
    finally:
        ecr.delete_repository(repositoryName="tagged-mine", force=True)
        other["ecr"].delete_repository(repositoryName="tagged-mine", force=True)


def test_ecs_tags_of_missing_services_and_clusters(server, other):
    ecs = server.client("ecs")
    ecs.create_cluster(clusterName="tags-here")
    account = server.client("sts").get_caller_identity()["Account"]
    prefix = f"arn:aws:ecs:us-east-1:{account}"
    service = f"{prefix}:service/tags-here/never-made"
    for call, kwargs in (("tag_resource", {"tags": [{"key": "k", "value": "v"}]}),
                         ("untag_resource", {"tagKeys": ["k"]}), ("list_tags_for_resource", {})):
        assert refusal(getattr(ecs, call), resourceArn=service, **kwargs)[:2] == \
            ("ServiceNotFoundException", "Service not found.")
    assert refusal(ecs.list_tags_for_resource, resourceArn=f"{prefix}:cluster/never-made")[0] == \
        "ClusterNotFoundException"
    assert refusal(ecs.list_tags_for_resource, resourceArn=f"{prefix}:service/never-made/svc")[0] == \
        "ClusterNotFoundException"
    assert refusal(ecs.list_tags_for_resource, resourceArn="arn:aws:ecs:nope")[0] == "InvalidParameterException"
    # the same names in another account: not found from there
    cluster = f"{prefix}:cluster/tags-here"
    ecs.tag_resource(resourceArn=cluster, tags=[{"key": "team", "value": "a"}])
    other["ecs"].create_cluster(clusterName="tags-here")
    assert refusal(other["ecs"].tag_resource, resourceArn=cluster, tags=[{"key": "team", "value": "b"}])[0] == \
        "ClusterNotFoundException"
    assert ecs.list_tags_for_resource(resourceArn=cluster)["tags"] == [{"key": "team", "value": "a"}]
