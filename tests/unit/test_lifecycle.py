"""ECR lifecycle rules: validation as ECR words it, and evaluation by priority."""

import json
from datetime import datetime, timezone

import pytest

from cloudlet.registry.lifecycle import Candidate, PolicyError, evaluate, parse


def rule(priority, status, count_type="imageCountMoreThan", number=1, **selection):
    sel = {"tagStatus": status, "countType": count_type, "countNumber": number, **selection}
    if count_type == "sinceImagePushed":
        sel.setdefault("countUnit", "days")
    return {"rulePriority": priority, "selection": sel, "action": {"type": "expire"}}


def policy(*rules) -> str:
    return json.dumps({"rules": list(rules)})


def image(name, day, *tags):
    return Candidate(f"sha256:{name}", tags, datetime(2026, 11, day, tzinfo=timezone.utc).isoformat())


@pytest.mark.parametrize("text, words", [
    ("{", "not valid JSON"),
    (json.dumps({"rules": []}), "missing required properties"),
    (policy(rule(1, "tagged")), "tagPrefixList or tagPatternList is required"),
    (policy(rule(1, "untagged"), rule(1, "any")), "used by more than one rule"),
    (policy(rule(1, "any"), rule(2, "untagged")), "must have the highest rulePriority"),
    (policy(rule(1, "untagged", number=0)), "countNumber must be a positive integer"),
    (policy(rule(1, "untagged", countUnit="days")), "countUnit is not allowed"),
    (policy(rule(1, "tagged", tagPrefixList=["a"], tagPatternList=["b*"])), "cannot both be given"),
])
def test_invalid_policies(text, words):
    with pytest.raises(PolicyError) as err:
        parse(text)
    assert words in str(err.value) and "Lifecycle policy validation failure" in str(err.value)


def test_rules_by_priority_keep_the_newest_and_do_not_overlap():
    images = [image("p1", 1, "prod-1"), image("p2", 2, "prod-2"), image("p3", 3, "prod-3"),
              image("d1", 4, "dev-1"), image("u1", 5), image("u2", 6)]
    rules = parse(policy(rule(3, "any", number=2), rule(1, "tagged", number=2, tagPrefixList=["prod"]),
                         rule(2, "untagged", number=1)))
    expired = {(e.image.digest.split(":")[1], e.rule_priority) for e in evaluate(rules, images)}
    # prod: keep 2 newest of 3; untagged: keep the newest; any: of what is left (d1) keep 2: nothing
    assert expired == {("p1", 1), ("u1", 2)}


def test_since_image_pushed_and_patterns():
    images = [image("old", 1, "release-1.0"), image("new", 20, "release-2.0"), image("other", 1, "nightly")]
    rules = parse(policy(rule(1, "tagged", "sinceImagePushed", 10, tagPatternList=["release-*"])))
    now = datetime(2026, 11, 25, tzinfo=timezone.utc)
    assert [e.image.digest for e in evaluate(rules, images, now)] == ["sha256:old"]
