"""Composite alarms' AlarmRule: its grammar (quoted and bare names, ARNs, precedence, any
case), AWS's refusals with the token and where it is, the limits, and the alarms that decide
a rule's value; hostile rules (deep nesting, long chains, huge tokens) parsed in one pass."""

import time

import pytest

from cloudlet.services.cloudwatch.alarm_rules import MAX_CHILDREN, MAX_ELEMENTS, RuleError, evaluate, parse

STATES = {"a": "ALARM", "b": "OK", "c": "INSUFFICIENT_DATA", "my alarm (eu)": "ALARM",
          "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu": "OK"}


def value(text: str) -> tuple[bool, list[str]]:
    return evaluate(parse(text), STATES.get)


@pytest.mark.parametrize("text, expected", [
    ("ALARM(a)", (True, ["a"])),
    ('ALARM("a")', (True, ["a"])),
    ("OK(a)", (False, ["a"])),
    ("INSUFFICIENT_DATA(c)", (True, ["c"])),
    ("ALARM(c) OR OK(c)", (False, ["c"])),  # INSUFFICIENT_DATA is neither ALARM nor OK
    ("NOT ALARM(b)", (True, ["b"])),
    ("ALARM(a) AND OK(b)", (True, ["a", "b"])),  # all of a true AND decide it
    ("ALARM(a) AND ALARM(b)", (False, ["b"])),  # only the false ones of a false AND
    ("ALARM(a) OR ALARM(b)", (True, ["a"])),  # only the true ones of a true OR
    ("ALARM(b) OR ALARM(c)", (False, ["b", "c"])),  # all of a false OR
    ("TRUE", (True, [])),
    ("FALSE OR ALARM(a)", (True, ["a"])),
    ("ALARM(a) OR ALARM(b) AND ALARM(c)", (True, ["a"])),  # AND binds tighter than OR
    ("(ALARM(a) OR ALARM(b)) AND ALARM(c)", (False, ["c"])),
    ("NOT ALARM(a) OR ALARM(a)", (True, ["a"])),  # NOT binds tighter than OR
    ("NOT (ALARM(a) OR ALARM(b))", (False, ["a"])),
    ("NOT NOT NOT TRUE", (False, [])),
    ('ALARM("my alarm (eu)") and not ok(a)', (True, ["my alarm (eu)", "a"])),  # keywords in any case
    ("OK(arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu)",
     (True, ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu"])),
    ("ALARM(gone)", (False, ["gone"])),  # an alarm with no state is in none
    ("\n( ALARM ( a ) )\t", (True, ["a"])),
])
def test_rules(text, expected):
    assert value(text) == expected


def test_references_each_once_in_order():
    assert parse('ALARM(b) OR OK("a") AND NOT ALARM(b) OR TRUE').references == ("b", "a")


@pytest.mark.parametrize("text, message", [
    ("()", "Error in AlarmRule [Unsupported token ')' at char 1, must be: '(', 'NOT', TRUE or FALSE, ALARM, OK, or "
           "INSUFFICIENT_DATA]"),
    ("(ALARM(arn:aws:cloudwatch:us-east-1:123456789012:alarm:SampleQueue Oldest Age Alarm))",
     "Error in AlarmRule [Unsupported token 'Oldest' at char 67, must be: ')']"),  # AWS's own example
    ("ALARM(a) AND", "Error in AlarmRule [Unexpected end of rule at char 12, must be: '(', 'NOT', TRUE or FALSE, "
                     "ALARM, OK, or INSUFFICIENT_DATA]"),
    ("ALARM(a) ALARM(b)", "Error in AlarmRule [Unsupported token 'ALARM' at char 9, must be: 'AND' or 'OR']"),
    ("(ALARM(a)", "Error in AlarmRule [Unexpected end of rule at char 9, must be: 'AND', 'OR' or ')']"),
    ("ALARM(a))", "Error in AlarmRule [Unsupported token ')' at char 8, must be: 'AND' or 'OR']"),
    ("ALARM a", "Error in AlarmRule [Unsupported token 'a' at char 6, must be: '(']"),
    ("ALARM()", "Error in AlarmRule [Unsupported token ')' at char 6, must be: an alarm name or ARN]"),
    ('ALARM("a', "Error in AlarmRule [Unterminated quoted alarm name at char 6]"),
    ('"a"', "Error in AlarmRule [Unsupported token '\"a\"' at char 0, must be: '(', 'NOT', TRUE or FALSE, ALARM, OK, "
            "or INSUFFICIENT_DATA]"),
    ("ALARM(a) XOR OK(b)", "Error in AlarmRule [Unsupported token 'XOR' at char 9, must be: 'AND' or 'OR']"),
    ("NOT", "Error in AlarmRule [Unexpected end of rule at char 3, must be: '(', 'NOT', TRUE or FALSE, ALARM, OK, "
            "or INSUFFICIENT_DATA]"),
    ("", "Error in AlarmRule [Unexpected end of rule at char 0, must be: '(', 'NOT', TRUE or FALSE, ALARM, OK, or "
         "INSUFFICIENT_DATA]"),
    ("ALARM(a) AND x" + "y" * 5000, "Error in AlarmRule [Unsupported token 'x" + "y" * 63 + "...' at char 13, must "
                                    "be: '(', 'NOT', TRUE or FALSE, ALARM, OK, or INSUFFICIENT_DATA]"),
])
def test_refusals(text, message):
    with pytest.raises(RuleError) as error:
        parse(text)
    assert str(error.value) == message


def test_limits():
    at_most = " OR ".join(f"ALARM(a{i})" for i in range(MAX_CHILDREN))
    assert len(parse(at_most).references) == MAX_CHILDREN
    assert len(parse(at_most + " OR ALARM(a0)").references) == MAX_CHILDREN  # one named twice is one child
    with pytest.raises(RuleError, match="as many as 100 children alarms"):
        parse(at_most + " OR OK(a100)")
    trues = " AND ".join(["TRUE"] * MAX_ELEMENTS)
    assert parse(trues).program
    with pytest.raises(RuleError, match="as many as 500 elements"):
        parse(trues + " AND FALSE")
    with pytest.raises(RuleError, match="as many as 500 elements"):
        parse("(" * MAX_ELEMENTS + "TRUE" + ")" * MAX_ELEMENTS)  # parentheses count


def test_hostile_rules_cost_one_pass():
    started = time.monotonic()
    nots = "NOT " * 2500 + "TRUE"  # 10,004 characters, no element limit on NOT
    assert evaluate(parse(nots), STATES.get) == (True, [])
    deep = "(" * 499 + "ALARM(a)" + ")" * 499  # as deep as the element limit lets it
    assert evaluate(parse(deep), STATES.get) == (True, ["a"])
    with pytest.raises(RuleError):
        parse("(" * 10240)
    with pytest.raises(RuleError):
        parse("ALARM(" + "x" * 10234)
    with pytest.raises(RuleError, match="Unterminated"):
        parse('ALARM("' + ")" * 10232)
    assert time.monotonic() - started < 2
