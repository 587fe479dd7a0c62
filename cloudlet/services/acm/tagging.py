"""ACM's tag rules: at most 50 on a certificate, keys of 1-128 and values of 0-256 letters,
digits, spaces and _.:/=+-@, and no key of AWS's own ("aws:"). The model's pattern uses
Java's \\p{...} classes, which the edge cannot check, so they are checked here."""

from __future__ import annotations

import unicodedata

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import tags

RESOURCE_TYPE = "certificate"
_PATTERN = r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"


def _allowed(text: str) -> bool:
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in text)


def check(given: list[dict]) -> None:
    for i, tag in enumerate(given, start=1):
        for member in ("Key", "Value"):
            value = tag.get(member)
            if value is not None and not _allowed(value):
                raise AWSError("ValidationException", f"1 validation error detected: Value '{value[:100]}' at "
                               f"'tags.{i}.member.{member.lower()}' failed to satisfy constraint: Member must "
                               f"satisfy regular expression pattern: {_PATTERN}")
        if tags.reserved(tag["Key"]):
            raise AWSError("InvalidTagException", f'Invalid Tag Key: "{tag["Key"]}". AWS internal tags cannot be '
                           "changed with this API")


def add(db, arn: str, given: list[dict]) -> None:
    check(given)
    current = tags.get(db, arn)
    pairs = tags.from_pairs(given)
    merged = {**current, **pairs}
    if len(merged) > tags.MAX_TAGS:
        listed = ", ".join(f"{k}={v}" for k, v in merged.items())
        raise AWSError("TooManyTagsException", f"the TagSet: '{{{listed[:1000]}}}' contains too many Tags")
    tags.put(db, arn, RESOURCE_TYPE, pairs)


def remove(db, arn: str, given: list[dict]) -> None:
    """Remove by key; a tag given with a value goes only where its value matches."""
    check(given)
    tags.remove(db, arn, [t["Key"] for t in given], {t["Key"]: t.get("Value") for t in given})


def listed(db, arn: str) -> list[dict]:
    return tags.to_pairs(tags.get(db, arn))
