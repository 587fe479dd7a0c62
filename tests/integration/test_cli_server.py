"""The engine commands through a running `cloudlet up`: its fork server runs them with the
client's own stdio, working directory and environment; Ctrl-C reaches the command; the
client falls back to running locally when no server answers; and `up` applies restart
policies."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_fixtures import busybox_home

from cloudlet.cli import containers, images, registry
from cloudlet.cli.client import ENGINE_COMMANDS, SOCKET_NAME
from tests.e2e.server import Server

pytestmark = [pytest.mark.root, pytest.mark.runc]
SENT = "command sent to the server"


@pytest.fixture(scope="module")
def served():
    with busybox_home() as home:
        server = Server(home.data_dir / "up")
        server.data_dir = home.data_dir
        server.start()
        try:
            yield home
        finally:
            server.stop()
        assert not (home.data_dir / SOCKET_NAME).exists()


def client(home, *args: str, cwd=None, env=None, **kw) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "CLOUDLET_DATA_DIR": str(home.data_dir), "CLOUDLET_TRACE": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **(env or {})}
    command = [sys.executable, "-m", "cloudlet.cli.client", *args]
    if kw.pop("background", False):
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, **kw)


def test_the_client_knows_every_engine_command():
    assert ENGINE_COMMANDS == {c.name for c in containers.COMMANDS + images.COMMANDS + registry.COMMANDS}


def test_run_goes_through_the_server_with_the_clients_stdio(served):
    proc = client(served, "run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert proc.returncode == 3 and proc.stdout == "out\n"
    assert SENT in proc.stderr and proc.stderr.endswith("err\n")
    assert served.cli("ps", "-a", "-q").stdout == ""


def test_working_directory_and_environment_are_the_clients(served, tmp_path):
    (tmp_path / "app.env").write_text("GREETING=from-file\n")
    proc = client(served, "run", "--rm", "--network", "none", "--env-file", "app.env", "-e", "WHO",
                  "busybox", "sh", "-c", "echo $GREETING $WHO", cwd=tmp_path, env={"WHO": "client"})
    assert (proc.returncode, proc.stdout) == (0, "from-file client\n"), proc.stderr
    assert client(served, "save", "busybox", "-o", "bb.tar", cwd=tmp_path).returncode == 0
    assert (tmp_path / "bb.tar").stat().st_size > 100_000


def test_ctrl_c_reaches_the_command(served):
    proc = client(served, "run", "--name", "sleeper", "--network", "none", "--stop-timeout", "1",
                  "busybox", "sleep", "60", background=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            listed = served.cli("ps").stdout
            if "sleeper" in listed:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert SENT in err and proc.returncode == 137  # sleep as PID 1 ignores SIGTERM: killed after 1 s
        assert json.loads(served.cli("inspect", "sleeper").stdout)["State"]["Status"] == "exited"
    finally:
        proc.kill()
        served.cli("rm", "-f", "sleeper", check=False)


def test_restart_policy_applied_by_up(served):
    served.cli("run", "-d", "--name", "flaky", "--network", "none", "--restart", "on-failure:2",
               "busybox", "sh", "-c", "exit 1")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            info = json.loads(served.cli("inspect", "flaky").stdout)
            if info["RestartCount"] == 2 and info["State"]["Status"] == "exited":
                break
            time.sleep(0.2)
        assert (info["RestartCount"], info["State"]["ExitCode"]) == (2, 1)
        starts = [line for line in served.cli("events").stdout.splitlines() if " start " in line and "flaky" in line]
        assert len(starts) == 3
    finally:
        served.cli("rm", "-f", "flaky", check=False)


def test_without_a_server_the_client_runs_the_command_itself(tmp_path):
    with busybox_home() as home:
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        stale.bind(str(home.data_dir / SOCKET_NAME))  # a socket file nobody listens on, as after kill -9
        stale.close()
        proc = client(home, "run", "--rm", "--network", "none", "busybox", "echo", "local")
        assert (proc.returncode, proc.stdout) == (0, "local\n") and SENT not in proc.stderr
