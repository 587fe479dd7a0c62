"""CloudWatch Logs' filter pattern language, shared by FilterLogEvents and TestMetricFilter
(services/logs) and by the metric filters applied as events are stored (log_metrics.py):

- terms and "quoted phrases" that must all appear, ?terms of which one must, -terms that
  must not (`ERROR -test`, `?WARN ?ERROR`);
- JSON patterns, `{ $.level = "error" && ($.latency > 100 || $.retry IS TRUE) }`, with
  =, !=, <, <=, >, >=, IS NULL, IS TRUE, IS FALSE and NOT EXISTS;
- space-delimited patterns, `[ip, user, ..., status = 4*, bytes > 1000]` (log_fields.py).

A compiled Pattern tells whether a message matches and, for a match, the values it extracts:
`$.a.b[0]` from JSON, `$name` and `$1`, `$2`... from fields. Metric filters publish those."""

from __future__ import annotations

import json
import re
import shlex
from functools import lru_cache

from .log_conditions import MAX_LENGTH, Match, Parser, Pattern, PatternError
from .log_fields import fields_pattern

_NOTHING = Match({})


@lru_cache(maxsize=1024)  # ingestion compiles each of a group's filters for every batch
def compile_pattern(pattern: str | None) -> Pattern:
    """The pattern compiled; PatternError if it does not parse."""
    text = (pattern or "").strip()
    if len(text) > MAX_LENGTH:
        raise PatternError("pattern too long")
    if text.startswith("{"):
        if not text.endswith("}"):
            raise PatternError("a JSON pattern ends with }")
        return _json_pattern(text[1:-1])
    if text.startswith("["):
        if not text.endswith("]"):
            raise PatternError("a space-delimited pattern ends with ]")
        return fields_pattern(text[1:-1])
    return _terms_pattern(text)


def _terms_pattern(text: str) -> Pattern:
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError:
        raise PatternError("unclosed quote") from None
    if any(len(t) > 2 and t.lstrip("?-").startswith("%") and t.endswith("%") for t in tokens):
        raise PatternError("regular expressions are not supported")
    required = [t for t in tokens if not t.startswith(("?", "-"))]
    any_of = [t[1:] for t in tokens if t.startswith("?") and len(t) > 1]
    none_of = [t[1:] for t in tokens if t.startswith("-") and len(t) > 1]

    def match(message: str) -> Match | None:
        hit = all(t in message for t in required) and (not any_of or any(t in message for t in any_of)) and \
            not any(t in message for t in none_of)
        return _NOTHING if hit else None
    return Pattern("terms", match, lambda reference: False)


# -- JSON -------------------------------------------------------------------------------------

_SELECTOR = re.compile(r"\$(?:\.[A-Za-z0-9_\-@]+|\[\d+\])+")
_STATE = re.compile(r"IS\s+(?:NULL|TRUE|FALSE)|NOT\s+EXISTS", re.IGNORECASE)
_MISSING = object()


@lru_cache(maxsize=256)
def _path(selector: str) -> tuple[str | int, ...] | None:
    """The keys and indexes a selector walks, None if it is not one."""
    if not _SELECTOR.fullmatch(selector):
        return None
    return tuple(int(index) if index else key for key, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", selector))


@lru_cache(maxsize=4)  # one message is parsed once for all of a group's JSON filters
def _document(message: str):
    try:
        return json.loads(message)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        return _MISSING


def _lookup(doc, path: tuple[str | int, ...] | None):
    if path is None:
        return _MISSING
    for part in path:
        if isinstance(part, str) and isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(part, int) and isinstance(doc, list) and part < len(doc):
            doc = doc[part]
        else:
            return _MISSING
    return doc


def _text(value) -> str | None:
    """A scalar as an extracted value reads (JSON's spelling); None for objects, arrays, null."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # as json.dumps writes it, at a fraction of the cost
    return None


def _condition(parser: Parser, selectors: list[str]):
    selector = parser.word(_SELECTOR)
    if selector is None:
        raise parser.error("expected a selector such as $.field")
    path = _path(selector)
    selectors.append(selector)
    state = parser.word(_STATE)
    if state is not None:
        state = " ".join(state.upper().split())
        if state == "NOT EXISTS":
            return lambda doc: _lookup(doc, path) is _MISSING
        want = {"IS NULL": None, "IS TRUE": True, "IS FALSE": False}[state]
        return lambda doc: _lookup(doc, path) is want
    op = parser.operator()
    if op is None:
        raise parser.error("expected an operator")
    literal = parser.literal(op)

    def compare(doc) -> bool:
        value = _lookup(doc, path)
        if value is _MISSING or value is None or isinstance(value, (dict, list)):
            return False
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return literal.compare(float(value)) if literal.number is not None else literal.test(repr(value), None)
        return literal.test(_text(value), None)
    return compare


class _JsonMatch(Match):
    """A JSON document matched: values are looked up in it when asked."""

    __slots__ = ("doc", "paths")

    def __init__(self, doc, paths: list):
        self.doc, self.paths = doc, paths

    def extracted(self) -> dict[str, str]:
        return {s: t for s, p in self.paths if (t := _text(_lookup(self.doc, p))) is not None}

    def lookup(self, reference: str) -> str | None:
        return _text(_lookup(self.doc, _path(reference)))

    def number(self, reference: str) -> float | None:
        value = _lookup(self.doc, _path(reference))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return super().number(reference) if isinstance(value, str) else None


def _json_pattern(body: str) -> Pattern:
    selectors: list[str] = []
    parser = Parser(body, lambda p: _condition(p, selectors))
    predicate = parser.expression()
    if not parser.done():
        raise parser.error("unexpected text")
    paths = [(s, _path(s)) for s in dict.fromkeys(selectors)]

    def match(message: str) -> Match | None:
        doc = _document(message)
        if doc is _MISSING or not predicate(doc):
            return None
        return _JsonMatch(doc, paths)
    return Pattern("json", match, lambda reference: _path(reference) is not None)
