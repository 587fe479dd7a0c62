"""Space-delimited filter patterns, `[ip, user, ..., status = 4*, bytes > 1000]`.

A message is split on blanks into fields, text in "double quotes" or [square brackets] being one
field (without them). Each entry of the pattern stands for the field at its place: it names it,
with conditions on it joined by && and || (`status = 4* || status = 5*`), or leaves it unnamed
(`[a, , c]`); one `...` stands for any number of fields, and without it the last entry takes
the rest of the line. A match extracts the named fields as $name and the others by position,
$1, $2..., as TestMetricFilter shows them."""

from __future__ import annotations

import re
from functools import lru_cache

from .log_conditions import Match, Parser, Pattern, PatternError, number

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD = re.compile(r'"([^"]*)"?|\[([^\]]*)\]?|(\S+)')
_POSITION = re.compile(r"\$[1-9][0-9]{0,4}")
_UNNAMED = (None, None)


@lru_cache(maxsize=4)  # one message is split once for all of a group's space-delimited filters
def _split(message: str) -> tuple[tuple[str, int], ...]:
    """Each field's text and where it starts in the message."""
    return tuple((next(g for g in m.groups() if g is not None), m.start()) for m in _FIELD.finditer(message))


def _condition(parser: Parser, names: list[str]):
    name = parser.word(_NAME)
    if name is None:
        raise parser.error("expected a field name")
    names.append(name)
    op = parser.operator()
    if op is None:
        return lambda fields: True
    literal = parser.literal(op)
    return lambda fields: literal.test(fields[name], number(fields[name]))


def _entries(body: str) -> tuple[list, list | None]:
    """The entries before `...` and after it (None without one): (name, predicate) pairs."""
    names: list[str] = []
    parser = Parser(body, lambda p: _condition(p, names), stops=",")
    before, after = [], None
    if parser.done():
        return before, []
    while True:
        if parser.take("..."):
            if after is not None:
                raise parser.error("only one ... is allowed")
            after = []
        elif parser.peek(",") or parser.done():
            (before if after is None else after).append(_UNNAMED)
        else:
            names.clear()
            predicate = parser.expression()
            if len(set(names)) != 1:
                raise parser.error("an entry's conditions are about its own field")
            (before if after is None else after).append((names[0], predicate))
        if parser.done():
            break
        if not parser.take(","):
            raise parser.error("expected ,")
    declared = [name for name, _ in before + (after or []) if name]
    if len(set(declared)) != len(declared):
        raise PatternError("a field is named twice")
    return before, after


def fields_pattern(body: str) -> Pattern:
    before, after = _entries(body)
    named = {name for name, _ in before + (after or []) if name}
    checks = [(name, predicate) for name, predicate in before + (after or []) if predicate]

    def placed(message: str) -> list | None:
        """(entry, field text) for every field, or None if the fields cannot fit the entries."""
        fields = _split(message)
        if after is None:
            if len(fields) < len(before):
                return None
            if len(fields) > len(before):
                last = len(before) - 1
                fields = fields[:last] + ((message[fields[last][1]:].strip(), fields[last][1]),)
            return [(entry, text) for entry, (text, _) in zip(before, fields)]
        if len(fields) < len(before) + len(after):
            return None
        middle = len(fields) - len(after)
        return [(before[i] if i < len(before) else after[i - middle] if i >= middle else _UNNAMED, text)
                for i, (text, _) in enumerate(fields)]

    def match(message: str) -> Match | None:
        fields = placed(message)
        if fields is None:
            return None
        values, extracted = {}, {}
        for position, ((name, _), text) in enumerate(fields, 1):
            if name:
                values[name] = extracted[f"${name}"] = text
            else:
                extracted[f"${position}"] = text
        if not all(predicate(values) for _, predicate in checks):
            return None
        return Match(extracted)

    def refers(reference: str) -> bool:
        return (reference.startswith("$") and reference[1:] in named) or bool(_POSITION.fullmatch(reference))
    return Pattern("fields", match, refers)
