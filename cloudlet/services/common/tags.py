"""Tags for every service: EC2's CreateTags/DeleteTags/DescribeTags and TagSpecifications,
and the TagResource/UntagResource/ListTagsForResource family of the JSON services (keyed by ARN).

Rows live in the `tags` table, always through a Scoped handle.
"""

from collections.abc import Callable
from dataclasses import dataclass

from cloudlet.edge.errors import AWSError
from cloudlet.store.schema import tags as table

MAX_TAGS = 50


@dataclass(frozen=True)
class ResourceKind:
    """An EC2 resource type that can be tagged, found by its ID prefix."""

    prefix: str  # "key" for key-0123...
    type_name: str  # the ResourceType AWS reports, e.g. "key-pair"
    exists: Callable  # (scoped, resource_id) -> bool
    not_found: str  # error code when the ID names nothing, e.g. "InvalidKeyPair.NotFound"


_KINDS: dict[str, ResourceKind] = {}


def register(kind: ResourceKind) -> None:
    _KINDS[kind.prefix] = kind


def kind_of(resource_id: str) -> ResourceKind:
    prefix, _, rest = resource_id.partition("-")
    kind = _KINDS.get(prefix)
    if kind is None or not rest:
        raise AWSError("InvalidID", f"The ID '{resource_id}' is not valid")
    return kind


def reserved(key: str) -> bool:
    """Keys AWS itself puts on resources (aws:...): not the tenant's to set or delete, and not counted."""
    return key.lower().startswith("aws:")


def refuse_reserved(keys) -> None:
    if any(reserved(key) for key in keys):
        raise AWSError("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")


def validate(pairs: dict[str, str]) -> None:
    for key, value in pairs.items():
        if not key:
            raise AWSError("InvalidParameterValue", "Tag key must not be empty")
        refuse_reserved([key])
        if len(key) > 128:
            raise AWSError("InvalidParameterValue", "Tag key exceeds the maximum length of 128 characters")
        if len(value) > 256:
            raise AWSError("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")


def from_pairs(items: list[dict] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """A tag list as a map; a tag without a key becomes an empty key, which validate() refuses."""
    return {item.get(key) or "": item.get(value) or "" for item in items or []}


def to_pairs(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict]:
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def get(db, resource_id: str) -> dict[str, str]:
    rows = db.select(table, table.c.resource_id == resource_id, order_by=table.c.key)
    return {row["key"]: row["value"] for row in rows}


def get_many(db, resource_ids: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {rid: {} for rid in resource_ids}
    for row in db.select(table, table.c.resource_id.in_(resource_ids), order_by=table.c.key):
        out[row["resource_id"]][row["key"]] = row["value"]
    return out


def put(db, resource_id: str, resource_type: str, pairs: dict[str, str]) -> None:
    """Add or overwrite tags; refuses to go past AWS's 50 tags per resource."""
    validate(pairs)
    current = get(db, resource_id)
    if len({k for k in set(current) | set(pairs) if not reserved(k)}) > MAX_TAGS:
        raise AWSError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
    for key, value in pairs.items():
        if key in current:
            db.update(table, table.c.resource_id == resource_id, table.c.key == key, value=value)
        else:
            db.insert(table, resource_id=resource_id, key=key, value=value, resource_type=resource_type)


def put_reserved(db, resource_id: str, resource_type: str, pairs: dict[str, str]) -> None:
    """The aws: tags AWS puts on a resource it makes (e.g. aws:ec2launchtemplate:id)."""
    for key, value in pairs.items():
        db.insert(table, resource_id=resource_id, key=key, value=value, resource_type=resource_type)


def remove(db, resource_id: str, keys: list[str], values: dict[str, str | None] | None = None) -> None:
    """Delete tags by key; with `values`, only where the value also matches (EC2's DeleteTags)."""
    for key in keys:
        where = [table.c.resource_id == resource_id, table.c.key == key]
        wanted = (values or {}).get(key)
        if wanted is not None:
            where.append(table.c.value == wanted)
        db.delete(table, *where)


def drop_resource(db, resource_id: str) -> None:
    db.delete(table, table.c.resource_id == resource_id)


def all_rows(db) -> list[dict]:
    return db.select(table, order_by=(table.c.resource_id, table.c.key))


# --- EC2 -------------------------------------------------------------------


def ec2_check_resources(db, resource_ids: list[str]) -> list[ResourceKind]:
    kinds = [kind_of(rid) for rid in resource_ids]
    for rid, kind in zip(resource_ids, kinds):
        if not kind.exists(db, rid):
            raise AWSError(kind.not_found, f"The ID '{rid}' does not exist")
    return kinds


def apply_specifications(db, specs: list[dict] | None, resource_type: str, resource_id: str,
                         allowed: tuple[str, ...]) -> dict[str, str]:
    """Apply the TagSpecifications of a create call to the resource it created."""
    applied: dict[str, str] = {}
    for spec in specs or []:
        rtype = spec.get("ResourceType")
        if rtype not in allowed:
            raise AWSError(
                "InvalidParameterValue",
                f"'{rtype}' is not a valid taggable resource type for this operation.",
            )
        if rtype == resource_type:
            applied.update(from_pairs(spec.get("Tags")))
    if applied:
        put(db, resource_id, resource_type, applied)
    return applied


# --- JSON services (resources named by ARN) ----------------------------------


class ArnTagging:
    """TagResource / UntagResource / ListTagsForResource for a JSON service's provider.

    Services spell these members differently (ECS: resourceArn + tags[{key, value}];
    ECR: resourceArn + tags[{Key, Value}]; Application Auto Scaling: ResourceARN + Tags{map}), so a provider
    sets the class attributes below and implements `tagged_resource_type`.
    """

    tag_arn_member = "resourceArn"
    tag_list_member = "tags"
    tag_keys_member = "tagKeys"
    tag_pair_names: tuple[str, str] | None = ("key", "value")  # None: tags are a map

    def tagged_resource_type(self, db, arn: str) -> str:
        """The resource type the ARN names; raise the service's not-found error if none."""
        raise NotImplementedError

    def _tags_in(self, request) -> dict[str, str]:
        given = request.get(self.tag_list_member) or ([] if self.tag_pair_names else {})
        return from_pairs(given, *self.tag_pair_names) if self.tag_pair_names else dict(given)

    def tag_resource(self, ctx, request):
        arn = request[self.tag_arn_member]
        with ctx.write() as db:
            put(db, arn, self.tagged_resource_type(db, arn), self._tags_in(request))
        return {}

    def untag_resource(self, ctx, request):
        arn = request[self.tag_arn_member]
        with ctx.write() as db:
            self.tagged_resource_type(db, arn)
            remove(db, arn, request.get(self.tag_keys_member) or [])
        return {}

    def list_tags_for_resource(self, ctx, request):
        arn = request[self.tag_arn_member]
        with ctx.read() as db:
            self.tagged_resource_type(db, arn)
            current = get(db, arn)
        return {self.tag_list_member: to_pairs(current, *self.tag_pair_names) if self.tag_pair_names else current}
