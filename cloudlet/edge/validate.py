"""Checks a parsed request against its botocore input shape: required members, types,
enums, ranges, lengths and patterns. Problems carry both the path AWS's validation
messages use ('tags.1.member.key') and the name the client put on the wire."""

import datetime
import re
from dataclasses import dataclass
from functools import lru_cache, partial

# Java's integer ranges: the services behind the models are Java, and a value outside them
# must be refused here rather than overflow SQLite later.
_RANGES = {"integer": (-2**31, 2**31 - 1), "long": (-2**63, 2**63 - 1)}
_MAX_REPORTED = 10
_VALUE_CHARS = 100

# The code of the error for a request its model refuses, for services whose code is not their
# protocol's usual one (ValidationException, or ValidationError for query): these answer
# InvalidParameterException, with the same "N validation errors detected" message.
_CODES = {"ecr": "InvalidParameterException", "ecs": "InvalidParameterException",
          "logs": "InvalidParameterException"}


@dataclass
class Problem:
    kind: str  # "missing", "type" or "constraint"
    path: str
    wire: str
    value: object
    constraint: str
    sensitive: bool = False  # a secret (a private key, a password): AWS's message leaves its value out

    def value_text(self) -> str:
        if self.kind == "missing":
            return "null"
        text = str(self.value)
        if len(text) > _VALUE_CHARS:
            text = text[:_VALUE_CHARS] + "..."
        return f"'{text}'"


def code(service: str, usual: str) -> str:
    """What `service` calls the error for a request its model refuses; `usual` is its protocol's name."""
    return _CODES.get(service, usual)


def message(problems: list[Problem]) -> str:
    """AWS's wording: '2 validation errors detected: Value null at 'x' failed to satisfy ...'"""
    count = len(problems)
    parts = [f"Value {'' if p.sensitive else p.value_text() + ' '}at '{p.path}' failed to satisfy constraint: "
             f"{p.constraint}" for p in problems[:_MAX_REPORTED]]
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(parts)


@lru_cache(maxsize=None)
def _pattern(text: str):
    try:
        return re.compile(text, re.DOTALL)
    except (re.error, OverflowError):
        return None  # Java-only syntax such as \p{...}: leave it to the provider


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _is_type(type_name: str, value) -> bool:
    if type_name in ("integer", "long"):
        low, high = _RANGES[type_name]
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if type_name in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    expected = {"string": str, "boolean": bool, "blob": (bytes, bytearray), "timestamp": datetime.datetime,
                "structure": dict, "map": dict, "list": list}.get(type_name)
    return expected is None or isinstance(value, expected)


class _Checker:
    def __init__(self, wire_name, open_enums: frozenset[str]):
        self.wire_name = wire_name  # (member shape, member name) -> name on the wire
        self.open_enums = open_enums
        self.problems: list[Problem] = []

    def add(self, kind, path, wire, value, constraint, sensitive=False):
        self.problems.append(Problem(kind, path, wire, value, constraint, sensitive))

    def structure(self, shape, value: dict, path: str, wire: str):
        for name, member in shape.members.items():
            sub_path = f"{path}.{_camel(name)}" if path else _camel(name)
            member_wire = self.wire_name(member, name)
            sub_wire = f"{wire}.{member_wire}" if wire else member_wire
            if name not in value or value[name] is None:
                if name in shape.required_members:
                    self.add("missing", sub_path, sub_wire, None, "Member must not be null")
                continue
            self.value(member, value[name], sub_path, sub_wire)

    def value(self, shape, value, path: str, wire: str):
        type_name = shape.type_name
        if not _is_type(type_name, value):
            self.add("type", path, wire, value, f"Member must be of type {type_name}",
                     sensitive=bool(shape.metadata.get("sensitive")))
            return
        if type_name == "structure":
            self.structure(shape, value, path, wire)
        elif type_name == "list":
            for i, item in enumerate(value, 1):
                self.value(shape.member, item, f"{path}.{i}.member", f"{wire}.{i}")
        elif type_name == "map":
            for key, item in value.items():
                self.value(shape.key, key, f"{path}.key", f"{wire}.key")
                self.value(shape.value, item, f"{path}.{key}", f"{wire}.{key}")
        self.constraints(shape, value, path, wire)

    def constraints(self, shape, value, path, wire):
        meta = shape.metadata
        add = partial(self.add, sensitive=bool(meta.get("sensitive")))
        enum = getattr(shape, "enum", None)
        if enum and value not in enum and shape.name not in self.open_enums:
            add("constraint", path, wire, value, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        sized = isinstance(value, (str, bytes, bytearray, list, dict))
        measure = len(value) if sized else value
        what = "length" if sized else "value"
        if isinstance(measure, (int, float)):
            if "min" in meta and measure < meta["min"]:
                add("constraint", path, wire, value, f"Member must have {what} greater than or equal to {meta['min']}")
            if "max" in meta and measure > meta["max"]:
                add("constraint", path, wire, value, f"Member must have {what} less than or equal to {meta['max']}")
        if isinstance(value, str) and "pattern" in meta:
            compiled = _pattern(meta["pattern"])
            if compiled is not None and compiled.fullmatch(value) is None:
                add("constraint", path, wire, value,
                    f"Member must satisfy regular expression pattern: {meta['pattern']}")


def check(shape, params: dict, wire_name=lambda member, name: name,
          open_enums: frozenset[str] = frozenset()) -> list[Problem]:
    """All problems of `params` against the input structure `shape` (None: nothing to check);
    the enums of the shapes named in `open_enums` are left to the provider."""
    if shape is None:
        return []
    checker = _Checker(wire_name, open_enums)
    checker.value(shape, params, "", "")
    return checker.problems
