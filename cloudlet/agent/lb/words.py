"""Turning untrusted strings into haproxy config words that stay one word.

haproxy splits a line on blanks, expands $VARS outside single quotes, ends it at `#` and
reads backslash escapes; inside single quotes nothing is special but the closing quote.
So every tenant string goes out single-quoted (a quote of its own as '\\''), and what
cannot be put on one line at all (control characters: a newline would start a directive
of its own) is refused."""

from __future__ import annotations

import ipaddress
import re

from .errors import LbError

MAX_TEXT = 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def name(value: str, what: str) -> str:
    """An identifier of ours (frontend, backend, server, namespace): plain characters only,
    so that it can stand unquoted in `be/server` runtime commands and in CSV stats."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise LbError(f"{what} name {value!r} must be 1-100 of A-Z a-z 0-9 _ . - (not first)")
    return value


def text(value: str, what: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise LbError(f"{what} must be a string")
    if len(value) > limit:
        raise LbError(f"{what} is longer than {limit} characters")
    if _CONTROL.search(value):
        raise LbError(f"{what} has a control character (a newline, a tab, ...): {value[:40]!r}")
    return value


def quote(value: str, what: str = "a value") -> str:
    return "'" + text(value, what).replace("'", "'\\''") + "'"


def logformat(value: str, what: str) -> str:
    """A literal for inside a log-format string (redirect locations): % is its only escape."""
    return text(value, what).replace("%", "%%")


def wildcard(value: str, what: str, literal=re.escape, one: str = ".", run: str = ".*",
             escapes: bool = False) -> str:
    """An ALB wildcard (* any run, ? one character) as a PCRE body, all else literal (each
    character through literal()); with escapes, \\* and \\? stand for themselves."""
    out, chars = [], iter(text(value, what))
    for c in chars:
        if escapes and c == "\\":
            c = next(chars, "\\")
            out.append(literal(c))
        else:
            out.append(run if c == "*" else one if c == "?" else literal(c))
    return "".join(out)


def integer(value: int, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise LbError(f"{what} must be an integer from {low} to {high}, not {value!r}")
    return value


def address(value: str, port: int, what: str) -> str:
    """ip:port as haproxy reads it ([v6]:port); names are refused, there is no DNS here."""
    try:
        ip = ipaddress.ip_address(value)
    except (ValueError, TypeError):
        raise LbError(f"{what} address {value!r} is not an IP address") from None
    integer(port, f"{what} port", 1, 65535)
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def cidr(value: str, what: str) -> str:
    try:
        return str(ipaddress.ip_network(text(value, what), strict=False))
    except ValueError:
        raise LbError(f"{what} {value!r} is not a CIDR block") from None


def path(value: str, what: str) -> str:
    """A file of ours (certificate, body) that goes into the config quoted."""
    if not text(value, what).startswith("/"):
        raise LbError(f"{what} {value!r} must be an absolute path")
    return quote(value, what)
