"""COPY/ADD: pick files from the build context (or another stage's tree), place them the
way BuildKit does under the destination, and hash what was picked for the layer cache.

Sources are resolved inside their root (paths.py), so nothing outside it is read. A source
that leads to a file is copied under the name the Dockerfile reaches it by (a link's name,
its target's bytes); one that leads to a directory has its contents copied, in which
symlinks stay symlinks, as they are; other kinds of file are refused. The tree being
filled is never written through a symlink: what would go through one placed by an earlier
source is refused, and a file or link standing where a file goes is replaced.
"""

import hashlib
import os
import shutil
import stat
import tarfile
from pathlib import Path

from . import paths
from .dockerfile import BuildError
from .ignore import Ignore


def sources(root: Path, patterns: list[str], ignore: Ignore | None, line: int) -> list[paths.Source]:
    """What the patterns name under root (globs allowed), never outside it."""
    found = []
    for pattern in patterns:
        matches = [s for s in paths.expand(root, pattern, ignore, line) if s.found]
        if not matches:
            raise BuildError(f"{pattern}: not found in the build context{_leads(root, pattern, ignore, line)}", line)
        found.extend(matches)
    return found


def _leads(root: Path, pattern: str, ignore: Ignore | None, line: int) -> str:
    """Where a path through symlinks led, when that is not where it reads."""
    parts = paths.clean(pattern)
    if any(paths.is_wildcard(p) for p in parts):
        return ""
    real = paths.resolve(root, parts, ignore, line).real
    return "" if real == "/".join(parts) else f" (it leads to /{real} there: symlinks resolve inside the context)"


def place(srcs: list[paths.Source], root: Path, dest: str, tree: Path, ignore: Ignore | None, *,
          extract: bool, uid: int | None, gid: int | None, line: int) -> None:
    """Copy srcs into tree at dest: a directory's contents go into dest, files go into
    dest if it ends with '/' or several sources are given, else become dest."""
    dirs = [s for s in srcs if stat.S_ISDIR(os.lstat(root / s.real).st_mode)]
    into_dir = dest.endswith(("/", "/.")) or len(srcs) > 1 or bool(dirs)
    rel = "/".join(paths.clean(dest))
    for src in srcs:
        path = root / src.real
        mode = os.lstat(path).st_mode
        if stat.S_ISDIR(mode):
            _copy_dir(root, src.real, tree, rel, ignore, line)
        elif not stat.S_ISREG(mode):
            raise BuildError(f"{src.name}: {_kind(mode)} cannot be copied", line)
        elif extract and tarfile.is_tarfile(path):
            try:
                with tarfile.open(path) as tf:
                    tf.extractall(_tree_dir(tree, rel, line), filter="data")
            except tarfile.TarError as e:
                raise BuildError(f"{src.name}: {e}", line) from None
        else:
            _copy_file(path, tree, f"{rel}/{src.name}".lstrip("/") if into_dir else rel, line)
    if uid is not None:
        target = tree / rel
        for dirpath, dirnames, filenames in os.walk(target):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.lchown(name, uid, gid)
        if not target.is_dir() or target.is_symlink():
            os.lchown(target, uid, gid)


def _copy_dir(root: Path, real: str, tree: Path, rel: str, ignore: Ignore | None, line: int) -> None:
    """The contents of root/real into tree/rel, entry by entry, as they are."""
    made = []
    todo = [(real, _tree_dir(tree, rel, line))]
    while todo:
        src_rel, out = todo.pop()
        made.append((root / src_rel, out))
        for entry in sorted(os.scandir(root / src_rel), key=lambda e: e.name):
            entry_rel = f"{src_rel}/{entry.name}" if src_rel else entry.name
            if ignore is not None and ignore.excluded(entry_rel):
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            target = out / entry.name
            if stat.S_ISDIR(mode):
                _clear(target, tree, line, keep_dir=True)
                target.mkdir(exist_ok=True)
                todo.append((entry_rel, target))
            elif stat.S_ISLNK(mode):
                _clear(target, tree, line)
                os.symlink(os.readlink(entry.path), target)
            elif stat.S_ISREG(mode):
                _clear(target, tree, line)
                shutil.copy2(entry.path, target, follow_symlinks=False)
            else:
                raise BuildError(f"{entry_rel}: {_kind(mode)} cannot be copied", line)
    for src, out in reversed(made):  # modes last: a read-only directory once it is full
        shutil.copystat(src, out)


def _copy_file(path: Path, tree: Path, rel: str, line: int) -> None:
    parent, _, name = rel.rpartition("/")
    out = _tree_dir(tree, parent, line) / name
    _clear(out, tree, line)
    shutil.copy2(path, out, follow_symlinks=False)


def _tree_dir(tree: Path, rel: str, line: int) -> Path:
    """tree/rel as a directory, made where missing, never through a symlink."""
    path = tree
    for part in paths.clean(rel):
        path = path / part
        _clear(path, tree, line, keep_dir=True)
        path.mkdir(exist_ok=True)
    return path


def _clear(path: Path, tree: Path, line: int, keep_dir: bool = False) -> None:
    """Make room at path in the tree: a directory stays where one is wanted (and a
    directory is never replaced by a file), anything else copied earlier goes."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        if keep_dir:
            return
        raise BuildError(f"cannot copy a file onto directory /{path.relative_to(tree)}", line)
    if keep_dir and stat.S_ISLNK(mode):
        raise BuildError(f"cannot copy into /{path.relative_to(tree)}: a symlink copied earlier stands there", line)
    os.unlink(path)


def _kind(mode: int) -> str:
    return {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
            stat.S_IFBLK: "a block device"}.get(stat.S_IFMT(mode), "a special file")


def digest(tree: Path) -> str:
    """What the placed files are (names, types, modes, owners, contents), not when they
    were written: the cache key of a COPY."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            st = os.lstat(path)
            h.update(f"{path.relative_to(tree)}\0{st.st_mode}\0{st.st_uid}\0{st.st_gid}\0".encode())
            if path.is_symlink():
                h.update(os.readlink(path).encode())
            elif path.is_file():
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
    return h.hexdigest()
