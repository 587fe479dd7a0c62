"""Dockerfile parsing, variable substitution and .dockerignore matching."""

import pytest

from cloudlet.agent.build.dockerfile import BuildError, key_values, parse, substitute
from cloudlet.agent.build.ignore import Ignore


def test_continuations_comments_flags_and_forms():
    insts = parse("# syntax=docker/dockerfile:1\nFROM busybox AS base\n# a comment\nRUN echo a \\\n"
                  "  # inside\n  && echo b\nCOPY --from=base --chown=1:2 /a /b\nCMD [\"sh\", \"-c\", \"x\"]\n"
                  "ENTRYPOINT not json\n")
    assert [(i.command, i.line) for i in insts] == [("FROM", 2), ("RUN", 4), ("COPY", 7), ("CMD", 8),
                                                     ("ENTRYPOINT", 9)]
    assert insts[1].rest == "echo a  && echo b"
    assert insts[2].flags == {"from": "base", "chown": "1:2"} and insts[2].rest == "/a /b"
    assert insts[3].json_form() == ["sh", "-c", "x"] and insts[4].json_form() is None


def test_escape_directive():
    insts = parse("# escape=`\nFROM busybox\nRUN echo a `\n  b\n")
    assert insts[1].rest == "echo a  b"


def test_errors():
    with pytest.raises(BuildError, match="Dockerfile:2: unknown instruction: NOPE"):
        parse("FROM x\nNOPE y\n")
    with pytest.raises(BuildError, match="no instructions"):
        parse("# only a comment\n")
    with pytest.raises(BuildError, match="JSON array of strings"):
        parse('CMD ["a", 1]\n')[0].json_form()


@pytest.mark.parametrize("text,expected", [
    ("$A/${B}", "1/two"), ("${MISSING:-fallback}", "fallback"), ("${A:-fallback}", "1"),
    ("${A:+set}", "set"), ("${MISSING:+set}", ""), ("\\$A", "$A"), ("$MISSING", ""),
])
def test_substitution(text, expected):
    assert substitute(text, {"A": "1", "B": "two"}) == expected


def test_key_values():
    (inst,) = parse('ENV A=1 B="two words"\n')
    assert key_values(inst) == {"A": "1", "B": "two words"}
    (legacy,) = parse("ENV NAME some value here\n")
    assert key_values(legacy) == {"NAME": "some value here"}
    (arg,) = parse("ARG VERSION\n")
    assert key_values(arg) == {"VERSION": None}


def test_dockerignore():
    ignore = Ignore(["# comment", "*.md", "!README.md", "**/*.key", "build/", "./tmp"])
    assert ignore.excluded("notes.md") and not ignore.excluded("README.md")
    assert ignore.excluded("a/b/c.key") and ignore.excluded("top.key")
    assert ignore.excluded("build/out/x.o") and ignore.excluded("tmp")
    assert not ignore.excluded("docs/notes.md")  # '*' does not cross directories
    assert not ignore.excluded("src/main.py")
