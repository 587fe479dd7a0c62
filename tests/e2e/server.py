"""Start `cloudlet up` on a free port with its own data dir and HOME, as a user would."""

import configparser
import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests import ranges
from tests.hostcaps import need_binaries, need_root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, root: Path, regions: str | None = None, args: tuple[str, ...] = ()):
        self.root = root
        self.home = root / "home"
        self.data_dir = root / "data"
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.regions = regions
        self.args = args  # more options of `cloudlet up`
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict:
        # A clean AWS environment: only what `cloudlet up` wrote under this HOME counts.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["HOME"] = str(self.home)
        env.pop("AWS_CA_BUNDLE", None)
        return env

    def _own_engine_settings(self) -> None:
        """Network names and ranges of its own for the engine, unless a test's EngineHome gave
        them (as root, a server that runs a task must not touch `cloudlet0` or `ip cloudlet`)."""
        from tests.integration.engine_fixtures import settings_ranges, unique_settings

        net = self.data_dir / "engine" / "net"
        if not (net / "settings.json").exists():
            settings = unique_settings()
            net.mkdir(parents=True, exist_ok=True)
            (net / "settings.json").write_text(json.dumps(dataclasses.asdict(settings)))
            self.owns_engine, self.held_ranges = True, settings_ranges(settings)
        for kind, value in getattr(self, "held_ranges", []):  # started again after a stop
            ranges.hold(kind, value)

    def start(self, timeout: float = 60.0) -> "Server":
        self._own_engine_settings()
        args = [sys.executable, "-m", "cloudlet.cli.main", "up", "--port", str(self.port),
                "--data-dir", str(self.data_dir)]
        if self.regions:
            args += ["--regions", self.regions]
        args += self.args
        self.own_public_pool = None
        if "--public-pool" not in self.args:  # public addresses are routed on the host: one pool each
            self.own_public_pool = ranges.public_pool()
            args += ["--public-pool", self.own_public_pool]
        self.log = open(self.root / "server.log", "ab")
        self.proc = subprocess.Popen(args, env=self.env(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cloudlet up exited {self.proc.returncode}: {self.read_log()}")
            if self.healthy():
                return self
            time.sleep(0.05)
        log = self.read_log()
        self.stop()  # the caller's fixture never got a server to stop: don't leave it running
        raise RuntimeError(f"cloudlet up did not answer within {timeout}s: {log}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_cloudlet/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def read_log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)  # it takes down its network too, when nothing of it runs
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
        if getattr(self, "own_public_pool", None):
            ranges.release("public", self.own_public_pool)
        if (self.data_dir / "elb").is_dir():  # load balancers' proxies outlive the server by design
            from cloudlet.agent.lb.proxy import Proxy

            for directory in (self.data_dir / "elb").iterdir():
                Proxy(directory, directory.name).stop()
        if getattr(self, "owns_engine", False):  # whatever its tasks left: containers, bridges, rules
            from cloudlet.agent.engine import Engine

            engine = Engine(self.data_dir / "engine")
            for c in engine.list():
                engine.remove(c.id, force=True)
            engine.networks.destroy()
            from cloudlet.agent.vms import VMs

            vms = VMs(self.data_dir / "vms")  # instances' VMs outlive the server by design
            for vm in vms.list():
                vms.remove(vm.id)
            for kind, value in self.held_ranges:
                ranges.release(kind, value)

    def profile(self) -> dict:
        creds = configparser.ConfigParser()
        creds.read(self.home / ".aws" / "credentials")
        return dict(creds["cloudlet"])

    def client(self, service: str, region: str = "us-east-1", key: str | None = None, secret: str | None = None,
               validate: bool = True):
        profile = self.profile()
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key or profile["aws_access_key_id"],
            aws_secret_access_key=secret or profile["aws_secret_access_key"],
            config=BotoConfig(retries={"max_attempts": 1}, parameter_validation=validate),
        )

    def new_account(self, name: str) -> tuple[str, str]:
        """(access key id, secret) of a new account, made as a user would: `cloudlet accounts create`."""
        proc = self.cloudlet("accounts", "create", name)
        if proc.returncode != 0:
            raise AssertionError(f"cloudlet accounts create {name} failed: {proc.stderr}")
        lines = dict(line.split(" = ") for line in proc.stdout.splitlines() if " = " in line)
        return lines["aws_access_key_id"], lines["aws_secret_access_key"]

    def cloudlet(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """`cloudlet <args> --data-dir <this server's>`, as a user on the host would run it."""
        return subprocess.run([sys.executable, "-m", "cloudlet.cli.main", *args, "--data-dir", str(self.data_dir)],
                              capture_output=True, text=True, env=self.env(), timeout=timeout)

    def aws(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        """The stock AWS CLI with nothing but the `cloudlet` profile `cloudlet up` wrote."""
        cmd = [str(Path(sys.executable).with_name("aws")), "--profile", "cloudlet", *args]
        proc = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, input=stdin, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc


def module_server(name: str, *args: str):
    """A module's `server` fixture: a server of its own, for tests that would disturb others'."""
    @pytest.fixture(scope="module")
    def server(tmp_path_factory):
        srv = Server(tmp_path_factory.mktemp(name), args=args).start()
        yield srv
        srv.stop()

    return server


@contextlib.contextmanager
def on_tmpfs(root: Path, size: int):
    """A started server whose data dir is a tmpfs of `size` bytes of its own, unmounted after."""
    need_root()  # mount
    need_binaries("mount", "umount")
    data = root / "data"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(data)], check=True)
    server = Server(root)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            subprocess.run(["umount", str(data)], check=True)
