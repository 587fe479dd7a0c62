"""One metric alarm's evaluation, as CloudWatch documents it: the last EvaluationPeriods
periods, DatapointsToAlarm of them breaching to alarm (M of N), missing periods treated as
TreatMissingData says, and the state reason and reason data AWS writes."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

UTC = datetime.timezone.utc
_WORDS = {"GreaterThanThreshold": "greater than", "GreaterThanOrEqualToThreshold": "greater than or equal to",
          "LessThanThreshold": "less than", "LessThanOrEqualToThreshold": "less than or equal to"}
COMPARISONS = tuple(_WORDS)


@dataclass
class Outcome:
    state: str
    reason: str
    data: str  # StateReasonData's JSON


def breaches(operator: str, value: float, threshold: float) -> bool:
    return {"GreaterThanThreshold": value > threshold, "GreaterThanOrEqualToThreshold": value >= threshold,
            "LessThanThreshold": value < threshold, "LessThanOrEqualToThreshold": value <= threshold}[operator]


def iso(seconds: float) -> str:
    """CloudWatch's timestamps in reason data and notifications: 2026-12-02T14:38:20.740+0000."""
    return datetime.datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _short(seconds: int) -> str:
    return datetime.datetime.fromtimestamp(seconds, UTC).strftime("%d/%m/%y %H:%M:%S")


def _count(n: int, word: str = "datapoint") -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def evaluate(alarm: dict, values: dict[int, float], end: int, now: float) -> Outcome | None:
    """The alarm's state from values (period start -> value) of the periods before end; None to
    keep the state it has (TreatMissingData ignore with nothing to go on)."""
    period, n = alarm["Period"], alarm["EvaluationPeriods"]
    m = alarm.get("DatapointsToAlarm") or n
    operator, threshold = alarm["ComparisonOperator"], alarm["Threshold"]
    treat = alarm.get("TreatMissingData") or "missing"
    starts = [end - (k + 1) * period for k in range(n)]  # newest first, as AWS lists them
    present = [(t, values[t]) for t in starts if t in values]
    missing = n - len(present)
    breaching = sum(breaches(operator, v, threshold) for _, v in present)
    if treat == "breaching":
        breaching += missing
    counted = len(present) + (missing if treat in ("breaching", "notBreaching") else 0)
    stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")  # none for metric math
    data = {"version": "1.0", "queryDate": iso(now), "startDate": iso(starts[-1]),
            **({"statistic": stat} if stat else {}), "period": period,
            "recentDatapoints": [v for _, v in present], "threshold": threshold,
            "evaluatedDatapoints": [{"timestamp": iso(t), "value": v} for t, v in present]}
    if not counted:
        if treat == "ignore":
            return None
        return Outcome("INSUFFICIENT_DATA", f"Insufficient Data: {_count(missing)} "
                                            f"{'was' if missing == 1 else 'were'} unknown.", json.dumps(data))
    shown = ", ".join(f"{v} ({_short(t)})" for t, v in present)
    words = _WORDS[operator]
    if breaching >= m:
        return Outcome("ALARM", f"Threshold Crossed: {breaching} out of the last {_count(counted)} [{shown}] "
                                f"{'was' if breaching == 1 else 'were'} {words} the threshold ({threshold}) "
                                f"(minimum {_count(m)} for OK -> ALARM transition).", json.dumps(data))
    good = counted - breaching
    return Outcome("OK", f"Threshold Crossed: {good} out of the last {_count(counted)} [{shown}] "
                         f"{'was' if good == 1 else 'were'} not {words} the threshold ({threshold}) "
                         f"(minimum {_count(n - m + 1)} for ALARM -> OK transition).", json.dumps(data))
