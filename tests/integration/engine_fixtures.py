"""An engine of its own per test: a short state dir, network names and subnets no other
test (or a running cloudlet) uses, and a teardown that removes everything it made."""

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from cloudlet.agent.engine import Engine
from cloudlet.agent.network import Settings
from cloudlet.agent.vms import VMs
from tests import ranges
from tests.hostcaps import need_binaries, need_root


def unique_settings() -> Settings:
    tag = secrets.token_hex(3)
    subnet, pool = ipaddress.ip_network(ranges.engine_subnet()).subnets(1)
    # a letter before the bridge's index: the names made of its stem (uplinks <stem>r<n>, user
    # networks <stem><n>) never run into those of an engine whose tag ends in digits
    return Settings(table=f"clt{tag}", bridge=f"ct{tag}n0", subnet=str(subnet), pool=str(pool), user_prefix=28,
                    link_pool=ranges.link_pool())


def settings_ranges(settings: Settings) -> list[tuple[str, str]]:
    """The (kind, range) of tests/ranges.py an engine of these settings holds."""
    return [("link", settings.link_pool), ("subnet", str(ipaddress.ip_network(settings.subnet).supernet(1)))]


class EngineHome:
    """A data dir for the `cloudlet` CLI, with its engine's network settings pinned."""

    def __init__(self):
        self.data_dir = Path(tempfile.mkdtemp(prefix="cl", dir="/tmp"))  # short: conmon's socket paths
        self.settings = unique_settings()
        net = self.data_dir / "engine" / "net"
        net.mkdir(parents=True)
        (net / "settings.json").write_text(json.dumps(asdict(self.settings)))

    def engine(self) -> Engine:
        return Engine(self.data_dir / "engine")

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        # --data-dir goes right after the (sub)command words, before any image or command.
        words = 2 if args[0] in ("image", "network", "system") else 1
        command = [sys.executable, "-m", "cloudlet.cli.main", *args[:words], "--data-dir", str(self.data_dir),
                   *args[words:]]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
        if check and proc.returncode != 0:
            raise AssertionError(f"cloudlet {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def destroy(self) -> None:
        eng = self.engine()
        errors = []
        for c in eng.list():
            try:
                eng.remove(c.id, force=True)
            except Exception as e:  # keep cleaning; report at the end
                errors.append(e)
        eng.runtime.remove_half_made(min_age=0)  # what a server killed mid-create left mounted
        vms = VMs(self.data_dir / "vms")  # instances of a server that used this home: VMs outlive it
        for vm in vms.list():
            vms.remove(vm.id)
        eng.networks.destroy()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        for kind, value in settings_ranges(self.settings):
            ranges.release(kind, value)
        if errors:
            raise errors[0]


@contextlib.contextmanager
def busybox_home(*binaries: str):
    """An EngineHome with the busybox image, destroyed afterwards; skips without root or
    the host programs the tests need."""
    need_root()
    need_binaries("runc", "conmon", "busybox", *binaries)
    h = EngineHome()
    try:
        h.cli("image", "bootstrap", "busybox")
        yield h
    finally:
        h.destroy()
