"""A rule's conditions checked as AWS checks them, and normalized as AWS shows them.

Every value a tenant gives here ends up in a generated proxy configuration, so each field
keeps only the characters AWS itself allows for it (AWS's documented sets): hosts
[A-Za-z0-9-.*?], paths [A-Za-z0-9_-.$/~"'@:+&*?], methods [A-Z_-], header names RFC 7230
tokens, header values printable ASCII, query strings RFC 3986 query characters (and '\\' to
escape a literal '*' or '?'). Whitespace other than the space of a header value, control
characters and anything past 128 characters are refused, never kept."""

from __future__ import annotations

import ipaddress
import re

from .errors import invalid

MAX_VALUES_PER_RULE = 5  # AWS's quota: condition values per rule
MAX_VALUES_PER_CONDITION = 3  # AWS's quota: match evaluations per condition
MAX_WILDCARDS_PER_RULE = 5
MAX_LENGTH = 128
SINGLE = ("host-header", "http-request-method", "path-pattern", "source-ip")  # at most one of each a rule
FIELDS = ("http-header", "http-request-method", "host-header", "path-pattern", "query-string", "source-ip")
_CONFIG = {"host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig",
           "http-header": "HttpHeaderConfig", "query-string": "QueryStringConfig",
           "http-request-method": "HttpRequestMethodConfig", "source-ip": "SourceIpConfig"}

_HOST = re.compile(r"[A-Za-z0-9.*?-]+")
_PATH = re.compile(r"[A-Za-z0-9_\-.$/~\"'@:+&*?]+")
_METHOD = re.compile(r"[A-Z_-]+")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e]+")
_QUERY = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%\\]+")


def _text(value, pattern: re.Pattern, what: str, maximum: int = MAX_LENGTH) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(f"A {what} condition value cannot be empty")
    if len(value) > maximum:
        raise invalid(f"The {what} condition value '{value[:maximum]}...' exceeds the maximum length of "
                      f"{maximum} characters")
    if not pattern.fullmatch(value):
        raise invalid(f"The {what} condition value '{value}' contains characters that are not allowed")
    return value


def _cidr(value) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except (TypeError, ValueError):
        raise invalid(f"The source-ip condition value '{value}' is not a valid CIDR block") from None
    if "/" not in value:
        raise invalid(f"The source-ip condition value '{value}' is not a valid CIDR block")
    return value


def _values(condition: dict, field: str) -> tuple[list, dict]:
    """(the values to check, the condition as AWS shows it)."""
    config_key = _CONFIG[field]
    for other in set(_CONFIG.values()) - {config_key}:
        if condition.get(other) is not None:
            raise invalid(f"The '{other}' field cannot be specified for a condition with field '{field}'")
    if condition.get("RegexValues") or (condition.get(config_key) or {}).get("RegexValues"):
        raise invalid("Regular expression conditions are not supported")
    given, config = condition.get("Values"), condition.get(config_key)
    if given is not None and config is not None:
        raise invalid(f"You cannot specify both 'Values' and '{config_key}' for a condition with field '{field}'")
    if given is not None:
        if field not in ("host-header", "path-pattern"):
            raise invalid(f"A condition with field '{field}' must specify its values in '{config_key}'")
        if len(given) > 1:
            raise invalid(f"Use '{config_key}' to specify more than one value for field '{field}'")
        return list(given), {"Field": field, "Values": list(given), config_key: {"Values": list(given)}}
    if config is None:
        raise invalid(f"A condition with field '{field}' must specify 'Values' or '{config_key}'")
    shown = {"Field": field, config_key: {k: v for k, v in config.items() if k != "RegexValues"}}
    return list(config.get("Values") or []), shown


def _check_values(field: str, values: list, shown: dict) -> None:
    if field == "host-header":
        [_text(v, _HOST, field) for v in values]
    elif field == "path-pattern":
        [_text(v, _PATH, field) for v in values]
    elif field == "http-request-method":
        [_text(v, _METHOD, field, maximum=40) for v in values]
    elif field == "source-ip":
        [_cidr(v) for v in values]
    elif field == "http-header":
        _text(shown["HttpHeaderConfig"].get("HttpHeaderName"), _HEADER_NAME, "http-header name", maximum=40)
        [_text(v, _HEADER_VALUE, field) for v in values]
    else:  # query-string: pairs whose key may be left out
        for pair in values:
            if pair.get("Key") is not None:
                _text(pair["Key"], _QUERY, "query-string key")
            _text(pair.get("Value"), _QUERY, field)


def _wildcards(field: str, values: list) -> int:
    if field in ("host-header", "path-pattern", "http-header"):
        return sum(v.count("*") + v.count("?") for v in values)
    if field == "query-string":  # an escaped '\*' or '\?' is a literal, not a wildcard
        text = "".join((p.get("Key") or "") + (p.get("Value") or "") for p in values)
        return len(re.findall(r"(?<!\\)[*?]", text))
    return 0


def checked(conditions: list[dict]) -> list[dict]:
    """The conditions as AWS shows them, or AWS's refusal."""
    if not conditions:
        raise invalid("A rule must have at least one condition")
    out, seen, total, wildcards = [], set(), 0, 0
    for condition in conditions:
        field = condition.get("Field")
        if field not in FIELDS:
            raise invalid(f"Condition field '{field}' must be one of '[{', '.join(FIELDS)}]'")
        if field in SINGLE and field in seen:
            raise invalid(f"A rule can only have one '{field}' condition")
        seen.add(field)
        values, shown = _values(condition, field)
        if not values:
            raise invalid(f"A condition with field '{field}' must have at least one value")
        if len(values) > MAX_VALUES_PER_CONDITION:
            raise invalid(f"A condition can only have '{MAX_VALUES_PER_CONDITION}' values")
        _check_values(field, values, shown)
        total += len(values)
        wildcards += _wildcards(field, values)
        out.append(shown)
    if total > MAX_VALUES_PER_RULE:
        raise invalid(f"A rule can only have '{MAX_VALUES_PER_RULE}' condition values")
    if wildcards > MAX_WILDCARDS_PER_RULE:
        raise invalid(f"A rule can only have '{MAX_WILDCARDS_PER_RULE}' wildcards")
    return out
