"""The shell blocks of README.md, as tests/integration/test_readme.py runs them.

A block is Markdown's indented code block: lines indented four spaces, after a blank line,
outside a fenced block (the README keeps what is not shell, a hosts line or the layout, in
fenced blocks). An HTML comment `<!-- not run by the README test: why -->` as the last line
before a block says that the test leaves it out, and why; GitHub does not show it.
"""

import re
from dataclasses import dataclass

MARKER = re.compile(r"<!-- not run by the README test: (.*) -->")
INDENT = "    "


@dataclass(frozen=True)
class Block:
    line: int                # README line of its first line, from 1
    lines: tuple[str, ...]   # without the indent
    skip: str | None         # why the test leaves it out, or None: it runs


def blocks(text: str) -> list[Block]:
    found: list[Block] = []
    fenced, previous, skip, start, body = False, "", None, 0, []

    def close():
        while not body[-1].strip():
            body.pop()
        found.append(Block(start, tuple(body), skip))

    for number, line in enumerate(text.splitlines(), 1):
        if body:
            if line.startswith(INDENT) or not line.strip():
                body.append(line[len(INDENT):])
                continue
            close()
            body, skip = [], None
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith(INDENT) and line.strip() and not previous.strip():
            start, body = number, [line[len(INDENT):]]
        elif line.strip() and skip is not None:
            raise ValueError(f"README.md line {number}: a README-test marker must come right before a block")
        elif match := MARKER.fullmatch(line.strip()):
            if not match.group(1).strip():
                raise ValueError(f"README.md line {number}: a README-test marker says why")
            skip = match.group(1).strip()
        previous = line
    if body:
        close()
    elif skip is not None:
        raise ValueError("README.md: a README-test marker at the end, before no block")
    if fenced:
        raise ValueError("README.md: a fenced block is not closed")
    return found
