"""EC2 `Filter.N` semantics: every filter must match; within one, any value may match.

Values may use the wildcards `*` (any run) and `?` (one character), escaped with a backslash.
Tag filters (`tag:<key>`, `tag-key`, `tag-value`) look at the item's tags.
"""

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from cloudlet.edge.errors import AWSError

Getter = Callable[[dict], object]


@lru_cache(maxsize=1024)
def _pattern(value: str) -> re.Pattern:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def matches(pattern: str, actual) -> bool:
    if actual is None:
        return False
    if isinstance(actual, bool):
        actual = "true" if actual else "false"
    return _pattern(pattern).fullmatch(str(actual)) is not None


def _values(got) -> list:
    if got is None:
        return []
    if isinstance(got, (list, tuple, set)):
        return list(got)
    return [got]


def apply(
    items: Iterable[dict],
    filters: list[dict] | None,
    getters: dict[str, Getter],
    tags_of: Callable[[dict], dict] | None = None,
) -> list[dict]:
    """Keep the items that match every filter; unknown filter names are AWS's error."""
    filters = filters or []
    checks = [_check(f, getters, tags_of) for f in filters]
    return [item for item in items if all(check(item) for check in checks)]


def _check(spec: dict, getters: dict[str, Getter], tags_of):
    name = spec.get("Name") or ""
    wanted = list(spec.get("Values") or [])
    if name in getters:
        getter = getters[name]
        return lambda item: any(matches(w, v) for v in _values(getter(item)) for w in wanted)
    if tags_of is not None:
        if name.startswith("tag:"):
            key = name[4:]
            return lambda item: key in tags_of(item) and any(matches(w, tags_of(item)[key]) for w in wanted)
        if name == "tag-key":
            return lambda item: any(matches(w, k) for k in tags_of(item) for w in wanted)
        if name == "tag-value":
            return lambda item: any(matches(w, v) for v in tags_of(item).values() for w in wanted)
    raise AWSError("InvalidParameterValue", f"The filter '{name}' is invalid")
