"""Tags of load balancers, target groups, listeners and rules: AddTags, RemoveTags and
DescribeTags, kept in each object's "_tags" in AWS's order of keys as added."""

from __future__ import annotations

import unicodedata

from cloudlet.edge.errors import AWSError
from cloudlet.store import elbv2 as records

from .errors import constraint, invalid, not_found
from .listener_spec import MAX_TAGS, tags_given

_KINDS = {":loadbalancer/": records.LOAD_BALANCER, ":targetgroup/": records.TARGET_GROUP,
          ":listener/": records.LISTENER, ":listener-rule/": records.RULE}
MAX_ARNS = 20  # resources one call may name (AWS's API reference)
_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"  # the model's, in Java's syntax: checked here


def _fits(text) -> bool:
    """Letters, separators, digits and _.:/=+-@ only, as the model's pattern says."""
    return isinstance(text, str) and all(c in "_.:/=+-@" or unicodedata.category(c)[0] in "LZN" for c in text)


def checked_tags(tags: list[dict] | None) -> list[dict]:
    """The tags of a Create* or AddTags call as an object keeps them, every key and value
    checked against the model's pattern (which the edge cannot run) before AWS's own checks."""
    for n, tag in enumerate(tags or [], 1):
        for part in ("Key", "Value"):
            if tag.get(part) is not None and not _fits(tag[part]):
                raise constraint(f"tags.{n}.member.{part.lower()}", tag[part],
                                 f"satisfy regular expression pattern: {_PATTERN}")
    return tags_given(tags)


def _kind(arn: str) -> str:
    kind = next((k for marker, k in _KINDS.items() if marker in str(arn)), None)
    if kind is None:
        raise invalid(f"'{arn}' is not a valid load balancer, target group, listener or rule ARN")
    return kind


def _arns(request: dict) -> list[str]:
    arns = list(dict.fromkeys(request["ResourceArns"]))
    if len(arns) > MAX_ARNS:
        raise constraint("resourceArns", f"[{', '.join(map(str, arns))}]",
                         f"have length less than or equal to {MAX_ARNS}")
    return arns


def _tagged(db, arn: str) -> dict:
    kind = _kind(arn)
    body = records.get(db, arn, kind)
    if body is None:
        raise not_found(kind)
    return body


class Tagging:
    def add_tags(self, ctx, request):
        given = checked_tags(request["Tags"])
        with ctx.write() as db:
            for arn in _arns(request):
                body = _tagged(db, arn)
                tags = {t["Key"]: t for t in body.get("_tags", [])}
                tags.update({t["Key"]: t for t in given})
                if len(tags) > MAX_TAGS:
                    raise AWSError("TooManyTags", f"The quota of {MAX_TAGS} tags per resource has been reached")
                body["_tags"] = list(tags.values())
                records.rewrite(db, arn, body)
        return {}

    def remove_tags(self, ctx, request):
        with ctx.write() as db:
            for arn in _arns(request):
                body = _tagged(db, arn)
                body["_tags"] = [t for t in body.get("_tags", []) if t["Key"] not in request["TagKeys"]]
                records.rewrite(db, arn, body)
        return {}

    def describe_tags(self, ctx, request):
        with ctx.read() as db:
            found = [(arn, _tagged(db, arn)) for arn in _arns(request)]
        return {"TagDescriptions": [{"ResourceArn": arn, "Tags": body.get("_tags", [])} for arn, body in found]}
