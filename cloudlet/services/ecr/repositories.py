"""ECR repositories: create, describe, delete, and their settings."""

import re

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination, tags
from cloudlet.store.schema import ecr_images, ecr_repositories as table

from .errors import repository_not_found
from .policy_text import check_policy
from .uris import registry_host

RESOURCE_TYPE = "repository"
_REPOSITORY_ARN = re.compile(r"arn:aws:ecr:[a-z0-9-]+:(?P<account>[0-9]{12}):repository/(?P<name>[a-z0-9._/-]{2,256})")


def check_registry(ctx, request) -> None:
    given = request.get("registryId")
    if given is not None and given != ctx.account_id:
        raise AWSError("InvalidParameterException", f"Invalid parameter at 'registryId' failed to satisfy constraint: "
                       f"'this account can only use its own registry ({ctx.account_id})'")


def find(ctx, db, name: str) -> dict:
    row = db.one(table, table.c.name == name)
    if row is None:
        raise repository_not_found(name, ctx.account_id)
    return row


class Repositories:
    def _describe(self, ctx, row: dict) -> dict:
        encryption = {"encryptionType": row["encryption_type"]}
        if row["kms_key"]:
            encryption["kmsKey"] = row["kms_key"]
        return {
            "repositoryArn": row["arn"], "registryId": ctx.account_id, "repositoryName": row["name"],
            "repositoryUri": f"{registry_host(ctx)}/{row['name']}",
            "createdAt": row["created_at"], "imageTagMutability": row["tag_mutability"],
            "imageScanningConfiguration": {"scanOnPush": bool(row["scan_on_push"])},
            "encryptionConfiguration": encryption,
        }

    def create_repository(self, ctx, request):
        check_registry(ctx, request)
        name = request["repositoryName"]
        encryption = request.get("encryptionConfiguration") or {"encryptionType": "AES256"}
        kind, kms_key = encryption["encryptionType"], encryption.get("kmsKey")
        if kind == "AES256" and kms_key:
            raise AWSError("InvalidParameterException", "Invalid parameter at 'encryptionConfiguration' failed to "
                           "satisfy constraint: 'kmsKey can only be specified with encryptionType KMS'")
        if kind.startswith("KMS") and not kms_key:
            kms_key = ctx.arn("kms", "key/aws-ecr")  # AWS's managed key for ECR
        tag_pairs = tags.from_pairs(request.get("tags"))
        arn = ctx.arn("ecr", f"repository/{name}")
        with ctx.write() as db:
            if db.one(table, table.c.name == name):
                raise AWSError("RepositoryAlreadyExistsException", f"The repository with name '{name}' already "
                               f"exists in the registry with id '{ctx.account_id}'")
            self.registry.add_repository(
                db, arn, name, mutability=request.get("imageTagMutability") or "MUTABLE",
                scan_on_push=bool((request.get("imageScanningConfiguration") or {}).get("scanOnPush")),
                encryption=kind, kms_key=kms_key)
            if tag_pairs:
                tags.put(db, arn, RESOURCE_TYPE, tag_pairs)
            row = find(ctx, db, name)
        return {"repository": self._describe(ctx, row)}

    def describe_repositories(self, ctx, request):
        check_registry(ctx, request)
        wanted = request.get("repositoryNames")
        if wanted is not None and request.get("nextToken"):
            raise AWSError("InvalidParameterException", "nextToken cannot be used with repositoryNames")
        with ctx.read() as db:
            rows = db.select(table, order_by=table.c.name)
        if wanted:
            by_name = {r["name"]: r for r in rows}
            missing = [n for n in wanted if n not in by_name]
            if missing:
                raise repository_not_found(missing[0], ctx.account_id)
            rows = [by_name[n] for n in wanted]
        page, token = pagination.page(rows, lambda r: r["name"], request.get("nextToken"),
                                      request.get("maxResults"), default=100, maximum=1000)
        return {"repositories": [self._describe(ctx, r) for r in page], "nextToken": token}

    def delete_repository(self, ctx, request):
        check_registry(ctx, request)
        name = request["repositoryName"]
        with ctx.write() as db:
            row = find(ctx, db, name)
            if not request.get("force") and db.count(ecr_images, ecr_images.c.repository == name):
                raise AWSError("RepositoryNotEmptyException", f"The repository with name '{name}' in registry with "
                               f"id '{ctx.account_id}' cannot be deleted because it still contains images")
            self.registry.drop_repository(db, name)
            tags.drop_resource(db, row["arn"])
        self.registry.sync_holder()
        return {"repository": self._describe(ctx, row)}

    def put_image_tag_mutability(self, ctx, request):
        check_registry(ctx, request)
        name, value = request["repositoryName"], request["imageTagMutability"]
        with ctx.write() as db:
            find(ctx, db, name)
            db.update(table, table.c.name == name, tag_mutability=value)
        return {"registryId": ctx.account_id, "repositoryName": name, "imageTagMutability": value}

    def put_image_scanning_configuration(self, ctx, request):
        check_registry(ctx, request)
        name = request["repositoryName"]
        on_push = bool(request["imageScanningConfiguration"].get("scanOnPush"))
        with ctx.write() as db:
            find(ctx, db, name)
            db.update(table, table.c.name == name, scan_on_push=int(on_push))
        return {"registryId": ctx.account_id, "repositoryName": name,
                "imageScanningConfiguration": {"scanOnPush": on_push}}

    def _policy(self, ctx, request, column: str, value=None, *, delete=False):
        """Set (value, validated by the caller), read or delete (delete) a repository's policy text in column."""
        check_registry(ctx, request)
        name = request["repositoryName"]
        with ctx.write() as db:
            row = find(ctx, db, name)
            if value is not None:
                db.update(table, table.c.name == name, **{column: value})
                return value
            if row[column] is None:
                missing = ("RepositoryPolicyNotFoundException", "Repository policy does not exist") \
                    if column == "policy" else ("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist")
                raise AWSError(missing[0], f"{missing[1]} for the repository with name '{name}' in the registry "
                               f"with id '{ctx.account_id}'")
            if delete:
                db.update(table, table.c.name == name, **{column: None})
            return row[column]

    def set_repository_policy(self, ctx, request):
        check_policy(request["policyText"], "repository")
        text = self._policy(ctx, request, "policy", request["policyText"])
        return {"registryId": ctx.account_id, "repositoryName": request["repositoryName"], "policyText": text}

    def get_repository_policy(self, ctx, request):
        text = self._policy(ctx, request, "policy")
        return {"registryId": ctx.account_id, "repositoryName": request["repositoryName"], "policyText": text}

    def delete_repository_policy(self, ctx, request):
        text = self._policy(ctx, request, "policy", delete=True)
        return {"registryId": ctx.account_id, "repositoryName": request["repositoryName"], "policyText": text}

    # ArnTagging
    tag_pair_names = ("Key", "Value")

    def tagged_resource_type(self, db, arn: str) -> str:
        match = _REPOSITORY_ARN.fullmatch(arn)
        if match is None:
            raise AWSError("InvalidParameterException", "Invalid parameter at 'resourceArn' failed to satisfy "
                           "constraint: 'Invalid ARN'")
        if db.one(table, table.c.arn == arn) is None:
            # another account's or region's repository is not found here, whether it exists or not
            raise repository_not_found(match["name"], match["account"])
        return RESOURCE_TYPE
