"""Scalar conversions shared by the protocols: timestamps, blobs, numbers, booleans.

Decoders are lenient in what they turn into Python values and leave anything they cannot
convert untouched, so that validation reports it once, with the member's path.
"""

import base64
import binascii
import datetime
import math

UTC = datetime.timezone.utc


def to_datetime(value) -> datetime.datetime:
    """A result's timestamp (datetime, epoch number or ISO 8601 text) as an aware UTC datetime."""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, UTC)
    return parse_timestamp(value)


def parse_timestamp(text):
    """ISO 8601 or epoch seconds as sent by clients; anything else is returned unchanged."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        try:
            return datetime.datetime.fromtimestamp(text, UTC)
        except (OverflowError, OSError, ValueError):
            return text
    if not isinstance(text, str):
        return text
    try:
        return datetime.datetime.fromtimestamp(float(text), UTC)
    except (OverflowError, OSError, ValueError):
        pass
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def iso8601(value) -> str:
    """The timestamp text AWS's XML protocols send: millisecond precision, Z suffix."""
    moment = to_datetime(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch(value) -> float | int:
    seconds = to_datetime(value).timestamp()
    return int(seconds) if seconds.is_integer() else round(seconds, 3)


def b64encode(value) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).decode("ascii")


def b64decode(text):
    if not isinstance(text, str):
        return text
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text


def from_text(type_name: str, text: str):
    """A query-string value as the member's type, or the text itself when it is not one."""
    if type_name in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            return text
    if type_name in ("float", "double"):
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    if type_name == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if type_name == "timestamp":
        return parse_timestamp(text)
    if type_name == "blob":
        return b64decode(text)
    return text


def to_text(type_name: str, value) -> str:
    """A result's scalar as XML text."""
    if type_name == "boolean":
        return "true" if value else "false"
    if type_name == "timestamp":
        return iso8601(value)
    if type_name == "blob":
        return b64encode(value)
    if type_name in ("float", "double") and isinstance(value, float):
        return repr(value)
    return str(value)
