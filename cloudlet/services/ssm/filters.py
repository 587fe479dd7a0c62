"""The filters of DescribeParameters and GetParametersByPath: ParameterFilters (Key, Option,
Values), and DescribeParameters' older Filters (Name, Type, KeyId), checked and matched as
SSM does. DescribeParameters takes Name (Equals, BeginsWith, Contains), Path (OneLevel,
Recursive), Type, KeyId, Tier, DataType and tag:<key>; GetParametersByPath takes Type,
KeyId and Label (Equals only), Label choosing the labeled version."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.store.parameters import TYPES

from . import names

_DESCRIBE_KEYS = ("Path", "Name", "Type", "KeyId", "Tier", "DataType")
_BY_PATH_KEYS = ("Type", "KeyId", "Label")
_ALLOWED = {"Type": TYPES, "Tier": ("Standard", "Advanced", "Intelligent-Tiering"),
            "DataType": ("text", "aws:ec2:image")}
_LEGACY = {"Name": "BeginsWith", "Type": "Equals", "KeyId": "Equals"}


def _options(key: str) -> tuple[str, ...]:
    if key == "Path":
        return "OneLevel", "Recursive"
    if key == "Label":
        return ("Equals",)
    return ("BeginsWith", "Contains", "Equals") if key == "Name" else ("BeginsWith", "Equals")


def check(filters: list[dict] | None, *, by_path: bool) -> list[tuple[str, str, list[str]]]:
    """(key, option, values) of each filter; SSM's error for the first one it refuses."""
    allowed = _BY_PATH_KEYS if by_path else _DESCRIBE_KEYS
    out, seen = [], set()
    for f in filters or []:
        key, values = f["Key"], f.get("Values") or []
        if key not in allowed and (by_path or not key.startswith("tag:")):
            raise AWSError("InvalidFilterKey", f"The following filter key is not valid: {key}. Valid filter keys "
                           f"include: [{', '.join(allowed)}].")
        if key in seen:
            raise AWSError("InvalidFilterKey", f"The following filter is duplicated in the request: {key}. A request "
                           "can contain only one occurrence of a specific filter.")
        seen.add(key)
        if not values:
            raise AWSError("InvalidFilterValue", f"The following filter values are missing : null for filter key "
                           f"{key}.")
        option = f.get("Option") or ("OneLevel" if key == "Path" else "Equals")
        if option not in _options(key):
            raise AWSError("InvalidFilterOption", f"The following filter option is not valid: {option}. Valid "
                           f"options include: [{', '.join(_options(key))}].")
        for value in values:
            if key in _ALLOWED and option == "Equals" and value not in _ALLOWED[key]:
                raise AWSError("InvalidFilterValue", f"The following filter value is not valid: {value}. Valid "
                               f"values include: [{', '.join(_ALLOWED[key])}].")
            if key == "Path":
                names.check_filter_path(value)
        out.append((key, option, values))
    return out


def legacy(filters: list[dict] | None) -> list[tuple[str, str, list[str]]]:
    """DescribeParameters' Filters as ParameterFilters (a Name there is a prefix)."""
    return [(f["Key"], _LEGACY[f["Key"]], f["Values"]) for f in filters or []]


def _slashed(name: str) -> str:
    return "/" + name.lstrip("/")


def _test(subject: str | None, option: str, values: list[str]) -> bool:
    if subject is None:
        return False
    if option == "BeginsWith":
        return any(subject.startswith(v) for v in values)
    if option == "Contains":
        return any(v in subject for v in values)
    return subject in values


def _in_path(name: str, option: str, paths: list[str]) -> bool:
    parent = name.rsplit("/", 1)[0] or "/"
    for path in paths:
        base = "/" + path.strip("/") if path.strip("/") else "/"
        if parent == base or (option == "Recursive" and (base == "/" or name.startswith(base + "/"))):
            return True
    return False


def matches(version: dict, filters: list[tuple[str, str, list[str]]], tags: dict[str, str]) -> bool:
    """Whether a parameter's version (as store.parameters gives it) passes every filter."""
    for key, option, values in filters:
        if key == "Name":
            wanted = values if option == "Contains" else [_slashed(v) for v in values]
            ok = _test(_slashed(version["key"]), option, wanted)
        elif key == "Path":
            ok = _in_path(_slashed(version["key"]), option, values)
        elif key == "Label":
            ok = bool(set(version["labels"]) & set(values))
        elif key.startswith("tag:"):
            ok = _test(tags.get(key[4:]), option, values)
        else:
            field = {"Type": "type", "KeyId": "key_id", "Tier": "tier", "DataType": "data_type"}[key]
            ok = _test(version[field], option, values)
        if not ok:
            return False
    return True
