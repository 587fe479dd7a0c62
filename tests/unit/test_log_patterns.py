"""CloudWatch Logs filter patterns: terms, phrases, ?or, -not, and the JSON forms."""

import pytest

from cloudlet.edge.errors import AWSError
from cloudlet.services.logs.patterns import compile_pattern


@pytest.mark.parametrize("pattern, message, hit", [
    ("ERROR", "an ERROR here", True), ("ERROR", "error", False),
    ("ERROR Exception", "ERROR x Exception", True), ("ERROR Exception", "ERROR x", False),
    ('"out of memory"', "fatal: out of memory!", True), ("?WARN ?ERROR", "a WARN", True),
    ("?WARN ?ERROR", "INFO", False), ("ERROR -test", "ERROR test", False),
    ('{ $.level = "error" }', '{"level": "error"}', True),
    ("{ $.latency > 100 && $.status != 200 }", '{"latency": 150, "status": 500}', True),
    ("{ $.latency > 100 && $.status != 200 }", '{"latency": 150, "status": 200}', False),
    ('{ $.msg = "time*" }', '{"msg": "timeout"}', True), ("{ $.a.b = 1 || $.c IS TRUE }", '{"c": true}', True),
    ("{ $.a.b = 1 }", '{"a": {"b": 1}}', True), ("{ $.list[1] = 2 }", '{"list": [1, 2]}', True),
    ("{ $.x NOT EXISTS }", "{}", True), ("{ $.x IS NULL }", '{"x": null}', True), ("{ $.x = 1 }", "not json", False),
])
def test_patterns(pattern, message, hit):
    assert compile_pattern(pattern)(message) is hit


@pytest.mark.parametrize("pattern", ["{ $.x = 1", "{ level = 1 }", '"unclosed', "{ $.x > abc }"])
def test_invalid_patterns(pattern):
    with pytest.raises(AWSError) as err:
        compile_pattern(pattern)
    assert err.value.code == "InvalidParameterException"
