"""Host directories mounted into a container: binds, named and anonymous volumes, tmpfs,
and the container's own /etc/hostname and /etc/hosts."""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from pathlib import Path

from .errors import ContainerError
from .oci import user_mounts
from .spec import ContainerSpec
from .users import path_in_root

_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _seed(volume: Path, rootfs: Path, target: str) -> None:
    """A new volume starts with what the image has at its mount point, as Docker's do,
    so that e.g. a database image's initial files are not hidden by an empty volume.
    Owners are kept: the root (idmapped where a user namespace runs it) shows them as the
    container will."""
    src = path_in_root(rootfs, target)
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, volume, symlinks=True, dirs_exist_ok=True)
        for dirpath, dirnames, filenames in os.walk(volume):
            for name in (".", *dirnames, *filenames):
                copied = Path(dirpath, name)
                st = os.lstat(src / copied.relative_to(volume))
                os.lchown(copied, st.st_uid, st.st_gid)


def _volume_dir(base: Path, rootfs: Path, target: str, owner: tuple[int, int] | None) -> str:
    data = base / "_data"
    if not data.exists():
        data.mkdir(parents=True)
        if owner:  # a user namespace's root must own what it mounts empty
            os.chown(data, *owner)
        _seed(data, rootfs, target)
    return str(data)


def prepare_mounts(spec: ContainerSpec, *, rootfs: Path, bundle: Path, volumes_root: Path,
                   owner: tuple[int, int] | None = None) -> list[dict]:
    binds: list[tuple[str, str, bool]] = []
    for b in spec.binds:
        if not Path(b.source).exists():
            raise ContainerError(f"bind source {b.source} does not exist")
        binds.append((str(Path(b.source).resolve()), b.target, b.readonly))
    for v in spec.volumes:
        if not _VOLUME_NAME.match(v.name):
            raise ContainerError(f"invalid volume name {v.name!r}")
        binds.append((_volume_dir(volumes_root / v.name, rootfs, v.target, owner), v.target, v.readonly))
    taken = {posixpath.normpath(t) for _, t, _ in binds} | {posixpath.normpath(t.target) for t in spec.tmpfs}
    # VOLUME in the image: an anonymous volume each, living (and dying) with the container.
    for i, target in enumerate(sorted(spec.image_config.get("Volumes") or {})):
        if posixpath.normpath(target) not in taken:
            binds.append((_volume_dir(bundle / "volumes" / str(i), rootfs, target, owner), target, False))
    binds += _identity_files(spec, bundle, taken)
    return user_mounts(binds, spec.tmpfs)


def _identity_files(spec: ContainerSpec, bundle: Path, taken: set[str]) -> list[tuple[str, str, bool]]:
    """The host's own files under host networking; otherwise files naming the container,
    which the network layer can replace by passing binds of its own."""
    if spec.network == "host":
        files = {"/etc/hosts": "/etc/hosts", "/etc/hostname": "/etc/hostname",
                 "/etc/resolv.conf": "/etc/resolv.conf"}
        return [(src, dst, True) for dst, src in files.items() if dst not in taken and Path(src).exists()]
    hostname = spec.hostname or spec.id[:12]
    (bundle / "hostname").write_text(hostname + "\n")
    (bundle / "hosts").write_text(f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                  f"127.0.1.1\t{hostname}\n")
    out = []
    for target, name in (("/etc/hostname", "hostname"), ("/etc/hosts", "hosts")):
        if target not in taken:
            out.append((str(bundle / name), target, False))
    return out

