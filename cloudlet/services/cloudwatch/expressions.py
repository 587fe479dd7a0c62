"""Metric math for GetMetricData (and alarms on expressions): + - * / ^ between time series
and scalars, arrays [m1, m2] and METRICS(), SUM/AVG/MIN/MAX (a scalar of one series, a
series of an array), ABS, CEIL, FLOOR, FILL(x, value | REPEAT), RATE and DIFF.

A time series is a dict timestamp -> value in time order; an array a list of them."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

MAX_DEPTH = 40  # nested parentheses, brackets, calls and signs: bounds the parser's recursion
MAX_FILLED = 504_000  # points FILL may make (five pages of GetMetricData's 100,800)
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|([A-Za-z_][A-Za-z0-9_]*)|(\"[^\"]*\"|'[^']*')|(.))")
Series = dict


class ExpressionError(Exception):
    pass


def evaluate(expression: str, lookup: Callable[[str], object], metrics: Callable[[str], list],
             grid: range) -> object:
    """The value of expression: lookup(id) gives another query's value, metrics(filter) the
    series METRICS() names, grid the timestamps of the query's period (for FILL)."""
    return _Parser(expression, lookup, metrics, grid).parse()


def _combine(a, b, op):
    if isinstance(a, list) or isinstance(b, list):
        if isinstance(a, list) and isinstance(b, list):
            raise ExpressionError("Arithmetic between two arrays of time series is not supported.")
        return [_combine(x, b, op) for x in a] if isinstance(a, list) else [_combine(a, y, op) for y in b]
    if isinstance(a, dict) and isinstance(b, dict):
        pairs = ((t, a[t], b[t]) for t in a if t in b)
    elif isinstance(a, dict):
        pairs = ((t, v, b) for t, v in a.items())
    elif isinstance(b, dict):
        pairs = ((t, a, v) for t, v in b.items())
    else:
        return _apply(op, a, b)
    out = {t: _apply(op, x, y) for t, x, y in pairs}
    return {t: v for t, v in out.items() if v is not None}


def _apply(op, x, y):
    try:
        got = op(x, y)
    except (ZeroDivisionError, OverflowError):
        return None  # no point there, as on AWS
    except TypeError:
        raise ExpressionError("Arithmetic takes numbers and time series only.") from None
    return got if isinstance(got, float) and math.isfinite(got) else None  # (-8) ^ 0.5 is complex


def _reduce(name: str, x):
    fold = {"SUM": sum, "MIN": min, "MAX": max, "AVG": lambda vs: sum(vs) / len(vs)}[name]
    if isinstance(x, dict):
        return float(fold(list(x.values()))) if x else None
    if isinstance(x, list):
        stamps = sorted({t for s in x for t in s})
        return {t: float(fold([s[t] for s in x if t in s])) for t in stamps}
    raise ExpressionError(f"{name} takes a time series or an array of time series.")


def _each(x, fn):
    if isinstance(x, list):
        return [_each(s, fn) for s in x]
    if isinstance(x, dict):
        return fn(x)
    raise ExpressionError("The function takes a time series or an array of time series.")


def _rate(s: Series, per_second: bool) -> Series:
    items, out = list(s.items()), {}
    for (t0, v0), (t1, v1) in zip(items, items[1:]):
        out[t1] = (v1 - v0) / (t1 - t0) if per_second else v1 - v0
    return out


class _Parser:
    def __init__(self, text: str, lookup, metrics, grid):
        self.tokens = [m for m in _TOKEN.finditer(text) if m.group(0).strip()]
        self.at, self.text, self.depth = 0, text, 0
        self.lookup, self.metrics, self.grid = lookup, metrics, grid

    def parse(self):
        if not self.tokens:
            raise ExpressionError("The expression is empty.")
        value = self._sum()
        if self.at < len(self.tokens):
            raise ExpressionError(f"Unexpected token {self.tokens[self.at].group(0).strip()!r}.")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.at].group(0).strip() if self.at < len(self.tokens) else None

    def _take(self, want: str | None = None) -> str:
        got = self._peek()
        if got is None or (want is not None and got != want):
            raise ExpressionError(f"Expected {want!r}." if want else "The expression ends too soon.")
        self.at += 1
        return got

    def _deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"The expression nests deeper than {MAX_DEPTH} levels.")

    def _sum(self):
        self._deeper()
        value = self._product()
        while self._peek() in ("+", "-"):
            op = self._take()
            value = _combine(value, self._product(), (lambda a, b: a + b) if op == "+" else (lambda a, b: a - b))
        self.depth -= 1
        return value

    def _product(self):
        value = self._unary()
        while self._peek() in ("*", "/"):
            op = self._take()
            value = _combine(value, self._unary(), (lambda a, b: a * b) if op == "*" else (lambda a, b: a / b))
        return value

    def _unary(self):  # -x ^ 2 is -(x ^ 2)
        if self._peek() == "-":
            self._take()
            self._deeper()
            value = _combine(-1.0, self._unary(), lambda a, b: a * b)
            self.depth -= 1
            return value
        return self._power()

    def _power(self):
        value = self._atom()
        if self._peek() == "^":
            self._take()
            self._deeper()
            value = _combine(value, self._unary(), lambda a, b: a ** b)
            self.depth -= 1
        return value

    def _atom(self):
        match = self.tokens[self.at] if self.at < len(self.tokens) else None
        if match is None:
            raise ExpressionError("The expression ends too soon.")
        number, name, string, other = match.groups()
        self.at += 1
        if number:
            return float(number)
        if string:
            return string[1:-1]
        if other == "(":
            value = self._sum()
            self._take(")")
            return value
        if other == "[":
            items = [self._sum()]
            while self._peek() == ",":
                self._take()
                items.append(self._sum())
            self._take("]")
            if not all(isinstance(i, dict) for i in items):
                raise ExpressionError("An array holds time series only.")
            return items
        if name and self._peek() == "(":
            return self._call(name.upper())
        if name:
            return self.lookup(name)
        raise ExpressionError(f"Unexpected token {other!r}.")

    def _args(self) -> list:
        self._take("(")
        args = []
        while self._peek() != ")":
            if args:
                self._take(",")
            args.append(self._take() if self._peek() in ("REPEAT", "LINEAR") else self._sum())
        self._take(")")
        return args

    def _call(self, name: str):
        args = self._args()
        if name == "METRICS":
            if len(args) > 1 or (args and not isinstance(args[0], str)):
                raise ExpressionError("METRICS takes at most one string.")
            return self.metrics(args[0] if args else "")
        if name in ("SUM", "AVG", "MIN", "MAX") and len(args) == 1:
            return _reduce(name, args[0])
        if name in ("ABS", "CEIL", "FLOOR") and len(args) == 1:
            fn = {"ABS": abs, "CEIL": math.ceil, "FLOOR": math.floor}[name]
            return float(fn(args[0])) if isinstance(args[0], float) else \
                _each(args[0], lambda s: {t: float(fn(v)) for t, v in s.items()})
        if name in ("RATE", "DIFF") and len(args) == 1:
            return _each(args[0], lambda s: _rate(s, name == "RATE"))
        if name == "FILL" and len(args) == 2:
            return _each(args[0], lambda s: self._fill(s, args[1]))
        raise ExpressionError(f"Unknown function or wrong arguments: {name}.")

    def _fill(self, s: Series, how) -> Series:
        if not isinstance(how, float) and how != "REPEAT":
            raise ExpressionError("FILL takes a number or REPEAT.")
        if len(self.grid) > MAX_FILLED:
            raise ExpressionError(f"FILL would make more than {MAX_FILLED:,} points: shorten the time range or "
                                  "lengthen the period.")
        out, last = {}, None
        for t in self.grid:
            if t in s:
                last = out[t] = s[t]
            elif how == "REPEAT":
                if last is not None:
                    out[t] = last
            else:
                out[t] = how
        return out
