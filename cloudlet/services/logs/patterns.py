"""CloudWatch Logs filter patterns, the common part: terms and phrases (all must appear),
?terms (any may), -terms (none may), and JSON patterns such as
`{ $.level = "error" && $.latency > 100 }` with =, !=, <, <=, >, >=, * wildcards in
strings, IS NULL / IS TRUE / IS FALSE / NOT EXISTS, && and || (&& binding tighter)."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex

from cloudlet.edge.errors import AWSError

_CONDITION = re.compile(r'^\s*\$((?:\.[A-Za-z0-9_\-]+|\[\d+\])*)\s*(=|!=|<=|>=|<|>|IS\s+NULL|IS\s+TRUE|IS\s+FALSE|'
                        r'NOT\s+EXISTS)\s*(.*?)\s*$', re.IGNORECASE)


def _bad(pattern: str) -> AWSError:
    return AWSError("InvalidParameterException", f"Invalid filter pattern: {pattern}")


def compile_pattern(pattern: str | None):
    """A predicate over messages."""
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise _bad(pattern)
        return _json_predicate(text[1:-1], pattern)
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError:
        raise _bad(pattern) from None
    required = [t for t in tokens if not t.startswith(("?", "-"))]
    any_of = [t[1:] for t in tokens if t.startswith("?") and len(t) > 1]
    none_of = [t[1:] for t in tokens if t.startswith("-") and len(t) > 1]

    def match(message: str) -> bool:
        return all(t in message for t in required) and (not any_of or any(t in message for t in any_of)) and \
            not any(t in message for t in none_of)
    return match


def _json_predicate(body: str, pattern: str):
    alternatives = [[_condition(c, pattern) for c in part.split("&&")] for part in body.split("||")]

    def match(message: str) -> bool:
        try:
            doc = json.loads(message)
        except ValueError:
            return False
        return any(all(c(doc) for c in conditions) for conditions in alternatives)
    return match


def _lookup(doc, path: str):
    for part in re.findall(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]", path):
        key, index = part
        if key and isinstance(doc, dict) and key in doc:
            doc = doc[key]
        elif index and isinstance(doc, list) and int(index) < len(doc):
            doc = doc[int(index)]
        else:
            raise KeyError(path)
    return doc


def _condition(text: str, pattern: str):
    m = _CONDITION.match(text.strip().strip("()"))
    if not m:
        raise _bad(pattern)
    path, op, raw = m.group(1), " ".join(m.group(2).upper().split()), m.group(3)
    if op in ("IS NULL", "IS TRUE", "IS FALSE", "NOT EXISTS"):
        want = {"IS NULL": None, "IS TRUE": True, "IS FALSE": False}.get(op)

        def check(doc):
            try:
                value = _lookup(doc, path)
            except KeyError:
                return op == "NOT EXISTS"
            return op != "NOT EXISTS" and value is want
        return check
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        raw = raw[1:-1]
    try:
        number = float(raw)
    except ValueError:
        number = None
    if op not in ("=", "!=") and number is None:
        raise _bad(pattern)

    def compare(doc):
        try:
            value = _lookup(doc, path)
        except KeyError:
            return False
        if number is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"=": value == number, "!=": value != number, "<": value < number, "<=": value <= number,
                    ">": value > number, ">=": value >= number}[op]
        if op not in ("=", "!="):
            return False
        equal = isinstance(value, str) and fnmatch.fnmatchcase(value, raw)
        return equal if op == "=" else not equal
    return compare
