"""Dockerfile text to instructions: line continuations, comments, the escape directive,
exec (JSON) and shell forms, --flags, and Docker's variable substitution."""

import json
import re
from dataclasses import dataclass, field


class BuildError(Exception):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"Dockerfile:{line}: {message}" if line else message)
        self.line = line


KNOWN = {"FROM", "RUN", "COPY", "ADD", "ENV", "ARG", "WORKDIR", "USER", "EXPOSE", "LABEL", "CMD", "ENTRYPOINT",
         "HEALTHCHECK", "STOPSIGNAL", "VOLUME", "SHELL", "ONBUILD", "MAINTAINER"}
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(.+?)\s*$")
_FLAG = re.compile(r"^--([a-z-]+)(?:=(\S*))?$")


@dataclass
class Instruction:
    command: str      # upper case
    rest: str         # the text after the command, flags removed
    line: int
    flags: dict[str, str] = field(default_factory=dict)
    original: str = ""

    def json_form(self) -> list[str] | None:
        """The exec form's list, or None for the shell form."""
        text = self.rest.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None  # Docker too falls back to the shell form for bad JSON
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BuildError(f"{self.command} exec form must be a JSON array of strings", self.line)
        return value


def parse(text: str) -> list[Instruction]:
    escape = "\\"
    lines = text.splitlines()
    # Parser directives: only at the very top, before any other line.
    for line in lines:
        m = _DIRECTIVE.match(line)
        if not m:
            break
        if m.group(1).lower() == "escape":
            if m.group(2) not in ("\\", "`"):
                raise BuildError(f"invalid escape character {m.group(2)!r}", 1)
            escape = m.group(2)
    out: list[Instruction] = []
    buffer, start = "", 0
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comments inside a continued instruction are dropped
        if not buffer:
            start = number
        if stripped.endswith(escape):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        out.append(_instruction(buffer, start))
        buffer = ""
    if buffer.strip():
        out.append(_instruction(buffer, start))
    if not out:
        raise BuildError("the Dockerfile has no instructions")
    return out


def _instruction(text: str, line: int) -> Instruction:
    command, _, rest = text.strip().partition(" ")
    command = command.upper()
    if command not in KNOWN:
        raise BuildError(f"unknown instruction: {command}", line)
    flags = {}
    words = rest.lstrip().split(" ")
    while words and words[0].startswith("--") and command in ("FROM", "COPY", "ADD", "RUN", "HEALTHCHECK"):
        m = _FLAG.match(words.pop(0))
        if not m:
            raise BuildError(f"invalid flag in {command}", line)
        flags[m.group(1)] = m.group(2) or ""
    return Instruction(command, " ".join(words).strip(), line, flags, text.strip())


_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-+])(?P<word>[^}]*))?\}"
                  r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


def substitute(text: str, env: dict[str, str]) -> str:
    """$VAR, ${VAR}, ${VAR:-default}, ${VAR:+alternative}; \\$ stays a literal $."""
    def one(m):
        name = m.group("braced") or m.group("plain")
        value = env.get(name)
        if m.group("op") == "-":
            return value if value else m.group("word")
        if m.group("op") == "+":
            return m.group("word") if value else ""
        return value or ""

    parts = text.split("\\$")
    return "$".join(_VAR.sub(one, part) for part in parts)


def split_words(text: str) -> list[str]:
    """Space-separated words, with double or single quotes grouping (ENV/LABEL/EXPOSE)."""
    import shlex
    try:
        return shlex.split(text)
    except ValueError as e:
        raise BuildError(f"cannot parse {text!r}: {e}") from None


def key_values(inst: Instruction) -> dict[str, str]:
    """ENV/LABEL/ARG's `k=v k2="v 2"` form and ENV's legacy `k v` form."""
    words = split_words(inst.rest)
    if not words:
        raise BuildError(f"{inst.command} needs arguments", inst.line)
    if "=" not in words[0]:
        if inst.command == "ARG":
            return {words[0]: None}
        if inst.command != "ENV" or len(words) < 2:
            raise BuildError(f"{inst.command} needs key=value", inst.line)
        return {words[0]: inst.rest.strip().split(None, 1)[1]}
    out = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise BuildError(f"{inst.command} needs key=value, got {word!r}", inst.line)
        out[key] = value
    return out
