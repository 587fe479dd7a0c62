"""The docker-like CLI on a real engine: run with published ports and limits, ps, exec,
stats, logs, stop, rm, user networks with names, save/load, prune, and the errors.
Everything it creates is gone afterwards: containers, namespaces, veths, rules, mounts."""

import json
import random
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from engine_fixtures import EngineHome, busybox_home
from outside import listener, outside_namespace

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]


@pytest.fixture
def home():
    with busybox_home("nft", "ip") as h:
        yield h
    leftovers = [p.name for p in Path("/run/netns").glob(f"{h.settings.table}-*")] if Path("/run/netns").exists() else []
    assert leftovers == []
    assert not Path(f"/sys/class/net/{h.settings.bridge}").exists()
    assert subprocess.run(["nft", "list", "table", "ip", h.settings.table], capture_output=True).returncode != 0
    assert str(h.data_dir) not in Path("/proc/self/mountinfo").read_text()


def wait_listening(port: int, timeout: float = 10) -> None:
    """Until something listens on the TCP port (read from /proc: connecting would use up a
    one-shot listener's only connection)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):  # busybox nc listens dual-stack
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    return
        time.sleep(0.02)
    raise AssertionError(f"nothing listens on port {port}")


def free_port() -> int:
    return random.randrange(20000, 30000)


def test_run_publish_limits_and_lifecycle(home):
    port = free_port()
    cid = home.cli("run", "-d", "--name", "web", "-p", f"{port}:80", "--memory", "64m", "--cpus", "0.5",
                   "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").stdout.strip()
    assert len(cid) == 32
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/passwd", timeout=10) as r:
        assert r.read().startswith(b"root:x:0:0")
    ps = home.cli("ps").stdout
    assert "web" in ps and "Up " in ps and f"0.0.0.0:{port}->80/tcp" in ps
    assert home.cli("exec", "web", "cat", "/etc/hostname").stdout.strip() == cid[:12]
    assert home.cli("exec", "web", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes").stdout.strip() == str(64 << 20)
    stats = home.cli("stats", "--no-stream", "web").stdout
    assert "64.0MiB" in stats and "web" in stats
    assert home.cli("exec", "web", "sh", "-c", "exit 7", check=False).returncode == 7
    home.cli("stop", "-t", "1", "web")
    assert "Exited (137)" in home.cli("ps", "-a").stdout
    home.cli("start", "web")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/group", timeout=10) as r:
        assert b"root" in r.read()
    home.cli("rm", "-f", "web")
    assert "web" not in home.cli("ps", "-a").stdout
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/passwd", timeout=2)


def test_foreground_run_streams_output_and_exit_code(home):
    proc = home.cli("run", "--rm", "-e", "WHO=world", "busybox", "sh", "-c", "echo hello $WHO; echo oops >&2; exit 3",
                    check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "hello world\n", "oops\n")
    assert home.cli("ps", "-a", "-q").stdout == ""
    actions = [line.split()[2] for line in home.cli("events").stdout.splitlines()]
    assert actions == ["create", "start", "die", "destroy"]
    assert "exitCode=3" in home.cli("events").stdout


def test_isolation_seen_from_inside(home):
    out = home.cli("run", "--rm", "--hostname", "box", "busybox", "sh", "-c",
                   "ps -o pid,comm; echo; hostname; echo; ls /sys/class/net").stdout
    processes, hostname, interfaces = (part.split("\n")[1:] if i == 0 else part.split()
                                       for i, part in enumerate(out.strip().split("\n\n")))
    assert [p.split()[1] for p in processes] == ["sh", "ps"] and processes[0].split()[0] == "1"
    assert hostname == ["box"]
    # its own loopback and veth end only: none of the host's links, not even its bridge
    assert sorted(interfaces) == ["eth0", "lo"]
    assert home.cli("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net").stdout.split() == ["lo"]


def test_memory_limit_ends_in_oom_kill(home):
    proc = home.cli("run", "--name", "hog", "--memory", "16m", "busybox", "sh", "-c", "tail /dev/zero", check=False)
    assert proc.returncode == 137
    state = json.loads(home.cli("inspect", "hog").stdout)["State"]
    assert (state["Status"], state["ExitCode"], state["OOMKilled"]) == ("exited", 137, True)
    assert "Exited (137) (OOM killed)" in home.cli("ps", "-a").stdout
    assert "oom" in [line.split()[2] for line in home.cli("events").stdout.splitlines()]


def test_user_network_resolves_names(home):
    home.cli("network", "create", "shop")
    home.cli("run", "-d", "--name", "api", "--network", "shop", "--network-alias", "backend",
             "busybox", "httpd", "-f", "-p", "80", "-h", "/etc")
    for host in ("api", "backend"):
        out = home.cli("run", "--rm", "--network", "shop", "busybox", "wget", "-q", "-O", "-", f"http://{host}/group")
        assert out.stdout.startswith("root:x:0:")
    refused = home.cli("network", "rm", "shop", check=False)
    assert refused.returncode == 125 and "active endpoints: api" in refused.stderr
    home.cli("rm", "-f", "api")
    home.cli("network", "rm", "shop")
    assert "shop" not in home.cli("network", "ls").stdout


def test_outbound_nat_reaches_the_outside(home):
    """What a container sends outside arrives from the host's address (masquerade); the
    host itself it does not reach (its input filter)."""
    with outside_namespace() as (ns, outside_ip, host_ip), listener(ns, outside_ip, 9000) as heard:
        home.cli("run", "--rm", "busybox", "sh", "-c", f"echo from-container | nc -w 3 {outside_ip} 9000")
        assert heard.communicate(timeout=10)[0] == f"{host_ip} from-container\n"


def test_errors_leave_nothing_behind(home):
    missing = home.cli("run", "-d", "nosuchimage", check=False)
    assert missing.returncode == 125 and "not found" in missing.stderr
    bad = home.cli("run", "-d", "-p", "80:99999", "busybox", check=False)
    assert bad.returncode == 2 and "invalid port mapping" in bad.stderr
    port = free_port()
    home.cli("run", "-d", "--name", "one", "-p", f"{port}:80", "busybox", "sleep", "60")
    taken = home.cli("run", "-d", "--name", "two", "-p", f"{port}:80", "busybox", "sleep", "60", check=False)
    assert taken.returncode == 125 and "port is already allocated" in taken.stderr
    dup = home.cli("run", "-d", "--name", "one", "busybox", "sleep", "60", check=False)
    assert dup.returncode == 125 and "already in use" in dup.stderr
    none = home.cli("run", "-d", "--network", "none", "-p", "81:80", "busybox", check=False)
    assert none.returncode == 125
    assert home.cli("ps", "-a", "-q").stdout.split() == [home.engine().resolve("one")[:12]]
    assert len(list(Path("/run/netns").glob(f"{home.settings.table}-*"))) == 1


def test_save_load_and_prune(home, tmp_path):
    for fmt in ("oci", "docker"):
        archive = tmp_path / f"busybox-{fmt}.tar"
        home.cli("save", "busybox", "-o", str(archive), "--format", fmt)
        other = EngineHome()
        try:
            assert "Loaded image: docker.io/library/busybox:latest" in other.cli("load", "-i", str(archive)).stdout
            assert "busybox" in other.cli("image", "ls").stdout
            assert other.cli("run", "--rm", "busybox", "true").returncode == 0
        finally:
            other.destroy()
    home.cli("run", "--name", "done", "busybox", "true")
    pruned = home.cli("system", "prune", "-f").stdout
    assert "Deleted container: done" in pruned
    assert home.cli("ps", "-a", "-q").stdout == ""
