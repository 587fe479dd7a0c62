"""A rule's conditions as haproxy ACLs: one `acl` line per alternative (lines of one name are
ORed), every pattern after `--` so that none can pass for a flag such as `-f <file>`."""

from __future__ import annotations

import re

from . import words
from .errors import LbError
from .plan import Condition

_TOKEN = re.compile(r"[A-Za-z0-9!#$&*+.^_`|~-]{1,64}")  # an RFC 9110 token, less ' and %
_METHOD = re.compile(r"[A-Za-z_-]{1,40}")
_ONE_DECODED = r"(?:[^&%]|%[0-9a-f]{2}(?:%[89ab][0-9a-f]){0,3})"


def acl_lines(label: str, condition: Condition) -> list[str]:
    """The `acl <label> ...` lines that hold when the request meets condition."""
    kind = condition.kind
    if kind == "query":
        patterns = [_query_pair(key, value) for key, value in condition.pairs]
        return [f"acl {label} query -m reg -i -- {words.quote(p)}" for p in _some(patterns, kind)]
    values = _some(list(condition.values), kind)
    if kind == "path":
        # as written or percent-decoded (one ACL name: either matches)
        return [f"acl {label} {fetch} -m reg -- {words.quote(_anchored(v, 'path pattern'))}" for v in values
                for fetch in ("path", "path,url_dec")]
    if kind == "host":
        return [f"acl {label} req.hdr(host) -m reg -i -- {words.quote(_anchored(v, 'host', r'(?::[0-9]+)?'))}"
                for v in values]
    if kind == "header":
        header = condition.name or ""
        if not _TOKEN.fullmatch(header):
            raise LbError(f"header name {header[:70]!r} must be a token of 1-64 characters")
        return [f"acl {label} {words.quote(f'req.fhdr({header})')} -m reg -i -- "
                f"{words.quote(_anchored(v, 'header value'))}"
                for v in values]
    if kind == "method":
        for v in values:
            if not _METHOD.fullmatch(v):
                raise LbError(f"method {v[:50]!r} must be 1-40 of A-Z, _ and -")
        return [f"acl {label} method -m str -- {v}" for v in values]
    if kind == "source":
        return [f"acl {label} src -- {words.cidr(v, 'source CIDR')}" for v in values]
    raise LbError(f"unknown condition kind {kind!r}")


def _some(values: list, kind: str) -> list:
    if not values:
        raise LbError(f"a {kind} condition needs at least one value")
    if len(values) > 100:
        raise LbError(f"a {kind} condition has more than 100 values")
    return values


def _anchored(value: str, what: str, tail: str = "") -> str:
    return f"^{words.wildcard(value, what)}{tail}$"


def _query_pair(key: str | None, value: str) -> str:
    """A pair matched on the raw query string, each character of the condition matching itself
    or its percent-encoding: the same as matching the decoded parameters, without decoding
    (which would let an encoded & or = split a value)."""
    name = r"[^&=]*" if key is None else _decoded(key, "query key")
    return rf"(?:^|&){name}={_decoded(value, 'query value')}(?:&|$)"


def _decoded(value: str, what: str) -> str:
    return words.wildcard(value, what, literal=_query_char, one=_ONE_DECODED, run=r"[^&]*", escapes=True)


def _query_char(c: str) -> str:
    encoded = "".join(f"%{b:02x}" for b in c.encode())
    if c == " ":
        return rf"(?:\+|{encoded})"
    if c in "&=+%#":  # only encoded can these be part of a key or a value
        return encoded
    return f"(?:{re.escape(c)}|{encoded})"
