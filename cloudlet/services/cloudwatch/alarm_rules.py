"""A composite alarm's AlarmRule, in CloudWatch's language: ALARM(name), OK(name) and
INSUFFICIENT_DATA(name) (a name or an ARN, in double quotes or bare), TRUE, FALSE, NOT, AND,
OR and parentheses; NOT binds tighter than AND, AND tighter than OR.

A rule is parsed without recursion into postfix (a rule of 10,240 characters may nest as
deep as it likes and still cost one pass), held to AWS's limits (100 alarms, 500 elements),
and evaluated over the alarms' states with the alarms that decided the outcome, which
CloudWatch reports as the triggering alarms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_CHILDREN = 100
MAX_ELEMENTS = 500  # child alarms, TRUE or FALSE, and parentheses
FUNCTIONS = ("ALARM", "OK", "INSUFFICIENT_DATA")
_PRECEDENCE = {"OR": 1, "AND": 2, "NOT": 3}
_SHOWN = 64  # characters of a token an error message repeats
_OPERAND = "'(', 'NOT', TRUE or FALSE, ALARM, OK, or INSUFFICIENT_DATA"


class RuleError(ValueError):
    """AWS's words for what is wrong with the rule (a ValidationError on the wire)."""


@dataclass(frozen=True)
class Rule:
    # postfix steps: ("is", state, reference), ("const", bool), ("NOT",), ("AND",), ("OR",)
    program: tuple
    references: tuple[str, ...]  # the alarms the rule names, each once, as written, in order


def _tokens(text: str):
    """(token, position, quoted) for each token, then (None, len(text), False)."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            yield c, i, False
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise RuleError(f"Error in AlarmRule [Unterminated quoted alarm name at char {i}]")
            yield text[i + 1:end], i, True
            i = end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in '()"':
                i += 1
            yield text[start:i], start, False
    yield None, n, False


def _unexpected(token, position: int, quoted: bool, expected: str) -> RuleError:
    if token is None:
        return RuleError(f"Error in AlarmRule [Unexpected end of rule at char {position}, must be: {expected}]")
    shown = f'"{token}"' if quoted else token
    if len(shown) > _SHOWN:
        shown = shown[:_SHOWN] + "..."
    return RuleError(f"Error in AlarmRule [Unsupported token '{shown}' at char {position}, must be: {expected}]")


def parse(text: str) -> Rule:
    """The rule of `text`, or RuleError with AWS's message."""
    tokens = _tokens(text)
    program: list[tuple] = []
    operators: list[str] = []  # pending NOT, AND, OR and "(" (shunting-yard)
    references: dict[str, None] = {}
    elements = 0
    want_operand = True

    def element() -> None:
        nonlocal elements
        elements += 1
        if elements > MAX_ELEMENTS:
            raise RuleError(f"The AlarmRule can have as many as {MAX_ELEMENTS} elements (child alarms, TRUE or "
                            "FALSE statements, and parentheses).")

    def pop_while(precedence: int) -> None:
        while operators and operators[-1] != "(" and _PRECEDENCE[operators[-1]] >= precedence:
            program.append((operators.pop(),))

    for token, position, quoted in tokens:
        word = None if token is None or quoted else token.upper()
        if want_operand:
            if word == "(":
                element()
                operators.append("(")
            elif word == "NOT":
                operators.append("NOT")  # unary, right to left: nothing pending is popped for it
            elif word in ("TRUE", "FALSE"):
                element()
                program.append(("const", word == "TRUE"))
                want_operand = False
            elif word in FUNCTIONS:
                element()
                program.append(("is", word, _reference(tokens)))
                references.setdefault(program[-1][2])
                if len(references) > MAX_CHILDREN:
                    raise RuleError(f"The AlarmRule can specify as many as {MAX_CHILDREN} children alarms.")
                want_operand = False
            else:
                raise _unexpected(token, position, quoted, _OPERAND)
        elif word in ("AND", "OR"):
            pop_while(_PRECEDENCE[word])
            operators.append(word)
            want_operand = True
        elif word == ")" and "(" in operators:
            pop_while(0)
            operators.pop()
        elif token is None and "(" not in operators:
            pop_while(0)
            return Rule(tuple(program), tuple(references))
        else:
            raise _unexpected(token, position, quoted, "'AND', 'OR' or ')'" if "(" in operators else
                              "'AND' or 'OR'")
    raise AssertionError("the token stream always ends with None")


def _reference(tokens) -> str:
    """The alarm of ALARM(...), OK(...) or INSUFFICIENT_DATA(...), from just after its name."""
    token, position, quoted = next(tokens)
    if token != "(" or quoted:
        raise _unexpected(token, position, quoted, "'('")
    token, position, quoted = next(tokens)
    if token is None or (token in "()" and not quoted):
        raise _unexpected(token, position, quoted, "an alarm name or ARN")
    name = token
    token, position, quoted = next(tokens)
    if token != ")" or quoted:
        raise _unexpected(token, position, quoted, "')'")
    return name


def evaluate(rule: Rule, state_of: Callable[[str], str | None]) -> tuple[bool, list[str]]:
    """The rule's value over the states of its alarms (state_of(reference); None for an alarm
    gone), and the references that decide it: for a rule that holds, the alarms that make it
    hold; for one that does not, those that keep it from holding."""
    stack: list[tuple[bool, dict]] = []
    for step in rule.program:
        kind = step[0]
        if kind == "is":
            stack.append((state_of(step[2]) == step[1], {step[2]: None}))
        elif kind == "const":
            stack.append((step[1], {}))
        elif kind == "NOT":
            value, why = stack.pop()
            stack.append((not value, why))
        else:
            (b, b_why), (a, a_why) = stack.pop(), stack.pop()
            value = (a and b) if kind == "AND" else (a or b)
            # an operand decides when its value is the outcome's (AND: false ones; OR: true ones)
            why = {**(a_why if a == value else {}), **(b_why if b == value else {})}
            stack.append((value, why))
    value, why = stack.pop()
    return value, list(why)
