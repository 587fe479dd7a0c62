"""COPY/ADD: pick files from the build context (or another stage's tree), place them the
way Docker does under the destination, and hash what was picked for the layer cache."""

import hashlib
import os
import shutil
import tarfile
from pathlib import Path

from .dockerfile import BuildError
from .ignore import Ignore


def sources(root: Path, patterns: list[str], ignore: Ignore | None, line: int) -> list[Path]:
    """Paths under root the patterns name (globs allowed), never outside it."""
    found = []
    for pattern in patterns:
        rel = os.path.normpath(pattern.lstrip("/"))
        if rel.startswith(".."):
            raise BuildError(f"{pattern}: outside the build context", line)
        if any(c in rel for c in "*?["):
            matches = sorted(p for p in root.glob(rel) if _allowed(root, p, ignore))
        else:
            path = root / rel
            matches = [path] if os.path.lexists(path) and _allowed(root, path, ignore) else []
        if not matches:
            raise BuildError(f"{pattern}: not found in the build context", line)
        found.extend(matches)
    return found


def _allowed(root: Path, path: Path, ignore: Ignore | None) -> bool:
    rel = path.relative_to(root).as_posix()
    return ignore is None or rel == "." or not ignore.excluded(rel)


def place(srcs: list[Path], root: Path, dest: str, tree: Path, ignore: Ignore | None, *,
          extract: bool, uid: int | None, gid: int | None, line: int) -> None:
    """Copy srcs into tree at dest: a directory's contents go into dest, files go into
    dest if it ends with '/' or several sources are given, else become dest."""
    into_dir = dest.endswith(("/", "/.")) or len(srcs) > 1 or any(s.is_dir() for s in srcs)
    target = tree / dest.lstrip("/")
    for src in srcs:
        if src.is_dir() and not src.is_symlink():
            _copy_dir(src, target, root, ignore)
        elif extract and tarfile.is_tarfile(src):
            target.mkdir(parents=True, exist_ok=True)
            with tarfile.open(src) as tf:
                tf.extractall(target, filter="data")
        else:
            out = target / src.name if into_dir else target
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out, follow_symlinks=False)
    if uid is not None:
        for dirpath, dirnames, filenames in os.walk(target):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.lchown(name, uid, gid)
        if target.is_file() or target.is_symlink():
            os.lchown(target, uid, gid)


def _copy_dir(src: Path, target: Path, root: Path, ignore: Ignore | None) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(src):
        here = Path(dirpath)
        dirnames[:] = [d for d in sorted(dirnames) if _allowed(root, here / d, ignore)]
        for name in dirnames:
            (target / (here / name).relative_to(src)).mkdir(exist_ok=True)
        for name in sorted(filenames):
            if _allowed(root, here / name, ignore):
                shutil.copy2(here / name, target / (here / name).relative_to(src), follow_symlinks=False)


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

