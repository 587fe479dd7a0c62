"""EC2's CreateTags, DeleteTags and DescribeTags over every registered resource type."""

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters, pagination, tags


class Tagging:
    def create_tags(self, ctx, request):
        pairs = tags.from_pairs(request.get("Tags"))
        with ctx.write() as db:
            kinds = tags.ec2_check_resources(db, request["Resources"])
            for rid, kind in zip(request["Resources"], kinds):
                tags.put(db, rid, kind.type_name, pairs)
        return {}

    def delete_tags(self, ctx, request):
        given = request.get("Tags")
        with ctx.write() as db:
            tags.ec2_check_resources(db, request["Resources"])
            tags.refuse_reserved(t.get("Key") or "" for t in given or [])
            for rid in request["Resources"]:
                # No Tags member deletes every tag of the resource but those AWS put there; a
                # tag without a Value deletes the key whatever its value.
                keys = [t["Key"] for t in given] if given is not None else \
                    [k for k in tags.get(db, rid) if not tags.reserved(k)]
                values = {t["Key"]: t.get("Value") for t in given or []}
                tags.remove(db, rid, keys, values)
        return {}

    def describe_tags(self, ctx, request):
        with ctx.read() as db:
            rows = tags.all_rows(db)
        getters = {
            "key": lambda r: r["key"],
            "value": lambda r: r["value"],
            "resource-id": lambda r: r["resource_id"],
            "resource-type": lambda r: r["resource_type"],
        }
        by_resource: dict[str, dict] = {}
        for r in rows:
            by_resource.setdefault(r["resource_id"], {})[r["key"]] = r["value"]
        rows = filters.apply(rows, request.get("Filters"), getters, lambda r: by_resource[r["resource_id"]])
        chunk, token = pagination.page(
            rows, key=lambda r: (r["resource_id"], r["key"]), token=request.get("NextToken"),
            max_results=request.get("MaxResults"), minimum=5, maximum=1000,
            bad_token=lambda t: AWSError("InvalidParameterValue", f"Invalid value '{t}' for NextToken"),
        )
        return {
            "Tags": [
                {"ResourceId": r["resource_id"], "ResourceType": r["resource_type"], "Key": r["key"],
                 "Value": r["value"]}
                for r in chunk
            ],
            "NextToken": token,
        }
