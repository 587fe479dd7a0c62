"""SNS subscription filter policies: checked as SNS checks a FilterPolicy when it is set, and
matched against each published message as AWS documents it.

A policy is a JSON object. Its keys are message attribute names (FilterPolicyScope
MessageAttributes, a flat object) or property paths of a JSON message body (MessageBody, which
may nest objects). A message matches when every key matches (AND); a key matches when any rule
in its array does (OR); "$or": [policy, ...] matches when any of its policies does. Rules:

    "text"                         the value is that string (case-sensitive)
    12.5                           the value is that number (five decimal places count)
    true, false, null              the value is that literal (String.Array items, bodies)
    {"prefix": "p"}, {"suffix": "s"}, {"equals-ignore-case": "t"}
    {"anything-but": v | [v, ...] | {"prefix": p} | {"suffix": s}}
    {"numeric": [">", 0, "<=", 5]}  a range, or one comparison (=, <, <=, >, >=)
    {"exists": true | false}       the key is present / absent
    {"cidr": "10.0.0.0/24"}        the value is an IP address in that network

Every rule but {"exists": false} needs the key present. Attributes compare by type: a String's
value is its text, a Number's its number, a String.Array's each item of its JSON array (any item
may match); Binary attributes have no value to compare. Limits are AWS's: five keys, 150
combinations of values, numbers within +-10^9, 256 KB of policy.
"""

from __future__ import annotations

import ipaddress
import json
import math
import operator as op

MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_SIZE = 256 * 1024
MAX_NUMBER = 1e9
MAX_NESTING = 16  # objects within objects: bounds the recursion of checking and matching
SCOPES = ("MessageAttributes", "MessageBody")
_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "cidr")
_ABSENT = object()


class PolicyError(Exception):
    """Why a filter policy is refused, in AWS's words (the caller adds where it was given)."""


def parse(text: str, scope: str) -> dict | None:
    """The policy `text` stands for (None: no policy, as an empty value means), or PolicyError."""
    if not text.strip():
        return None
    if len(text.encode()) > MAX_SIZE:
        raise PolicyError("FilterPolicy: Filter policy is too long")
    try:
        policy = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise PolicyError("FilterPolicy: failed to parse JSON.") from None
    if not isinstance(policy, dict):
        raise PolicyError("FilterPolicy: Filter policy must be a JSON object")
    if not policy:
        return None
    if len(_top_keys(policy)) > MAX_KEYS:
        raise PolicyError(f"FilterPolicy: Filter policy can not have more than {MAX_KEYS} keys")
    if _combinations(policy, scope, 1, 0) > MAX_COMBINATIONS:
        raise PolicyError("FilterPolicy: Filter policy is too complex")
    return policy


def _no_constant(name: str):
    raise ValueError(name)  # NaN and Infinity are not JSON


def _top_keys(policy: dict) -> set[str]:
    keys = {k for k in policy if k != "$or"}
    for branch in policy.get("$or") or []:
        if isinstance(branch, dict):
            keys |= _top_keys(branch)
    return keys


def _combinations(node: dict, scope: str, depth: int, nesting: int) -> int:
    """The number of value combinations of `node`, after checking every rule in it."""
    if nesting > MAX_NESTING:
        raise PolicyError("FilterPolicy: Filter policy is too complex")
    total = 1
    for key, value in node.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(b, dict) for b in value):
                raise PolicyError('FilterPolicy: "$or" must be an array of at least two objects')
            total *= sum(_combinations(branch, scope, depth, nesting + 1) for branch in value)
        elif isinstance(value, dict):
            if scope == "MessageAttributes":
                raise PolicyError("Filter policy scope MessageAttributes does not support nested filter policy")
            total *= _combinations(value, scope, depth + 1, nesting + 1)
        elif isinstance(value, list):
            if not value:
                raise PolicyError("FilterPolicy: Empty arrays are not allowed")
            for rule in value:
                _check_rule(rule)
            total *= len(value) * depth
        else:
            raise PolicyError(f'FilterPolicy: "{key}" must be an object or an array')
        if total > MAX_COMBINATIONS:  # stop early: a hostile policy may multiply without end
            return total
    return total


def _check_number(value) -> None:
    if abs(value) > MAX_NUMBER:
        raise PolicyError("FilterPolicy: Numeric values must be between -1000000000 and 1000000000")


def _check_rule(rule) -> None:
    if rule is None or isinstance(rule, (str, bool)):
        return
    if isinstance(rule, (int, float)):
        _check_number(rule)
        return
    if not isinstance(rule, dict):
        raise PolicyError("FilterPolicy: Match value must be String, number, true, false, or null")
    if len(rule) != 1:
        raise PolicyError("FilterPolicy: Only one key allowed in match expression")
    [(operator, value)] = rule.items()
    if operator not in _OPERATORS:
        raise PolicyError(f"FilterPolicy: Unrecognized match type {operator}")
    if operator in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(value, str):
            raise PolicyError(f"FilterPolicy: {operator} match pattern must be a string")
    elif operator == "exists":
        if not isinstance(value, bool):
            raise PolicyError("FilterPolicy: exists match pattern must be either true or false.")
    elif operator == "anything-but":
        _check_anything_but(value)
    elif operator == "numeric":
        _check_numeric(value)
    else:
        _check_cidr(value)


def _check_anything_but(value) -> None:
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in ("prefix", "suffix"):
            raise PolicyError(f"FilterPolicy: Unsupported anything-but pattern: {', '.join(value) or '{}'}")
        if not isinstance(next(iter(value.values())), str):
            raise PolicyError(f"FilterPolicy: {next(iter(value))} match pattern must be a string")
        return
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, (dict, list)):
            raise PolicyError("FilterPolicy: Inside anything but list, start|null|boolean is not supported.")
        _check_rule(item)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_numeric(terms) -> None:
    if not isinstance(terms, list) or not terms:
        raise PolicyError("FilterPolicy: Invalid member in numeric match: ]")
    pairs = [terms[i:i + 2] for i in range(0, len(terms), 2)]
    if len(pairs) > 2:
        raise PolicyError("FilterPolicy: Too many terms in numeric range expression")
    for index, pair in enumerate(pairs):
        operator = pair[0]
        allowed = ("<", "<=", "=", ">", ">=") if index == 0 else ("<", "<=")
        if not isinstance(operator, str):
            raise PolicyError(f"FilterPolicy: Invalid member in numeric match: {json.dumps(operator)}")
        if operator not in allowed:
            word = "Unrecognized numeric range operator" if index == 0 else "Bad numeric range operator"
            raise PolicyError(f"FilterPolicy: {word}: {operator}")
        if len(pair) < 2 or not _is_number(pair[1]):
            raise PolicyError(f"FilterPolicy: Value of {'equals' if operator == '=' else operator} must be numeric")
        _check_number(pair[1])
    if len(pairs) == 2:
        if pairs[0][0] not in (">", ">="):
            raise PolicyError("FilterPolicy: Too many elements in numeric expression")
        if pairs[1][1] <= pairs[0][1]:
            raise PolicyError("FilterPolicy: Bottom must be less than top")


def _check_cidr(value) -> None:
    if not isinstance(value, str):
        raise PolicyError("FilterPolicy: cidr match pattern must be a string")
    address, slash, mask = value.partition("/")
    if not slash:
        raise PolicyError("FilterPolicy: Malformed CIDR, one '/' required")
    if not mask.isdigit():
        raise PolicyError("FilterPolicy: Malformed CIDR, mask bits must be an integer")
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PolicyError(f"FilterPolicy: Nonstandard IP address: {address}") from None


# --- matching ----------------------------------------------------------------


def matches_attributes(policy: dict | None, attributes: dict) -> bool:
    """Whether a message with these MessageAttributes ({name: {DataType, StringValue|BinaryValue}})
    passes `policy` (a parse() result)."""
    if policy is None:
        return True
    return _matches(policy, lambda key: _attribute_values(attributes[key]) if key in attributes else _ABSENT)


def matches_body(policy: dict | None, message: str) -> bool:
    """Whether a message whose body is `message` passes a MessageBody-scoped `policy`; a body that
    is not a JSON object matches no policy."""
    if policy is None:
        return True
    try:
        body = json.loads(message)
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and _matches(policy, lambda key: _body_values(body, key))


def _matches(node: dict, values_of, prefix: tuple = ()) -> bool:
    for key, rules in node.items():
        if key == "$or":
            if not any(_matches(branch, values_of, prefix) for branch in rules):
                return False
        elif isinstance(rules, dict):
            if not _matches(rules, values_of, prefix + (key,)):
                return False
        elif not _key_matches(rules, values_of(prefix + (key,) if prefix else key)):
            return False
    return True


def _key_matches(rules: list, values) -> bool:
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if rule["exists"] == (values is not _ABSENT):
                return True
        elif values is not _ABSENT and any(_rule_matches(rule, value) for value in values):
            return True
    return False


def _attribute_values(attribute: dict) -> list:
    kind = (attribute.get("DataType") or "").split(".", 1)
    text = attribute.get("StringValue")
    if kind[0] == "Binary" or text is None:
        return []
    if kind[0] == "Number":
        return [number] if (number := _number(text)) is not None else []
    if kind == ["String", "Array"]:
        try:
            items = json.loads(text)
        except (ValueError, RecursionError):
            return []
        return items if isinstance(items, list) else [items]
    return [text]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _body_values(body: dict, path) -> list:
    """The leaf values at `path` (a key, or a tuple of keys for nested policies), arrays flattened."""
    nodes = [body]
    for step in path if isinstance(path, tuple) else (path,):
        found = []
        for node in _flatten(nodes):
            if isinstance(node, dict) and step in node:
                found.append(node[step])
        if not found:
            return _ABSENT
        nodes = found
    return [value for value in _flatten(nodes) if not isinstance(value, dict)]


def _flatten(values: list) -> list:
    """The items of `values`, arrays within it opened (without recursion: a body may nest deep)."""
    out, stack = [], [iter(values)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                stack.append(iter(value))
                break
            out.append(value)
        else:
            stack.pop()
    return out


def _same(rule, value) -> bool:
    """Equality by JSON type: the string "1" is not the number 1, nor true the number 1."""
    if _is_number(rule):
        return _is_number(value) and abs(value - rule) < 5e-6
    if isinstance(rule, bool) or rule is None:
        return value is rule
    return isinstance(value, str) and value == rule


def _rule_matches(rule, value) -> bool:
    if not isinstance(rule, dict):
        return _same(rule, value)
    [(operator, operand)] = rule.items()
    if operator == "anything-but":
        if isinstance(operand, dict):
            return isinstance(value, str) and not _rule_matches(operand, value)
        return not any(_same(item, value) for item in (operand if isinstance(operand, list) else [operand]))
    if operator == "numeric":
        return _is_number(value) and _in_range(operand, value)
    if not isinstance(value, str):
        return False
    if operator == "prefix":
        return value.startswith(operand)
    if operator == "suffix":
        return value.endswith(operand)
    if operator == "equals-ignore-case":
        return value.casefold() == operand.casefold()
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(operand, strict=False)
    except ValueError:
        return False


_COMPARE = {"=": op.eq, "<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge}


def _in_range(terms: list, value: float) -> bool:
    return all(_COMPARE[terms[i]](value, terms[i + 1]) for i in range(0, len(terms), 2))
