"""When scheduled actions run: Application Auto Scaling's three schedule expressions —
at(yyyy-mm-ddThh:mm:ss), rate(N unit), cron(minutes hours day-of-month month day-of-week
year) — in the action's time zone."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .targets import invalid

_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
_RATE = re.compile(r"rate\((\d{1,9}) (minutes?|hours?|days?)\)")
_CRON = re.compile(r"cron\(([^()]{1,256})\)")
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split(), start=1)}
_FIELDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (1, 7, _DAYS), (1970, 2199, {}))
HORIZON_DAYS = 5 * 366  # a cron expression that matches nothing sooner never runs


def zone(name: str | None) -> datetime.tzinfo:
    try:
        return ZoneInfo(name) if name else datetime.timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(f"Invalid time zone: {name}") from None


def _values(text: str, low: int, high: int, names: dict) -> set[int] | None:
    """The values a cron field allows; None for any."""
    if text in ("*", "?"):
        return None
    out = set()
    for part in text.split(","):
        body, _, step = part.partition("/")
        first, _, last = body.partition("-")
        try:
            if first == "*":
                a, b = low, high
            else:
                a = names.get(first.upper()) or int(first)
                b = (names.get(last.upper()) or int(last)) if last else (high if step else a)
            n = int(step) if step else 1
        except ValueError:
            raise invalid(f"Invalid cron field: {text}") from None
        if not (low <= a <= high and low <= b <= high and a <= b and n >= 1):
            raise invalid(f"Invalid cron field: {text}")
        out.update(range(a, b + 1, n))
    return out


def parse(expression: str) -> tuple:
    """A schedule checked: ("at", naive datetime) | ("rate", seconds) | ("cron", fields)."""
    if m := _AT.fullmatch(expression):
        try:
            return "at", datetime.datetime(*map(int, m.groups()))
        except ValueError:
            raise invalid(f"Invalid at expression: {expression}") from None
    if m := _RATE.fullmatch(expression):
        value, unit = int(m.group(1)), m.group(2).rstrip("s")
        if value < 1 or (value == 1) != (not m.group(2).endswith("s")):
            raise invalid(f"Invalid rate expression: {expression}")
        return "rate", value * {"minute": 60, "hour": 3600, "day": 86400}[unit]
    if m := _CRON.fullmatch(expression):
        fields = m.group(1).split()
        if len(fields) != 6 or (fields[2] == "?") == (fields[4] == "?"):
            raise invalid(f"Invalid cron expression: {expression}: six fields, one of day-of-month and "
                          "day-of-week '?'")
        return "cron", tuple(_values(f, *spec) for f, spec in zip(fields, _FIELDS))
    raise invalid(f"Invalid schedule expression: {expression}: at(...), rate(...) or cron(...)")


def _matches(allowed, value: int) -> bool:
    return allowed is None or value in allowed


def next_run(schedule: tuple, tz: datetime.tzinfo, after: float, start: float | None) -> float | None:
    """The first time (epoch seconds) the schedule runs after `after`; None if never again."""
    kind, spec = schedule
    if kind == "at":
        when = spec.replace(tzinfo=tz).timestamp()
        return when if when > after else None
    if kind == "rate":
        origin = start if start is not None else after
        return origin + max(1, int((after - origin) // spec) + 1) * spec if after >= origin else origin
    minutes, hours, days, months, weekdays, years = spec
    moment = datetime.datetime.fromtimestamp(after, tz).replace(second=0, microsecond=0) + datetime.timedelta(
        minutes=1)
    day = moment.date()
    for _ in range(HORIZON_DAYS):
        if _matches(years, day.year) and _matches(months, day.month) and _matches(days, day.day) and \
                _matches(weekdays, day.isoweekday() % 7 + 1):
            for hour in range(24):
                for minute in range(60):
                    if _matches(hours, hour) and _matches(minutes, minute):
                        at = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                        if at >= moment:
                            return at.timestamp()
        day += datetime.timedelta(days=1)
    return None
