"""`.dockerignore`: Go filepath.Match patterns with `**`, later `!` lines re-including."""

import re
from pathlib import Path


def _regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"  # any number of directories, none included
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    # A pattern matching a directory excludes everything under it too.
    return re.compile(out + "(?:/.*)?$")


class Ignore:
    def __init__(self, lines: list[str]):
        self.rules: list[tuple[bool, re.Pattern]] = []
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            pattern = line[1:].strip() if negate else line
            pattern = re.sub(r"/+", "/", pattern).strip("/")
            if pattern.startswith("./"):
                pattern = pattern[2:]
            self.rules.append((negate, _regex(pattern)))

    @classmethod
    def of(cls, context: Path) -> "Ignore":
        path = context / ".dockerignore"
        return cls(path.read_text().splitlines() if path.exists() else [])

    def excluded(self, rel: str) -> bool:
        result = False
        for negate, rx in self.rules:
            if rx.match(rel):
                result = not negate
        return result
