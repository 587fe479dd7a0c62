"""The Logs Insights query language, the subset offered: commands joined with `|`:

    fields a, b as c        filter <condition>          stats count(*), avg(x) as m by f, bin(5m)
    sort a desc, b asc      limit N                     parse @message "user=* id=*" as u, i

A condition compares fields and literals (=, !=, <, <=, >, >=), tests `like /regex/` (or
`like "text"`, a substring), `not like`, and joins with and, or, not and parentheses. What
does not parse is a QueryError holding where, as MalformedQueryException reports it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .insights_regex import RegexError, compile_regex

MAX_LENGTH = 10_000
MAX_DEPTH = 32
AGGREGATES = ("count", "avg", "sum", "min", "max")
BIN_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_TOKEN = re.compile(r"""(?:(?P<period>\d+(?:ms|s|m|h|d)(?![\w@]))|(?P<num>-?\d+(?:\.\d+)?(?![\w@]))
                        |(?P<name>@?[A-Za-z_][\w.@]*)|`(?P<quoted>[^`]*)`
                        |(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|<=|>=|=~|[|,()=<>*]))""", re.X)


class QueryError(ValueError):
    def __init__(self, message: str, start: int, end: int):
        super().__init__(message)
        self.message, self.start, self.end = message, start, end


@dataclass
class Token:
    kind: str  # num, period, name, str, op, regex, end
    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "name" else ""


@dataclass
class Command:
    name: str  # fields, filter, stats, sort, limit, parse
    args: dict


def _where(query: str, at: int) -> str:
    line = query.count("\n", 0, at) + 1
    return f"line {line} and position {at - (query.rfind(chr(10), 0, at) + 1) + 1}"


def _unexpected(query: str, token: Token) -> QueryError:
    if token.kind == "end":
        return QueryError(f"unexpected end of query at {_where(query, token.start)}", token.start, token.end)
    return QueryError(f"unexpected symbol found {token.text} at {_where(query, token.start)}", token.start,
                      token.end)


def _tokens(query: str) -> list[Token]:
    out, i = [], 0
    while i < len(query):
        if query[i].isspace():
            i += 1
            continue
        if query[i] == "/" and out and (out[-1].word == "like" or out[-1].text == "=~"):
            end = query.find("/", i + 1)
            while end > 0 and query[end - 1] == "\\":
                end = query.find("/", end + 1)
            if end < 0:
                raise QueryError(f"unterminated regular expression at {_where(query, i)}", i, len(query) - 1)
            out.append(Token("regex", query[i + 1:end], i, end))
            i = end + 1
            continue
        m = _TOKEN.match(query, i)
        if m is None or m.end() == i:
            raise QueryError(f"unexpected symbol found {query[i]} at {_where(query, i)}", i, i)
        kind = m.lastgroup
        text = m[kind]
        if kind == "str":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        out.append(Token("name" if kind == "quoted" else kind, text, m.start(), m.end() - 1))
        i = m.end()
    out.append(Token("end", "", len(query), len(query)))
    return out


class _Parser:
    def __init__(self, query: str):
        self.query, self.tokens, self.i, self.depth = query, _tokens(query), 0, 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self, kind: str | None = None, text: str | None = None) -> Token:
        token = self.peek()
        if (kind and token.kind != kind) or (text is not None and token.text.lower() != text):
            raise _unexpected(self.query, token)
        self.i += 1
        return token

    def accept(self, text: str) -> bool:
        if self.peek().kind in ("name", "op") and self.peek().text.lower() == text:
            self.i += 1
            return True
        return False

    def commands(self) -> list[Command]:
        out = []
        if self.peek().kind == "end":
            return out
        while True:
            token = self.take("name")
            method = getattr(self, f"cmd_{token.word}", None)
            if method is None:
                raise _unexpected(self.query, token)
            out.append(Command(token.word, method()))
            if self.peek().kind == "end":
                return out
            self.take("op", "|")

    def field(self) -> str:
        return self.take("name").text

    def alias(self, default: str) -> str:
        return self.field() if self.accept("as") else default

    def listed(self, item) -> list:
        items = [item()]
        while self.accept(","):
            items.append(item())
        return items

    def cmd_fields(self) -> dict:
        return {"items": self.listed(lambda: (lambda name: (name, self.alias(name)))(self.field()))}

    def cmd_filter(self) -> dict:
        return {"condition": self.condition()}

    def cmd_limit(self) -> dict:
        token = self.take("num")
        if "." in token.text or not 1 <= int(token.text) <= 10_000:
            raise QueryError(f"limit must be a whole number from 1 to 10000 at {_where(self.query, token.start)}",
                             token.start, token.end)
        return {"n": int(token.text)}

    def cmd_sort(self) -> dict:
        def key():
            name = self.field()
            descending = self.accept("desc")
            if not descending:
                self.accept("asc")
            return name, descending
        return {"keys": self.listed(key)}

    def cmd_parse(self) -> dict:
        source = self.field() if self.peek().kind == "name" else "@message"
        token = self.take("str")
        pieces = token.text.split("*")
        self.take("name", "as")
        names = self.listed(self.field)
        if len(names) != len(pieces) - 1:
            raise QueryError(f"parse names {len(names)} fields for {len(pieces) - 1} wildcards at "
                             f"{_where(self.query, token.start)}", token.start, token.end)
        return {"source": source, "pieces": pieces, "names": names}

    def cmd_stats(self) -> dict:
        def aggregate():
            token = self.take("name")
            if token.word not in AGGREGATES:
                raise _unexpected(self.query, token)
            self.take("op", "(")
            arg = None if token.word == "count" and self.accept("*") else self.field()
            self.take("op", ")")
            return token.word, arg, self.alias(f"{token.word}({arg or '*'})")
        aggregates = self.listed(aggregate)
        by = self.listed(self.group_key) if self.accept("by") else []
        return {"aggregates": aggregates, "by": by}

    def group_key(self) -> tuple:
        token = self.take("name")
        if token.word == "bin" and self.accept("("):
            period = self.take("period")
            size, unit = re.fullmatch(r"(\d+)(\D+)", period.text).groups()
            if int(size) == 0:
                raise QueryError(f"bin takes a period longer than 0 at {_where(self.query, period.start)}",
                                 period.start, period.end)
            self.take("op", ")")
            return ("bin", int(size) * BIN_UNITS[unit]), self.alias(f"bin({period.text})")
        return ("field", token.text), self.alias(token.text)

    # conditions: or < and < not < comparison
    def condition(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _unexpected(self.query, self.peek())
        node = self.conjunction()
        while self.accept("or"):
            node = ("or", node, self.conjunction())
        self.depth -= 1
        return node

    def conjunction(self):
        node = self.negation()
        while self.accept("and"):
            node = ("and", node, self.negation())
        return node

    def negation(self):
        if self.accept("not"):
            return ("not", self.negation())
        if self.accept("("):
            node = self.condition()
            self.take("op", ")")
            return node
        return self.comparison()

    def operand(self):
        token = self.peek()
        if token.kind not in ("name", "num", "str"):
            raise _unexpected(self.query, token)
        self.i += 1
        return ("num", float(token.text)) if token.kind == "num" else \
            ("field" if token.kind == "name" else "str", token.text)

    def comparison(self):
        left = self.operand()
        negated = self.accept("not")
        if self.accept("like") or (not negated and self.accept("=~")):
            return ("like", left, self.matcher(), negated)
        if negated:
            raise _unexpected(self.query, self.peek())
        token = self.peek()
        if token.kind != "op" or token.text not in ("=", "!=", "<", "<=", ">", ">="):
            if left[0] == "field":  # a bare field is true where the field has a value
                return ("exists", left)
            raise _unexpected(self.query, token)
        self.i += 1
        return ("cmp", token.text, left, self.operand())

    def matcher(self):
        token = self.peek()
        if token.kind == "str":
            self.i += 1
            return lambda value, text=token.text: text in value
        token = self.take("regex")
        try:
            return compile_regex(token.text)
        except RegexError as e:
            raise QueryError(f"invalid regular expression /{token.text}/: {e} at {_where(self.query, token.start)}",
                             token.start, token.end) from None


def parse(query: str) -> list[Command]:
    if len(query) > MAX_LENGTH:
        raise QueryError("the query is too long", 0, len(query) - 1)
    return _Parser(query).commands()
