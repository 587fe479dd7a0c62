"""The part of CloudWatch Logs' filter patterns that JSON patterns and space-delimited patterns
share: conditions joined with && (binding tighter) and ||, grouped with parentheses, how a value
compares with a literal (numbers as numbers, `*` as the only wildcard), and what a compiled
pattern and its match are.

Parsing is bounded (pattern length, nesting depth) and every comparison is linear in the value,
so no pattern a tenant writes can make matching slow: regular expressions (%...%) are refused."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_LENGTH = 1024  # AWS's limit on a filter pattern
MAX_DEPTH = 16  # parentheses within parentheses

NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_OPERATORS = ("<=", ">=", "!=", "=", "<", ">")


class PatternError(ValueError):
    """A filter pattern that does not parse; the message says where (for the server's log)."""


class Match:
    """What a match yields: the values TestMetricFilter shows, and a $-reference's value (None
    where the message has none), as text or as a number. One is made per event and filter, so
    it is kept small."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, str]):
        self.values = values

    def extracted(self) -> dict[str, str]:
        return self.values

    def lookup(self, reference: str) -> str | None:
        return self.values.get(reference)

    def number(self, reference: str) -> float | None:
        text = self.lookup(reference)
        return None if text is None else number(text)


@dataclass(frozen=True)
class Pattern:
    kind: str  # "terms", "json" or "fields"
    match: Callable[[str], Match | None]
    refers: Callable[[str], bool]  # whether a $-reference names a value this pattern extracts

    def __call__(self, message: str) -> bool:
        return self.match(message) is not None


def number(text: str) -> float | None:
    """The finite number text spells as JSON would (no 'nan', '1_000' or padding), else None."""
    if not NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def wildcard(pieces: list[str], text: str) -> bool:
    """Whether text matches the pattern split on its *s into pieces, each * standing for any
    run of characters. The leftmost match of each piece is the right one: no backtracking."""
    if len(pieces) == 1:
        return text == pieces[0]
    first, last = pieces[0], pieces[-1]
    if len(text) < len(first) + len(last) or not text.startswith(first) or not text.endswith(last):
        return False
    at, end = len(first), len(text) - len(last)
    for piece in pieces[1:-1]:
        found = text.find(piece, at, end)
        if found < 0:
            return False
        at = found + len(piece)
    return True


class Literal:
    """The right side of a comparison: a number, or text in which * is a wildcard."""

    def __init__(self, text: str, op: str, quoted: bool = False):
        if not quoted and len(text) > 1 and text.startswith("%") and text.endswith("%"):
            raise PatternError("regular expressions are not supported")
        self.op, self.number, self.pieces = op, number(text), text.split("*")
        if op not in ("=", "!=") and self.number is None:
            raise PatternError(f"{op} needs a number, not {text!r}")

    def compare(self, value: float) -> bool:
        """Whether a number satisfies `op literal`, the literal being a number."""
        return {"=": value == self.number, "!=": value != self.number, "<": value < self.number,
                "<=": value <= self.number, ">": value > self.number, ">=": value >= self.number}[self.op]

    def test(self, text: str | None, value: float | None) -> bool:
        """Whether a value (its text, and its number where it is one) satisfies `op literal`."""
        if self.number is not None and value is not None:
            return self.compare(value)
        if self.op not in ("=", "!=") or text is None:
            return False
        return wildcard(self.pieces, text) == (self.op == "=")


Predicate = Callable[[object], bool]


class Parser:
    """A cursor over a pattern's text. `operand(parser)` reads one condition (what comes
    between && and || and parentheses) and returns its predicate; `stops` are the characters
    that end an unquoted value besides blanks, parentheses, & and |."""

    def __init__(self, text: str, operand: Callable[[Parser], Predicate], stops: str = ""):
        if len(text) > MAX_LENGTH:
            raise PatternError("pattern too long")
        self.text, self.at, self.operand, self.stops = text, 0, operand, stops

    def error(self, what: str) -> PatternError:
        return PatternError(f"{what} at offset {self.at}")

    def blank(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def done(self) -> bool:
        self.blank()
        return self.at >= len(self.text)

    def peek(self, token: str) -> bool:
        self.blank()
        return self.text.startswith(token, self.at)

    def take(self, token: str) -> bool:
        if self.peek(token):
            self.at += len(token)
            return True
        return False

    def expression(self, depth: int = 0) -> Predicate:
        return self._joined("||", lambda: self._joined("&&", lambda: self._atom(depth), all), any)

    def _joined(self, token: str, part: Callable[[], Predicate], combine) -> Predicate:
        """One part, and one more after each token: holds when all (or any) of them hold."""
        parts = [part()]
        while self.take(token):
            parts.append(part())
        return parts[0] if len(parts) == 1 else lambda ctx: combine(p(ctx) for p in parts)

    def _atom(self, depth: int) -> Predicate:
        if self.take("("):
            if depth >= MAX_DEPTH:
                raise self.error("parentheses nested too deep")
            inner = self.expression(depth + 1)
            if not self.take(")"):
                raise self.error("expected )")
            return inner
        return self.operand(self)

    def word(self, pattern: re.Pattern) -> str | None:
        """The text pattern matches here, consumed, or None."""
        self.blank()
        m = pattern.match(self.text, self.at)
        if not m:
            return None
        self.at = m.end()
        return m.group(0)

    def operator(self) -> str | None:
        self.blank()
        for op in _OPERATORS:
            if self.text.startswith(op, self.at):
                self.at += len(op)
                return op
        return None

    def literal(self, op: str) -> Literal:
        """A quoted string ("..." with \\" and \\\\ escapes) or an unquoted run of characters."""
        self.blank()
        if self.text.startswith('"', self.at):
            out, i = [], self.at + 1
            while i < len(self.text) and self.text[i] != '"':
                if self.text[i] == "\\" and i + 1 < len(self.text):
                    i += 1
                out.append(self.text[i])
                i += 1
            if i >= len(self.text):
                raise self.error("unclosed quote")
            self.at = i + 1
            return Literal("".join(out), op, quoted=True)
        start = self.at
        while self.at < len(self.text) and not self.text[self.at].isspace() and \
                self.text[self.at] not in "()&|" + self.stops:
            self.at += 1
        if self.at == start:
            raise self.error("expected a value")
        return Literal(self.text[start:self.at], op)
