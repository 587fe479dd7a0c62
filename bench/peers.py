"""The peers the container benches measure cloudlet against: podman and raw runc."""

import json
import os
import shutil
import subprocess
from itertools import count
from pathlib import Path

# podman asks for nofile and nproc limits above this host's hard limits, which cannot be
# raised here; pin them below.
_ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


class Podman:
    """podman with a root of its own (its images and containers stay apart from the host's)."""

    def __init__(self, root: Path, archive: Path):
        self.base = ["podman", "--root", str(root / "root"), "--runroot", str(root / "run"), "--runtime", "runc",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
        self._run("load", "-i", str(archive))

    def _run(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], check=True, capture_output=True, text=True).stdout

    @staticmethod
    def _network(network: str | None) -> list[str]:
        return ["--network", network] if network else []

    def start(self, network: str | None, command: tuple[str, ...] = ("sleep", "86400")) -> str:
        return self._run("run", "-d", *self._network(network), *_ULIMITS, "busybox", *command).strip()

    def run_true(self, network: str | None) -> None:
        self._run("run", "--rm", *self._network(network), *_ULIMITS, "busybox", "true")

    def pids(self, cid: str) -> list[int]:
        state = json.loads(self._run("inspect", "--format", "{{json .State}}", cid))
        return [state["ConmonPid"], state["Pid"]]

    def remove(self, cid: str) -> None:
        self._run("rm", "-f", "-t", "0", cid)

    def reset(self) -> None:
        subprocess.run([*self.base, "system", "reset", "-f"], capture_output=True)


class RawRunc:
    """runc on one bundle: the image's layers copied into a plain rootfs, runc's own
    default spec (no seccomp, no limits), no monitor. The floor of what a start costs."""

    def __init__(self, root: Path, layers: list[Path]):
        self.bundle = root / "bundle"
        self.state = root / "state"
        rootfs = self.bundle / "rootfs"
        rootfs.mkdir(parents=True)
        for layer in layers:
            shutil.copytree(layer, rootfs, symlinks=True, dirs_exist_ok=True)
        subprocess.run(["runc", "spec"], cwd=self.bundle, check=True)
        self.spec = json.loads((self.bundle / "config.json").read_text())
        self.spec["process"]["terminal"] = False
        self.ids = count()

    def _use(self, args: list[str]) -> None:
        self.spec["process"]["args"] = args
        (self.bundle / "config.json").write_text(json.dumps(self.spec))

    def _runc(self, *args: str, **kw) -> None:
        subprocess.run(["runc", "--root", str(self.state), *args], cwd=self.bundle, check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)

    def start(self) -> str:
        self._use(["sleep", "86400"])
        cid = f"bench-{os.getpid()}-{next(self.ids)}"
        self._runc("run", "-d", cid)
        return cid

    def remove(self, cid: str) -> None:
        self._runc("delete", "-f", cid)

    def run_true(self) -> None:
        self._use(["true"])
        self._runc("run", f"bench-{os.getpid()}-{next(self.ids)}")
