"""ECR replication: an image pushed to a repository the registry's replication rules pick is
copied, with its tags, to the same repository in each rule's destinations (other regions of
the account, other accounts' registries), made there with ECR's defaults if need be, in the
push's own request: the bytes are shared, so a copy is a few rows. DescribeImageReplicationStatus
reads back how each went.

As on AWS: only images pushed after the rules are in place are copied; what replication
brought is not replicated further; deleting an image is not replicated; another account's
registry takes images only if its registry policy allows this account ecr:ReplicateImage
(and ecr:CreateRepository, where the repository is still to be made)."""

from cloudlet.registry.errors import RegistryError
from cloudlet.registry.registry import Scope
from cloudlet.store.schema import ecr_replications as table, ecr_repositories

from .policy_text import grants
from .registry import POLICY, REPLICATION, setting


def destinations(config: dict, repository: str) -> list[tuple[str, str]]:
    """(region, registry id) of each destination the rules give repository, each once."""
    out: dict[tuple[str, str], None] = {}
    for rule in config["rules"]:
        filters = rule.get("repositoryFilters") or []
        if not filters or any(repository.startswith(f["filter"]) for f in filters):  # PREFIX_MATCH, the only type
            out.update(dict.fromkeys((d["region"], d["registryId"]) for d in rule["destinations"]))
    return list(out)


class Replication:
    def replicate_pushed(self, scope: Scope, repo: str, digest: str) -> None:
        """The registry's hook for a push: the image copied to each destination, its outcome kept."""
        with self.registry.db(scope) as db:
            targets = destinations(setting(db, REPLICATION), repo)
        for region, registry in targets:
            failure = self._copy(scope, repo, digest, Scope(registry, region))
            with self.registry.db(scope, write=True) as db:
                where = (table.c.repository == repo, table.c.digest == digest, table.c.destination_region == region,
                         table.c.destination_registry == registry)
                db.delete(table, *where)
                db.insert(table, repository=repo, digest=digest, destination_region=region,
                          destination_registry=registry, status="FAILED" if failure else "COMPLETE",
                          failure_code=failure)

    def _copy(self, source: Scope, repo: str, digest: str, dest: Scope) -> str | None:
        """None once copied; else why not, as the status's failureCode."""
        if dest.account_id != source.account_id:
            with self.registry.db(dest) as db:
                policy = setting(db, POLICY)
                exists = db.one(ecr_repositories, ecr_repositories.c.name == repo) is not None
            needed = ["ecr:ReplicateImage", *([] if exists else ["ecr:CreateRepository"])]
            refused = [a for a in needed if not grants(policy, source.account_id, a)]
            if refused:
                return (f"the registry policy of {dest.account_id} in {dest.region} does not allow "
                        f"{source.account_id} {' and '.join(refused)}")
        try:
            self.registry.copy_image(source, repo, digest, dest,
                                     f"arn:aws:ecr:{dest.region}:{dest.account_id}:repository/{repo}")
        except RegistryError as e:
            return e.message
        return None

    def describe_image_replication_status(self, ctx, request):
        repo, digest, image = self._image(ctx, request)  # (Scans': the image the request names)
        image.pop("mediaType")
        with ctx.read() as db:
            rows = db.select(table, table.c.repository == repo, table.c.digest == digest,
                             order_by=(table.c.destination_region, table.c.destination_registry))
        statuses = [{"region": r["destination_region"], "registryId": r["destination_registry"], "status": r["status"],
                     **({"failureCode": r["failure_code"]} if r["failure_code"] else {})} for r in rows]
        return {"repositoryName": repo, "imageId": image, "replicationStatuses": statuses}
