"""PutMetricData's validation: AWS's limits and messages, then the data as store Datums."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.store.metrics import Agg, Datum, storable

MAX_DATA, MAX_VALUES, MAX_DIMENSIONS = 1000, 150, 30
PAST, FUTURE = 14 * 86400, 2 * 3600  # how far a timestamp may be from now


def _invalid(message: str) -> AWSError:
    return AWSError("InvalidParameterValue", message)


def _number(value: float, member: str) -> float:
    if not storable(value):
        raise _invalid(f"The value {value} for parameter {member} is invalid.")
    return float(value)


def check_namespace(namespace: str) -> str:
    if namespace.startswith("AWS/") or not namespace.strip() or ":" in namespace:
        raise _invalid(f"The value {namespace} for parameter Namespace is invalid.")
    return namespace


def check_dimensions(dimensions: list, member: str) -> tuple[tuple[str, str], ...]:
    if len(dimensions) > MAX_DIMENSIONS:
        raise _invalid(f"The collection {member} must not have a size greater than {MAX_DIMENSIONS}.")
    names = [d["Name"] for d in dimensions]
    if len(set(names)) != len(names):
        raise _invalid(f"No Metric may specify the same dimension name twice: {member}.")
    return tuple(sorted((d["Name"], d["Value"]) for d in dimensions))


def data(request, now: int) -> list[Datum]:
    namespace = check_namespace(request["Namespace"])
    given = request.get("MetricData") or []
    if not given:
        raise AWSError("MissingParameter", "The parameter MetricData is required.")
    if len(given) > MAX_DATA:
        raise _invalid(f"The collection MetricData must not have a size greater than {MAX_DATA}.")
    return [_datum(namespace, d, f"MetricData.member.{i}", now) for i, d in enumerate(given, start=1)]


def _datum(namespace: str, d: dict, member: str, now: int) -> Datum:
    kinds = [k for k in ("Value", "StatisticValues", "Values") if k in d]
    if len(kinds) > 1:
        raise AWSError("InvalidParameterCombination", f"The parameters {member}.{kinds[0]} and {member}.{kinds[1]} "
                                                      "are mutually exclusive and you have specified both.")
    if "Counts" in d and "Values" not in d:
        raise AWSError("InvalidParameterCombination", f"The parameter {member}.Counts requires {member}.Values.")
    if not kinds:
        raise AWSError("InvalidParameterCombination", f"At least one of the parameters {member}.Value, "
                                                      f"{member}.StatisticValues or {member}.Values must be specified.")
    resolution = d.get("StorageResolution", 60)
    if resolution not in (1, 60):
        raise _invalid(f"The value {resolution} for parameter {member}.StorageResolution is invalid: "
                       "it must be 1 or 60.")
    stamp = int(d["Timestamp"].timestamp()) if d.get("Timestamp") else now
    if stamp < now - PAST:
        raise _invalid(f"The parameter {member}.Timestamp must specify a time no more than two weeks in the past.")
    if stamp > now + FUTURE:
        raise _invalid(f"The parameter {member}.Timestamp must specify a time no more than two hours in the future.")
    return Datum(namespace, d["MetricName"], check_dimensions(d.get("Dimensions") or [], f"{member}.Dimensions"),
                 stamp, d.get("Unit") or "None", _agg(d, kinds[0], member), resolution == 1)


def _agg(d: dict, kind: str, member: str) -> Agg:
    if kind == "Value":
        return Agg.of(_number(d["Value"], f"{member}.Value"))
    if kind == "StatisticValues":
        s = d["StatisticValues"]
        count, total, low, high = (_number(s[k], f"{member}.StatisticValues.{k}")
                                   for k in ("SampleCount", "Sum", "Minimum", "Maximum"))
        if count <= 0 or low > high:
            raise _invalid(f"The parameter {member}.StatisticValues is invalid: SampleCount must be positive and "
                           "Minimum no more than Maximum.")
        return Agg(count, total, low, high, None)
    values, counts = d["Values"], d.get("Counts")
    if not values or len(values) > MAX_VALUES:
        raise _invalid(f"The collection {member}.Values must hold 1 to {MAX_VALUES} values.")
    if counts is not None and len(counts) != len(values):
        raise _invalid(f"The parameters {member}.Values and {member}.Counts must be of the same size.")
    pairs = []
    for v, c in zip(values, counts if counts is not None else [1.0] * len(values)):
        count = _number(c, f"{member}.Counts")
        if count <= 0:
            raise _invalid(f"The value {count} for parameter {member}.Counts is invalid.")
        pairs.append((_number(v, f"{member}.Values"), count))
    return Agg(sum(c for _, c in pairs), sum(v * c for v, c in pairs), min(v for v, _ in pairs),
               max(v for v, _ in pairs), pairs)
