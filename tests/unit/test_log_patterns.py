"""CloudWatch Logs filter patterns: terms, phrases, ?or, -not, the JSON forms and the
space-delimited ones, what a match extracts, and the patterns refused."""

import time

import pytest

from cloudlet.edge.errors import AWSError
from cloudlet.services.logs.patterns import compile_pattern
from cloudlet.store.log_conditions import PatternError
from cloudlet.store.log_patterns import compile_pattern as compile_bare

APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'


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
    ("{ $.latency = * }", '{"latency": 12}', True), ("{ $.latency = * }", '{"latency": null}', False),
    ("{ ($.a = 1 || $.b = 2) && $.c = 3 }", '{"b": 2, "c": 3}', True),
    ("{ ($.a = 1 || $.b = 2) && $.c = 3 }", '{"a": 1}', False), ("{ $.x = 1 }", "[" * 100_000, False),
    ('{ $.m = "[a]*" }', '{"m": "[a]b"}', True), ('{ $.m = "[a]*" }', '{"m": "ab"}', False),  # * alone is wild
    ("[ip, user, ..., status = 4*, size > 1000]", APACHE, True),
    ("[ip, user, ..., status = 5* || status = 2*, size]", APACHE, False),
    ("[..., request = *.html*, status, size]", APACHE, True), ("[a, b, c, d, e, f, g, h]", APACHE, False),
    ("[]", APACHE, True), ("[only]", APACHE, True),
])
def test_patterns(pattern, message, hit):
    assert compile_pattern(pattern)(message) is hit


def test_what_matches_extract():
    fields = compile_pattern("[ip, , user, ..., size]").match(APACHE)
    assert fields.extracted() == {"$ip": "127.0.0.1", "$2": "-", "$user": "frank", "$4": "10/Oct/2000:13:25:15 -0700",
                                  "$5": "GET /index.html HTTP/1.0", "$6": "404", "$size": "1534"}
    assert (fields.lookup("$size"), fields.number("$size"), fields.number("$user")) == ("1534", 1534.0, None)
    rest = compile_pattern("[ip, rest]").match(APACHE)
    assert rest.lookup("$rest") == APACHE.split(" ", 1)[1]  # the last entry takes the rest of the line
    doc = compile_pattern("{ $.a.b[0] > 1 }").match('{"a": {"b": [2.5, "x"]}, "t": true, "s": "7"}')
    assert doc.extracted() == {"$.a.b[0]": "2.5"}
    assert (doc.lookup("$.a.b[1]"), doc.lookup("$.t"), doc.lookup("$.a"), doc.lookup("$.none")) == \
        ("x", "true", None, None)
    assert (doc.number("$.a.b[0]"), doc.number("$.s"), doc.number("$.t")) == (2.5, 7.0, None)
    assert compile_pattern("ERROR").match("ERROR").extracted() == {}


@pytest.mark.parametrize("pattern", [
    "{ $.x = 1", "{ level = 1 }", '"unclosed', "{ $.x > abc }", "{ $.x = 1 ) }", "{ }",
    "{ " + "(" * 17 + "$.a = 1" + ")" * 17 + " }", "%ERROR%", "{ $.a = %x+% }", "[a = %.*%]",
    "[a, ..., ...]", "[a, a]", "[a = 1 || b = 2]", "[a b]", "[a", "x" * 1025,
])
def test_invalid_patterns(pattern):
    with pytest.raises(AWSError) as err:
        compile_pattern(pattern)
    assert err.value.code == "InvalidParameterException"
    with pytest.raises(PatternError):
        compile_bare(pattern)


def test_matching_is_linear():
    """`*` never backtracks, however many a pattern holds."""
    pattern = compile_pattern('{ $.m = "' + "*a" * 200 + '*b" }')
    started = time.process_time()
    assert not pattern('{"m": "' + "a" * 200_000 + 'c"}')
    assert not pattern('{"m": "b' + "a" * 199 + 'b"}')
    assert time.process_time() - started < 1
