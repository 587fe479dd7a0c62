"""Resolving "user[:group]" against the image's own /etc/passwd and /etc/group."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class UserError(ValueError):
    pass


@dataclass
class User:
    uid: int
    gid: int
    additional_gids: list[int]
    home: str


def path_in_root(rootfs: str | os.PathLike, path: str) -> Path:
    """Host path of `path` as seen inside rootfs: symlinks are followed, but an absolute
    or `..` link never leads out of the root (an image could point /etc/passwd at the
    host's files otherwise)."""
    root = Path(rootfs)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                raise UserError(f"too many symbolic links in {path}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def _entries(rootfs, name: str) -> list[list[str]]:
    try:
        text = path_in_root(rootfs, f"/etc/{name}").read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def resolve_user(rootfs, spec: str | None) -> User:
    """Numeric ids pass through even when the image has no entry for them, as Docker
    allows; names must exist in the image."""
    spec = spec or "0"
    user, _, group = spec.partition(":")
    passwd = _entries(rootfs, "passwd")
    uid = gid = None
    home = "/"
    for e in passwd:
        if len(e) >= 6 and (e[0] == user or (user.isdigit() and e[2] == user)):
            uid, gid, home = int(e[2]), int(e[3]), e[5] or "/"
            break
    else:
        if not user.isdigit():
            raise UserError(f"unable to find user {user}: no matching entries in passwd file")
        uid, gid = int(user), 0  # runc's defaults for a user the image does not know
    groups = _entries(rootfs, "group")
    if group:
        for e in groups:
            if len(e) >= 3 and (e[0] == group or (group.isdigit() and e[2] == group)):
                gid = int(e[2])
                break
        else:
            if not group.isdigit():
                raise UserError(f"unable to find group {group}: no matching entries in group file")
            gid = int(group)
    # Supplementary groups: every group that lists the user by name, as login(1) would.
    name = next((e[0] for e in passwd if len(e) >= 3 and e[2] == str(uid)), None)
    extra = sorted({int(e[2]) for e in groups
                    if len(e) >= 4 and name and name in e[3].split(",") and int(e[2]) != gid})
    return User(uid=uid, gid=gid, additional_gids=extra, home=home)


def host_root(uid_map, gid_map) -> tuple[int, int] | None:
    """The host ids the container's root maps to, when it has a user namespace."""
    if not uid_map:
        return None

    def host(maps) -> int:
        for m in maps:
            if m.container_id <= 0 < m.container_id + m.size:
                return m.host_id - m.container_id
        raise UserError("the user namespace maps no host id to the container's root")
    return host(uid_map), host(gid_map)
