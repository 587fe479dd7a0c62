"""ECR lifecycle policies: the rules validated as ECR validates them, and which images they
expire, evaluated as ECR evaluates them (rules by priority; an image selected by a rule is
left alone by the rules after it; image counts keep the newest)."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Candidate:
    digest: str
    tags: tuple[str, ...]
    pushed_at: str  # ISO 8601, as stored


@dataclass(frozen=True)
class Expiry:
    image: Candidate
    rule_priority: int


def _fail(message: str):
    raise PolicyError(f"Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                      f"'Lifecycle policy validation failure: {message}'")


def parse(text: str) -> list[dict]:
    """The policy's rules, sorted by priority; PolicyError with ECR's wording otherwise."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's limit
        _fail("the policy is not valid JSON")
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules, list) or not rules:
        _fail("object has missing required properties ([\"rules\"])")
    priorities = set()
    for rule in rules:
        _check_rule(rule, priorities)
    rules = sorted(rules, key=lambda r: r["rulePriority"])
    if any(r["selection"]["tagStatus"] == "any" for r in rules[:-1]):
        _fail("the rule with tagStatus 'any' must have the highest rulePriority value")
    return rules


def _check_rule(rule, priorities: set) -> None:
    if not isinstance(rule, dict):
        _fail("a rule is not an object")
    priority = rule.get("rulePriority")
    if not isinstance(priority, int) or isinstance(priority, bool) or priority < 1:
        _fail("rulePriority must be a positive integer")
    if priority in priorities:
        _fail(f"rulePriority {priority} is used by more than one rule")
    priorities.add(priority)
    if (rule.get("action") or {}).get("type") != "expire":
        _fail("action.type must be 'expire'")
    sel = rule.get("selection")
    if not isinstance(sel, dict):
        _fail("selection is required")
    status = sel.get("tagStatus")
    if status not in ("tagged", "untagged", "any"):
        _fail("tagStatus must be one of tagged, untagged, any")
    prefixes, patterns = sel.get("tagPrefixList"), sel.get("tagPatternList")
    if status == "tagged" and not (prefixes or patterns):
        _fail("tagPrefixList or tagPatternList is required when tagStatus is tagged")
    if prefixes and patterns:
        _fail("tagPrefixList and tagPatternList cannot both be given")
    if status != "tagged" and (prefixes or patterns):
        _fail("tag lists are only allowed when tagStatus is tagged")
    count_type, number = sel.get("countType"), sel.get("countNumber")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        _fail("countNumber must be a positive integer")
    if count_type == "imageCountMoreThan":
        if "countUnit" in sel:
            _fail("countUnit is not allowed with imageCountMoreThan")
    elif count_type == "sinceImagePushed":
        if sel.get("countUnit") != "days":
            _fail("countUnit 'days' is required with sinceImagePushed")
    else:
        _fail("countType must be imageCountMoreThan or sinceImagePushed")


def _selects(sel: dict, image: Candidate) -> bool:
    status = sel["tagStatus"]
    if status == "untagged":
        return not image.tags
    if status == "any":
        return True
    if not image.tags:
        return False
    if sel.get("tagPrefixList"):
        return all(any(t.startswith(p) for t in image.tags) for p in sel["tagPrefixList"])
    return all(any(fnmatch.fnmatchcase(t, p) for t in image.tags) for p in sel["tagPatternList"])


def evaluate(rules: list[dict], images: list[Candidate], now: datetime | None = None) -> list[Expiry]:
    now = now or datetime.now(timezone.utc)
    remaining = sorted(images, key=lambda i: i.pushed_at, reverse=True)  # newest first
    expired: list[Expiry] = []
    for rule in rules:
        sel = rule["selection"]
        chosen = [i for i in remaining if _selects(sel, i)]
        if sel["countType"] == "imageCountMoreThan":
            doomed = chosen[sel["countNumber"]:]
        else:
            cutoff = now - timedelta(days=sel["countNumber"])
            doomed = [i for i in chosen if datetime.fromisoformat(i.pushed_at) < cutoff]
        expired += [Expiry(i, rule["rulePriority"]) for i in doomed]
        remaining = [i for i in remaining if i not in chosen]
    return expired
