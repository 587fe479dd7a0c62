"""Scheduled actions' Recurrence: a Unix cron expression of five fields (minute, hour, day of
month, month, day of week) read in UTC or in the action's TimeZone, as EC2 Auto Scaling
documents it: '*', lists, ranges and steps, month and day names, 0 or 7 for Sunday; when
both day fields are restricted, a day matching either runs (cron's rule)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, _MONTHS),
           ("day of week", 0, 7, _DAYS))
SEARCH_YEARS = 5  # far enough for any 5-field expression that can match at all (Feb 29 on a Monday: 28 years
# is rarer still, and such an action simply never runs)


class BadSchedule(ValueError):
    pass


def zone(name: str | None):
    """The TimeZone of an action (IANA name), UTC when none."""
    if not name:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadSchedule(f"Invalid time zone: {name}") from None


def _number(text: str, names: dict, field: str) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit() or len(text) > 2:
        raise BadSchedule(f"Invalid value '{text}' for the {field} field")
    return int(text)


def _field(text: str, field: str, low: int, high: int, names: dict) -> frozenset[int] | None:
    """The values a field allows; None for '*' (anything, which matters for the day fields)."""
    if text == "*":
        return None
    out: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, {}, field) if step_text else 1
        if step < 1:
            raise BadSchedule(f"Invalid step '{step_text}' for the {field} field")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _number(a, names, field), _number(b, names, field)
        else:
            start = _number(base, names, field)
            end = high if step_text else start
        if not low <= start <= end <= high:
            raise BadSchedule(f"Invalid range '{part}' for the {field} field")
        out.update(range(start, end + 1, step))
    return frozenset(out)


def parse(expression: str) -> tuple:
    """The expression's fields, or BadSchedule."""
    parts = expression.split()
    if len(parts) != 5:
        raise BadSchedule("Recurrence must be a cron expression of five fields: minute hour day-of-month month "
                          "day-of-week")
    fields = [_field(p, name, low, high, names) for p, (name, low, high, names) in zip(parts, _FIELDS)]
    if fields[4] is not None:
        fields[4] = frozenset(d % 7 for d in fields[4])
    return tuple(fields)


def _day_matches(fields: tuple, day: datetime) -> bool:
    _, _, dom, month, dow = fields
    if month is not None and day.month not in month:
        return False
    weekday = (day.weekday() + 1) % 7  # cron counts from Sunday
    if dom is not None and dow is not None:
        return day.day in dom or weekday in dow
    return (dom is None or day.day in dom) and (dow is None or weekday in dow)


def next_run(expression: str, after: float, tz_name: str | None = None) -> float | None:
    """The first moment strictly after `after` (epoch seconds) the expression names, or None."""
    fields, tz = parse(expression), zone(tz_name)
    minutes = sorted(fields[0]) if fields[0] is not None else list(range(60))
    hours = sorted(fields[1]) if fields[1] is not None else list(range(24))
    local = datetime.fromtimestamp(after, tz)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    for _ in range(366 * SEARCH_YEARS):
        if _day_matches(fields, day):
            for hour in hours:
                for minute in minutes:
                    moment = day.replace(hour=hour, minute=minute).replace(tzinfo=tz).timestamp()
                    if moment > after:
                        return moment
        day += timedelta(days=1)
    return None
