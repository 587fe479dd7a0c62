"""What the EC2 integration tests share: a server of their own (with a VPC pool no other test
uses: VPCs become bridges on this one host), the built-in AMIs, and SSH into an instance,
retried until its SSH server answers (it starts once the guest's init has run)."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.server import Server
from tests.hostcaps import need_binaries, need_root

WAIT = {"Delay": 1, "MaxAttempts": 180}
SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
               "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"]


def ec2_server(tmp_path_factory, name: str, pool: str, *programs: str, args: tuple[str, ...] = ()) -> Server:
    """args: more options of `cloudlet up`."""
    return ec2_server_at(tmp_path_factory.mktemp(name), pool, *programs, args=args)


def ec2_server_at(root, pool: str, *programs: str, args: tuple[str, ...] = ()) -> Server:
    need_root()
    need_binaries("qemu-system-x86_64", "qemu-img", "lz4", "busybox", "dropbear", "ssh", *programs)
    return Server(root, args=("--vpc-pool", pool, *args)).start()


def module_server(name: str, pool: str, *args: str):
    """A module's `server` fixture: its own server (args: more options of `cloudlet up`), and
    any VM it leaves removed after."""
    @pytest.fixture(scope="module")
    def server(tmp_path_factory):
        srv = ec2_server(tmp_path_factory, name, pool, args=args)
        yield srv
        srv.stop()

    return server


def ami_id(ec2, name: str = "busybox") -> str:
    return ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [f"cloudlet-{name}"]}])[
        "Images"][0]["ImageId"]


def key_pair(ec2, name: str, directory) -> str:
    """A new ed25519 key pair; the path of its private key."""
    path = directory / f"{name}.pem"
    path.write_text(ec2.create_key_pair(KeyName=name, KeyType="ed25519")["KeyMaterial"])
    path.chmod(0o600)
    return str(path)


def until_answers(args: list[str], env: dict | None = None, timeout: float = 90, explain=lambda: "") -> str:
    """The output of a command that succeeds once the instance answers; explain() adds to the
    failure (the instance's console, say)."""
    deadline = time.monotonic() + timeout
    while True:
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
        if proc.returncode == 0:
            return proc.stdout
        assert time.monotonic() < deadline, f"{args[-1]!r}: {proc.returncode} {proc.stderr}\n{explain()}"
        time.sleep(0.5)


def until(predicate, what: str, timeout: float = 60):
    """predicate()'s first true value, asked every half second; what: the failure's message."""
    deadline = time.monotonic() + timeout
    while not (got := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.5)
    return got


def route_to(address: str) -> str:
    """How the host routes to address, and its routes of the same /8: what an SSH failure
    with 'No route to host' needs to tell a guest not up yet from a range another server holds."""
    got = subprocess.run(["ip", "route", "get", address], capture_output=True, text=True)
    near = subprocess.run(["ip", "route", "show", "match", address], capture_output=True, text=True)
    return f"ip route get {address}: {got.stdout or got.stderr}routes matching it:\n{near.stdout}"


def network_report(server) -> str:
    """What a guest that gets no answer from the metadata service needs explained: what the
    server's network controller said, and what each of its routers enforces."""
    said = [line for line in server.read_log().splitlines() if "cloudlet.control.network" in line]
    table = json.loads((server.data_dir / "engine" / "net" / "settings.json").read_text())["table"]
    parts = ["the network controller said:", *said[-15:]]
    for ns in sorted(Path("/run/netns").glob(f"{table}-vpc*")):
        rules = subprocess.run(["ip", "netns", "exec", ns.name, "nft", "list", "ruleset"], capture_output=True,
                               text=True)
        parts += [f"{ns.name}:", rules.stdout[-3000:] or rules.stderr]
    return "\n".join(parts)


def assert_clock_right(run) -> None:
    """The guest's clock is the host's to within 2 s (the SSH round trip allowed for), kept by a
    clock source that does not fall behind while a busy host runs the guest late (jiffies, under
    TCG); run(command): the command's output in the guest."""
    source = run("cat /sys/devices/system/clocksource/clocksource0/current_clocksource").strip()
    assert source in ("tsc", "kvm-clock"), source
    before = time.time()
    guest = int(run("date +%s"))
    after = time.time()
    assert before - 2 <= guest <= after + 2, f"host {before:.1f}..{after:.1f}, guest {guest}"


def ssh(key: str, login: str, address: str, command: str, timeout: float = 90, server=None) -> str:
    return until_answers(["ssh", "-i", key, *SSH_OPTIONS, f"{login}@{address}", command], timeout=timeout,
                         explain=lambda: route_to(address) + (network_report(server) if server else ""))
