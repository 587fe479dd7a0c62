"""Host id ranges for user namespaces: each one 65,536 uids and gids of the host that no
other container, no user and no other tool on this host has, so that root in one task is
nobody to another task's files and to the host's.

cloudlet's share of the host's ids is its entry in /etc/subuid and /etc/subgid (user
"cloudlet"), made on first use where the host has none, after every range others hold,
so that podman, newuidmap and useradd keep off it. Within it, a range goes to a key (an
ECS task: its containers share one), claimed host-wide with a file per range under
/run/cloudlet/userns, so that several engines on one host never hand out the same one.
A claim names its engine's runtime root and key; it is released when the key's last
container is deleted, and one whose owner is gone is taken back when ranges run out.

Each claimed range has one user namespace, pinned on <slot>.user beside its claim: the
key's containers all join it (runc), their layers are idmapped through it, and their
network namespace belongs to it, so that `runc exec` (which joins the user namespace
first) may enter the network namespace too.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

from cloudlet.agent.mounts import umount
from cloudlet.agent.snapshots.idmapped import pin_userns

from .errors import ContainerError
from .spec import IdMap

SIZE = 65536
OWNER = "cloudlet"
DEFAULT_START = 1 << 30  # well above the ids of users and of other tools' usual ranges
DEFAULT_COUNT = 4096  # ranges: a host-wide share of 2^28 ids
CLAIMS = Path("/run/cloudlet/userns")
SUBID_FILES = (Path("/etc/subuid"), Path("/etc/subgid"))


def _entries(path: Path) -> list[tuple[str, int, int]]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            out.append((parts[0], int(parts[1]), int(parts[2])))
    return out


def share() -> tuple[int, int]:
    """(first host id, number of ranges) of cloudlet's share, registered if it was not."""
    with _locked(CLAIMS / ".subid.lock"):
        found = [e for f in SUBID_FILES for e in _entries(f) if e[0] == OWNER]
        if found:
            start, count = max(found[0][1], 1), found[0][2] // SIZE
            if count < 1:
                raise ContainerError(f"the {OWNER} entry of /etc/subuid holds fewer than {SIZE} ids")
            return start, count
        taken_end = max([start + count for f in SUBID_FILES for _, start, count in _entries(f)] or [0])
        start = max(DEFAULT_START, -(-taken_end // SIZE) * SIZE)
        for path in SUBID_FILES:
            with open(path, "a") as f:
                f.write(f"{OWNER}:{start}:{SIZE * DEFAULT_COUNT}\n")
        return start, DEFAULT_COUNT


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def maps(host_id: int) -> list[IdMap]:
    return [IdMap(0, host_id, SIZE)]


def _pinned(pin: Path) -> bool:
    # a namespace file bound on it lives on nsfs, not on /run's tmpfs
    try:
        return pin.stat().st_dev != pin.parent.stat().st_dev
    except FileNotFoundError:
        return False


class IdRanges:
    """The ranges of one engine (its runtime root); `in_use` tells which keys still have
    containers there."""

    def __init__(self, runtime_root: Path, in_use):
        self.root = str(Path(runtime_root).resolve())
        self.in_use = in_use

    def claim(self, key: str, prefer: int | None = None) -> tuple[int, str]:
        """(first host id, user namespace file) of key's range: the one it has, else the
        one starting at prefer if free (a container's own after a reboot), else a free one."""
        start, count = share()
        with _locked(CLAIMS / ".lock"):
            claims = self._claims()
            mine = {"root": self.root, "key": key}
            slot = next((s for s, owner in claims.items() if owner == mine), None)
            if slot is None:
                wanted = (prefer - start) // SIZE if prefer is not None else None
                free = [s for s in range(count) if s not in claims]
                slot = wanted if wanted in free else next(iter(free), None)
                if slot is None:
                    slot = next((s for s, owner in claims.items() if self._abandoned(owner)), None)
                if slot is None:
                    raise ContainerError(f"all {count} user namespace id ranges of this host are in use")
                self._unpin(slot)  # an abandoned claim's namespace: its mapping is the same, not its owner
                (CLAIMS / str(slot)).write_text(json.dumps(mine))
            host_id, pin = start + slot * SIZE, CLAIMS / f"{slot}.user"
            if not _pinned(pin):
                pin_userns(maps(host_id), maps(host_id), pin)
            return host_id, str(pin)

    def release(self, key: str) -> None:
        with _locked(CLAIMS / ".lock"):
            for slot, owner in self._claims().items():
                if owner == {"root": self.root, "key": key}:
                    self._unpin(slot)
                    (CLAIMS / str(slot)).unlink(missing_ok=True)

    @staticmethod
    def _unpin(slot: int) -> None:
        pin = CLAIMS / f"{slot}.user"
        umount(str(pin))
        pin.unlink(missing_ok=True)

    @staticmethod
    def _claims() -> dict[int, dict]:
        out = {}
        for path in CLAIMS.iterdir():
            if path.name.isdigit():
                try:
                    out[int(path.name)] = json.loads(path.read_text())
                except ValueError:
                    out[int(path.name)] = {}  # half-written by a claimer that died: free
        return out

    def _abandoned(self, owner: dict) -> bool:
        """A claim whose engine is gone, or whose key has no container left in it."""
        root = owner.get("root")
        if not root or not Path(root, "containers").is_dir():
            return True
        return root == self.root and owner.get("key") not in self.in_use()
