"""The regular expressions of Logs Insights' `like /.../`, matched in time linear in the text.

A tenant's pattern runs over every event a query scans, so it is never given to `re`, whose
backtracking a pattern such as /(a+)+$/ makes exponential. It is compiled here to a small NFA
(literals, `.`, classes, \\d \\w \\s and their negations, ^ and $, groups, |, * + ? {m,n}, a
leading (?i)) whose state sets are turned into DFA states as the text needs them and
remembered: each character then costs a dictionary lookup, at worst one step over the
program, whose size is bounded."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PROGRAM = 2000  # instructions, after {m,n} are spelled out
MAX_CACHE = 20_000  # DFA transitions kept per pattern
_CLASSES = {"d": lambda c: c.isdigit(), "w": lambda c: c.isalnum() or c == "_", "s": lambda c: c.isspace()}


class RegexError(ValueError):
    """A pattern outside what is offered; the message says what."""


@dataclass
class _Regex:
    # ["char", test] | ["split", a, b] | ["jump", a] | ["^"] | ["$"] | ["match"]
    program: list = field(default_factory=list)
    cache: dict = field(default_factory=dict)

    def emit(self, *instruction) -> int:
        if len(self.program) >= MAX_PROGRAM:
            raise RegexError("the regular expression is too large")
        self.program.append(list(instruction))
        return len(self.program) - 1


class _Parser:
    def __init__(self, text: str, fold: bool):
        self.text, self.i, self.fold = text, 0, fold

    def peek(self) -> str | None:
        return self.text[self.i] if self.i < len(self.text) else None

    def take(self) -> str:
        if self.i >= len(self.text):
            raise RegexError("the regular expression ends too soon")
        self.i += 1
        return self.text[self.i - 1]

    # The AST: ("seq", [..]), ("alt", [..]), ("repeat", node, min, max|None), ("test", f), ("^",), ("$",)
    def alternation(self):
        branches = [self.sequence()]
        while self.peek() == "|":
            self.take()
            branches.append(self.sequence())
        return ("alt", branches) if len(branches) > 1 else branches[0]

    def sequence(self):
        items = []
        while self.peek() not in (None, "|", ")"):
            items.append(self.quantified(self.atom()))
        return ("seq", items)

    def quantified(self, node):
        while self.peek() in ("*", "+", "?", "{"):
            c = self.take()
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}.get(c) or self.bounds()
            if node[0] in ("^", "$"):
                raise RegexError("nothing to repeat")
            node = ("repeat", node, low, high)
            if self.peek() == "?":  # lazy: the same language, and only whether it matches counts
                self.take()
        return node

    def bounds(self) -> tuple[int, int | None]:
        end = self.text.find("}", self.i)
        low, comma, high = self.text[self.i:end].partition(",") if end >= 0 else ("x", "", "")
        if not low.isdigit() or (high and not high.isdigit()) or int(low) > 1000:
            raise RegexError("a repetition is {m}, {m,} or {m,n}")
        self.i = end + 1
        top = int(low) if not comma else (int(high) if high else None)
        if top is not None and top < int(low):
            raise RegexError("a repetition's maximum is below its minimum")
        return int(low), top

    def atom(self):
        c = self.take()
        if c == "(":
            if self.text.startswith("?:", self.i):
                self.i += 2
            elif self.peek() == "?":
                raise RegexError("only (?:...) groups and a leading (?i) are offered")
            node = self.alternation()
            if self.take() != ")":
                raise RegexError("unbalanced parenthesis")
            return node
        if c in "^$":
            return (c,)
        if c == ".":
            return ("test", lambda ch: ch != "\n")
        if c == "[":
            return ("test", self.char_class())
        if c == "\\":
            return ("test", self.escape())
        if c in "*+?{)":
            raise RegexError(f"unexpected {c}")
        return ("test", self.literal(c))

    def literal(self, c: str):
        if self.fold:
            low = c.lower()
            return lambda ch: ch.lower() == low
        return lambda ch: ch == c

    def escape(self):
        c = self.take()
        if c.lower() in _CLASSES:
            test = _CLASSES[c.lower()]
            return test if c.islower() else (lambda ch: not test(ch))
        if c.isalnum() and c not in "ntr":
            raise RegexError(f"the escape \\{c} is not offered")
        return self.literal({"n": "\n", "t": "\t", "r": "\r"}.get(c, c))

    def char_class(self):
        negate = self.peek() == "^"
        if negate:
            self.take()
        tests, first = [], True
        while first or self.peek() != "]":
            first = False
            c = self.take()
            if c == "\\":
                tests.append(self.escape())
                continue
            if self.peek() == "-" and self.text[self.i + 1:self.i + 2] not in ("]", ""):
                self.take()
                high = self.take()
                if high < c:
                    raise RegexError("a class range runs backwards")
                tests.append(lambda ch, lo=c, hi=high: lo <= ch <= hi or
                             (self.fold and (lo <= ch.lower() <= hi or lo <= ch.upper() <= hi)))
            else:
                tests.append(self.literal(c))
        self.take()
        return lambda ch: any(t(ch) for t in tests) != negate


def _compile(node, rx: _Regex) -> None:
    kind = node[0]
    if kind == "seq":
        for item in node[1]:
            _compile(item, rx)
    elif kind == "alt":
        jumps = []
        for branch in node[1][:-1]:
            split = rx.emit("split", 0, 0)
            rx.program[split][1] = len(rx.program)
            _compile(branch, rx)
            jumps.append(rx.emit("jump", 0))
            rx.program[split][2] = len(rx.program)
        _compile(node[1][-1], rx)
        for j in jumps:
            rx.program[j][1] = len(rx.program)
    elif kind == "repeat":
        _, inner, low, high = node
        for _ in range(low):
            _compile(inner, rx)
        if high is None:  # loop: split(body, out); body; jump split
            split = rx.emit("split", 0, 0)
            rx.program[split][1] = len(rx.program)
            _compile(inner, rx)
            rx.emit("jump", split)
            rx.program[split][2] = len(rx.program)
        else:
            splits = []
            for _ in range(high - low):
                splits.append(rx.emit("split", 0, 0))
                rx.program[splits[-1]][1] = len(rx.program)
                _compile(inner, rx)
            for s in splits:
                rx.program[s][2] = len(rx.program)
    elif kind == "test":
        rx.emit("char", node[1])
    else:
        rx.emit(kind)


def compile_regex(text: str):
    """A function telling whether the pattern matches somewhere in a string; RegexError if the
    pattern is not one offered."""
    fold = text.startswith("(?i)")
    parser = _Parser(text[4:] if fold else text, fold)
    tree = parser.alternation()
    if parser.i != len(parser.text):
        raise RegexError("unbalanced parenthesis")
    rx = _Regex()
    _compile(tree, rx)
    rx.emit("match")
    return lambda value: _search(rx, value)


def _closure(rx: _Regex, pcs, at_start: bool, at_end: bool) -> frozenset:
    seen, stack, out = set(), list(pcs), set()
    while stack:
        pc = stack.pop()
        if pc in seen:
            continue
        seen.add(pc)
        op = rx.program[pc]
        if op[0] == "split":
            stack += [op[1], op[2]]
        elif op[0] == "jump":
            stack.append(op[1])
        elif op[0] == "^" and at_start or op[0] == "$" and at_end:
            stack.append(pc + 1)
        elif op[0] in ("char", "match"):
            out.add(pc)
    return frozenset(out)


def _search(rx: _Regex, text: str) -> bool:
    done = len(rx.program) - 1
    state = _closure(rx, [0], True, not text)
    last = len(text) - 1
    for i, ch in enumerate(text):
        if done in state:
            return True
        key = (state, ch, i == last)
        following = rx.cache.get(key)
        if following is None:
            moved = [pc + 1 for pc in state if rx.program[pc][0] == "char" and rx.program[pc][1](ch)]
            following = _closure(rx, moved + [0], False, i == last)  # a match may also start after ch
            if len(rx.cache) >= MAX_CACHE:
                rx.cache.clear()
            rx.cache[key] = following
        state = following
    return done in state
