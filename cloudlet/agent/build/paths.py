"""Paths of COPY/ADD sources, resolved inside their root (the build context, or another
stage's tree) the way BuildKit resolves them: as if the root were "/", so every symlink is
followed there (an absolute target starts again from the root, ".." stops at it) and
nothing outside is ever reached. A link to /etc in a context is the context's etc.

What .dockerignore excludes is not in the context: a path that leads to it, or through an
excluded symlink, leads nowhere.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .dockerfile import BuildError
from .ignore import Ignore

_MAX_LINKS = 255  # as BuildKit's resolver (continuity's RootPath) allows


@dataclass(frozen=True)
class Source:
    name: str  # the last component as the Dockerfile reaches it (a link's own name)
    real: str  # where it leads inside the root, "/"-joined, no symlink on the way; "" is the root
    found: bool


def clean(pattern: str) -> list[str]:
    """A source's components with "." and ".." taken lexically, ".." stopping at the root."""
    parts: list[str] = []
    for part in pattern.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return parts


def resolve(root: Path, parts: list[str], ignore: Ignore | None, line: int) -> Source:
    """Where parts lead inside root, every symlink followed, the last one's too."""
    todo, done, links, found = list(reversed(parts)), [], 0, True
    while todo:
        part = todo.pop()
        if part == "..":
            if done:
                done.pop()
            continue
        if part in ("", "."):
            continue
        done.append(part)
        if not found:
            continue  # below what does not exist, the rest is taken as written
        rel = "/".join(done)
        try:
            st = os.lstat(root / rel)
        except (FileNotFoundError, NotADirectoryError):
            found = False
            continue
        if not stat.S_ISLNK(st.st_mode):
            continue
        if _excluded(ignore, rel):
            found = False
            continue
        links += 1
        if links > _MAX_LINKS:
            raise BuildError(f"{'/'.join(parts)}: too many levels of symbolic links", line)
        target = os.readlink(root / rel)
        done.pop()
        if target.startswith("/"):
            done = []
        todo.extend(reversed(target.split("/")))
    real = "/".join(done)
    return Source(parts[-1] if parts else "", real, found and not _excluded(ignore, real))


def expand(root: Path, pattern: str, ignore: Ignore | None, line: int) -> list[Source]:
    """The sources a pattern names: itself, or what its wildcards match. As BuildKit does, the
    part before the first wildcard is resolved, the rest matched one level at a time below it,
    descending only into real directories."""
    parts = clean(pattern)
    first = next((i for i, p in enumerate(parts) if is_wildcard(p)), None)
    if first is None:
        return [resolve(root, parts, ignore, line)]
    base = resolve(root, parts[:first], ignore, line)
    if not base.found:
        return []
    matched, rest = [base.real], parts[first:]
    for depth, wanted in enumerate(rest, 1):
        matched = [_join(d, name) for d in matched for name in _children(root, d)
                   if fnmatch.fnmatchcase(name, wanted) and (depth == len(rest) or _is_dir(root, _join(d, name)))]
    return [resolve(root, clean(rel), ignore, line) for rel in sorted(matched) if not _excluded(ignore, rel)]


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def is_wildcard(part: str) -> bool:
    return any(c in part for c in "*?[")


def _children(root: Path, rel: str) -> list[str]:
    try:
        return sorted(os.listdir(root / rel)) if _is_dir(root, rel) else []
    except FileNotFoundError:
        return []


def _is_dir(root: Path, rel: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(root / rel).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _excluded(ignore: Ignore | None, rel: str) -> bool:
    return ignore is not None and rel != "" and ignore.excluded(rel)
