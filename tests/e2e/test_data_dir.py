"""The data dir holds every account's state: it is its owner's alone (0700, the database and
its WAL files 0600, readable by no other local user), and one `cloudlet up` at a time runs
on it; a second exits at once, naming the first, and touches nothing of the live one."""

import os
import sqlite3
import stat
import subprocess
import sys

import pytest

from tests.e2e.server import Server
from tests.hostcaps import need_root


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_state_is_private(server):
    assert mode(server.data_dir) == 0o700
    server.client("ssm").put_parameter(Name="/p/private", Value="x", Type="String", Overwrite=True)  # a WAL write
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        assert mode(server.data_dir / name) == 0o600, name


def test_another_local_user_reads_nothing(server):
    """The finding: `sqlite3 state.db` as any local user gave every secret access key."""
    need_root()
    reader = "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('select * from access_keys').fetchall())"
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                           reader, str(server.data_dir / "state.db")], capture_output=True, text=True)
    assert proc.returncode != 0 and "unable to open database" in proc.stderr, proc
    secret = server.profile()["aws_secret_access_key"]
    with sqlite3.connect(server.data_dir / "state.db") as db:  # even a copy of the file alone gives no key away
        assert secret not in repr(db.execute("select * from access_keys").fetchall())


def test_a_second_up_on_the_same_data_dir_leaves_at_once(server, tmp_path):
    aws = server.home / ".aws" / "credentials"
    before = aws.read_text()
    socket_file = server.data_dir / "cli.sock"
    had_socket = socket_file.exists()
    second = Server(tmp_path)  # another HOME, another port, the same data dir
    second.data_dir = server.data_dir
    proc = subprocess.run([sys.executable, "-m", "cloudlet.cli.main", "up", "--port", str(second.port),
                           "--data-dir", str(server.data_dir)], env=server.env(), capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode != 0
    assert f"cloudlet is already running on this data dir (pid {server.proc.pid}, port {server.port})" in proc.stderr
    assert "listening" not in proc.stdout
    assert aws.read_text() == before and socket_file.exists() == had_socket
    assert server.healthy()


def test_listening_is_said_after_the_bind(server, tmp_path):
    other = Server(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "cloudlet.cli.main", "up", "--port", str(server.port),
                           "--data-dir", str(tmp_path / "data")], env=other.env(), capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode != 0 and "listening" not in proc.stdout
    assert f"cannot listen on 127.0.0.1:{server.port}" in proc.stderr
