"""ECR lifecycle policies: put, get, delete, preview. The registry applies them in the
background (LifecycleJob), as ECR does some time after a push."""

import json
import logging

from cloudlet.control.loop import Loop
from cloudlet.edge.errors import AWSError
from cloudlet.registry import lifecycle
from cloudlet.services.common import pagination
from cloudlet.store.schema import ecr_repositories as table

from .repositories import check_registry, find

log = logging.getLogger("cloudlet.ecr.lifecycle")


def _rules(text: str) -> list[dict]:
    try:
        return lifecycle.parse(text)
    except lifecycle.PolicyError as e:
        raise AWSError("InvalidParameterException", str(e)) from None


class Lifecycle:
    def _answer(self, ctx, request, text: str, **extra) -> dict:
        return {"registryId": ctx.account_id, "repositoryName": request["repositoryName"],
                "lifecyclePolicyText": text, **extra}

    def put_lifecycle_policy(self, ctx, request):
        _rules(request["lifecyclePolicyText"])
        return self._answer(ctx, request, self._policy(ctx, request, "lifecycle_policy",
                                                       request["lifecyclePolicyText"]))

    def get_lifecycle_policy(self, ctx, request):
        text = self._policy(ctx, request, "lifecycle_policy")
        with ctx.read() as db:
            evaluated = find(ctx, db, request["repositoryName"])["lifecycle_evaluated_at"]
        return self._answer(ctx, request, text, lastEvaluatedAt=evaluated)

    def delete_lifecycle_policy(self, ctx, request):
        """Answers, as ECR does, when the deleted policy was last evaluated."""
        check_registry(ctx, request)
        with ctx.read() as db:
            evaluated = find(ctx, db, request["repositoryName"])["lifecycle_evaluated_at"]
        text = self._policy(ctx, request, "lifecycle_policy", delete=True)
        return self._answer(ctx, request, text, lastEvaluatedAt=evaluated)

    def start_lifecycle_policy_preview(self, ctx, request):
        check_registry(ctx, request)
        repo = request["repositoryName"]
        with ctx.write() as db:
            row = find(ctx, db, repo)
            text = request.get("lifecyclePolicyText") or row["lifecycle_policy"]
            if not text:
                raise AWSError("LifecyclePolicyNotFoundException", f"Lifecycle policy does not exist for the "
                               f"repository with name '{repo}' in the registry with id '{ctx.account_id}'")
            expiries = lifecycle.evaluate(_rules(text), self.registry.candidates(db, repo))
            results = [{"imageTags": list(e.image.tags) or None, "imageDigest": e.image.digest,
                        "imagePushedAt": e.image.pushed_at, "action": {"type": "EXPIRE"},
                        "appliedRulePriority": e.rule_priority} for e in expiries]
            db.update(table, table.c.name == repo, lifecycle_preview=json.dumps({"text": text, "results": results}))
        # Computed at once; ECR answers IN_PROGRESS here and COMPLETE when asked again.
        return self._answer(ctx, request, text, status="IN_PROGRESS")

    def get_lifecycle_policy_preview(self, ctx, request):
        check_registry(ctx, request)
        repo = request["repositoryName"]
        with ctx.read() as db:
            preview = find(ctx, db, repo)["lifecycle_preview"]
        if preview is None:
            raise AWSError("LifecyclePolicyPreviewNotFoundException", f"There is no lifecycle policy preview for "
                           f"the repository with name '{repo}' in the registry with id '{ctx.account_id}'")
        preview = json.loads(preview)
        results = preview["results"]
        if request.get("imageIds"):
            wanted = [i.get("imageDigest") or i.get("imageTag") for i in request["imageIds"]]
            results = [r for r in results if r["imageDigest"] in wanted or set(r["imageTags"] or []) & set(wanted)]
        status = (request.get("filter") or {}).get("tagStatus")
        if status in ("TAGGED", "UNTAGGED"):
            results = [r for r in results if bool(r["imageTags"]) == (status == "TAGGED")]
        page, token = pagination.page(list(enumerate(results)), lambda pair: pair[0], request.get("nextToken"),
                                      request.get("maxResults"), default=100)
        return self._answer(ctx, request, preview["text"], status="COMPLETE", previewResults=[r for _, r in page],
                            nextToken=token, summary={"expiringImageTotalCount": len(preview["results"])})


class LifecycleJob(Loop):
    """Applies every repository's lifecycle policy every `interval` seconds."""

    def __init__(self, registry, interval: float):
        self._registry = registry
        self.start("ecr-lifecycle", interval)

    def round(self) -> None:
        for expired in self._registry.apply_lifecycle_policies():
            log.info("lifecycle policy expired %s", expired)
