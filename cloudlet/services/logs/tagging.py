"""A log group's tags, through both APIs AWS keeps: the older TagLogGroup / UntagLogGroup /
ListTagsLogGroup, which name the group, and TagResource / UntagResource / ListTagsForResource,
which take its ARN (logGroupArn, without the trailing `:*`). Both read and write the same tags,
kept under that ARN; an ARN of another account or region names nothing here, whether such a
group exists or not."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import tags
from cloudlet.store import logs as store_logs
from cloudlet.store.schema import log_groups

from .errors import as_aws, invalid

RESOURCE_TYPE = "log-group"


def _put(db, arn: str, pairs: dict[str, str], too_many: AWSError) -> None:
    """Add or overwrite tags with Logs' refusals (the shared helper speaks EC2's codes)."""
    for key, value in pairs.items():
        if tags.reserved(key):
            raise invalid("Tag keys starting with 'aws:' are reserved for AWS use.")
        if not key or len(key) > 128 or len(value) > 256:
            raise invalid("A tag key holds 1 to 128 characters and a tag value at most 256.")
    current = tags.get(db, arn)
    if len({k for k in set(current) | set(pairs) if not tags.reserved(k)}) > tags.MAX_TAGS:
        raise too_many
    tags.put(db, arn, RESOURCE_TYPE, pairs)


class TaggingAPI:
    """The tagging operations of the Logs provider."""

    def _arn_group(self, ctx, db, arn: str) -> str:
        """The canonical ARN of the group `arn` names in the caller's account and region."""
        if not arn.startswith("arn:") or arn.count(":") < 5:
            raise invalid("The specified resource ARN is not valid.")
        prefix = ctx.arn("logs", "log-group:")
        name = arn[len(prefix):] if arn.startswith(prefix) else ""
        if not name or db.one(log_groups, log_groups.c.name == name) is None:
            raise AWSError("ResourceNotFoundException", "The specified resource does not exist.")
        return group_arn(ctx, name)

    def _named_group(self, ctx, db, name: str) -> str:
        with as_aws():
            store_logs.group(db, name)
        return group_arn(ctx, name)

    def tag_resource(self, ctx, request):
        with ctx.write() as db:
            arn = self._arn_group(ctx, db, request["resourceArn"])
            _put(db, arn, request["tags"], AWSError("TooManyTagsException", "A resource can have no more than "
                                                    f"{tags.MAX_TAGS} tags."))
        return {}

    def untag_resource(self, ctx, request):
        with ctx.write() as db:
            tags.remove(db, self._arn_group(ctx, db, request["resourceArn"]), request["tagKeys"])
        return {}

    def list_tags_for_resource(self, ctx, request):
        with ctx.read() as db:
            return {"tags": tags.get(db, self._arn_group(ctx, db, request["resourceArn"]))}

    def tag_log_group(self, ctx, request):
        with ctx.write() as db:
            arn = self._named_group(ctx, db, request["logGroupName"])
            _put(db, arn, request["tags"], invalid(f"A log group can have no more than {tags.MAX_TAGS} tags."))
        return {}

    def untag_log_group(self, ctx, request):
        with ctx.write() as db:
            tags.remove(db, self._named_group(ctx, db, request["logGroupName"]), request["tags"])
        return {}

    def list_tags_log_group(self, ctx, request):
        with ctx.read() as db:
            return {"tags": tags.get(db, self._named_group(ctx, db, request["logGroupName"]))}


def group_arn(ctx, name: str) -> str:
    return ctx.arn("logs", f"log-group:{name}")


def put_on_create(ctx, db, name: str, pairs: dict[str, str] | None) -> None:
    """CreateLogGroup's tags, refused as TagLogGroup refuses them."""
    if pairs:
        _put(db, group_arn(ctx, name), pairs,
             invalid(f"A log group can have no more than {tags.MAX_TAGS} tags."))
