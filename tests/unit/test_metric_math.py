"""Metric math on plain series: precedence, arrays and their reductions, FILL, RATE and DIFF,
points where an operation has no value, and expressions a hostile caller writes."""

import pytest

from cloudlet.services.cloudwatch.expressions import ExpressionError, evaluate

SERIES = {"m1": {0: 1.0, 60: 2.0, 120: 4.0}, "m2": {0: 10.0, 120: 0.0}}
GRID = range(0, 240, 60)


def ev(text: str):
    def lookup(name):
        if name not in SERIES:
            raise ExpressionError(f"Unrecognized token: {name}.")
        return SERIES[name]
    return evaluate(text, lookup, lambda flt: [s for k, s in SERIES.items() if flt in k], GRID)


@pytest.mark.parametrize("text, expected", [
    ("m1 + m2", {0: 11.0, 120: 4.0}),  # where both have a point
    ("-m1 ^ 2", {0: -1.0, 60: -4.0, 120: -16.0}),
    ("2 * 3 ^ 2", 18.0),
    ("m1 / m2", {0: 0.1}),  # no point where it would divide by zero
    ("SUM([m1, m2])", {0: 11.0, 60: 2.0, 120: 4.0}),
    ("AVG(METRICS())", {0: 5.5, 60: 2.0, 120: 2.0}),
    ("MAX(METRICS('2'))", {0: 10.0, 120: 0.0}),
    ("m1 / SUM(m1) * 7", {0: 1.0, 60: 2.0, 120: 4.0}),
    ("FILL(m2, 5)", {0: 10.0, 60: 5.0, 120: 0.0, 180: 5.0}),
    ("FILL(m2, REPEAT)", {0: 10.0, 60: 10.0, 120: 0.0, 180: 0.0}),
    ("RATE(m1)", {60: 1 / 60, 120: 2 / 60}),
    ("DIFF(m1)", {60: 1.0, 120: 2.0}),
    ("ABS(m1 - 3)", {0: 2.0, 60: 1.0, 120: 1.0}),
    ("(-8) ^ 0.5", None),  # complex: no value
])
def test_values(text, expected):
    assert ev(text) == expected


@pytest.mark.parametrize("text", ["", "m1 +", "m9", "NOPE(m1)", "[m1, 2]", "[m1] + [m2]", "FILL(m1, 'x')",
                                  "(" * 500 + "m1" + ")" * 500, "-" * 2000 + "1", "^".join(["2"] * 1500),
                                  "METRICS(m1)", "m1 $ m2", "'a' + 1"])
def test_refused(text):
    with pytest.raises(ExpressionError):
        ev(text)


def test_fill_is_bounded():
    with pytest.raises(ExpressionError):
        evaluate("FILL(m1, 0)", SERIES.get, lambda _: [], range(0, 10 ** 12, 1))
