"""ECR lifecycle policies through boto3: refused when invalid, previewed, and applied by
the server's background job (here every half second) as ECR applies them."""

import json
import time
from datetime import datetime, timezone

import pytest

from tests.e2e.errors import code
from tests.e2e.registry_http import V2
from tests.e2e.server import Server

KEEP_TWO = json.dumps({"rules": [{"rulePriority": 1, "description": "keep the two newest releases",
                                  "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"],
                                                "countType": "imageCountMoreThan", "countNumber": 2},
                                  "action": {"type": "expire"}}]})


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("lifecycle"), args=("--lifecycle-interval", "0.5")).start()
    yield srv
    srv.stop()


def test_preview_then_the_job_expires(quick):
    ecr = quick.client("ecr")
    ecr.create_repository(repositoryName="life/app")
    v2 = V2.login(quick, ecr)
    for n in range(1, 5):
        v2.push_image("life/app", f"v{n}", [f"layer {n}".encode()])
        time.sleep(0.01)  # distinct push times: "newest" must be well defined
    v2.push_image("life/app", "latest-dev", [b"dev"])
    assert code(ecr.get_lifecycle_policy_preview, repositoryName="life/app") == \
        "LifecyclePolicyPreviewNotFoundException"
    started = ecr.start_lifecycle_policy_preview(repositoryName="life/app", lifecyclePolicyText=KEEP_TWO)
    assert started["status"] == "IN_PROGRESS"
    preview = ecr.get_lifecycle_policy_preview(repositoryName="life/app")
    assert preview["status"] == "COMPLETE" and preview["summary"]["expiringImageTotalCount"] == 2
    assert sorted(r["imageTags"][0] for r in preview["previewResults"]) == ["v1", "v2"]
    assert {r["appliedRulePriority"] for r in preview["previewResults"]} == {1}
    tags = lambda: sorted(i["imageTag"] for i in ecr.list_images(repositoryName="life/app")["imageIds"])
    assert tags() == ["latest-dev", "v1", "v2", "v3", "v4"]  # a preview expires nothing

    put_at = datetime.now(timezone.utc).replace(microsecond=0)  # the wire's timestamps have whole seconds
    ecr.put_lifecycle_policy(repositoryName="life/app", lifecyclePolicyText=KEEP_TWO)
    deadline = time.monotonic() + 20
    while tags() != ["latest-dev", "v3", "v4"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert tags() == ["latest-dev", "v3", "v4"]
    evaluated = ecr.get_lifecycle_policy(repositoryName="life/app")["lastEvaluatedAt"]
    assert put_at <= evaluated <= datetime.now(timezone.utc)
    deleted = ecr.delete_lifecycle_policy(repositoryName="life/app")
    assert evaluated <= deleted["lastEvaluatedAt"] <= datetime.now(timezone.utc)  # the job may have run since
    assert code(ecr.get_lifecycle_policy, repositoryName="life/app") == "LifecyclePolicyNotFoundException"


def test_invalid_policies_are_refused(quick):
    ecr = quick.client("ecr")
    ecr.create_repository(repositoryName="life/bad")
    bad = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "tagged", "countType":
                                                                    "imageCountMoreThan", "countNumber": 1},
                                 "action": {"type": "expire"}}]})
    for text in (bad, "[" * 10000, '{"rules": [' + "[" * 5000 + "]}"):  # nested past Python's recursion limit
        assert code(ecr.put_lifecycle_policy, repositoryName="life/bad", lifecyclePolicyText=text) == \
            "InvalidParameterException"
    assert code(ecr.start_lifecycle_policy_preview, repositoryName="life/bad") == \
        "LifecyclePolicyNotFoundException"
    assert code(ecr.put_lifecycle_policy, repositoryName="nope/nope", lifecyclePolicyText=KEEP_TWO) == \
        "RepositoryNotFoundException"
