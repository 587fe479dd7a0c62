"""The warm side of the engine commands: a process `cloudlet up` starts, which has the
CLI and the engine imported already and forks a child per command sent to its socket.

The client (cloudlet/cli/client.py) hands over its argv, working directory, environment
and its stdin/stdout/stderr themselves (SCM_RIGHTS), so the child runs the very same
click command as a local run would, writing straight to the user's terminal or pipes;
only the exit status travels back. What this saves is Python's start and the imports,
which are most of a short command's time. It forks from a single-threaded process, so
a child never inherits a lock some other thread held.
"""

from __future__ import annotations

import array
import ctypes
import json
import os
import signal
import socket
import sys
import traceback

_MAX_HEADER = 1 << 20
_PR_SET_PDEATHSIG = 1


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """The client's one message: a JSON header and its three standard fds."""
    fds = array.array("i")
    msg, ancdata, _, _ = conn.recvmsg(_MAX_HEADER, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return json.loads(msg), list(fds)


def _take_over(header: dict, fds: list[int]) -> None:
    """Become the client, as far as the command can tell."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    # New stream objects: the old ones decided their buffering for the server's fds.
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", closefd=False, buffering=1 if os.isatty(1) else -1)
    sys.stderr = open(2, "w", closefd=False, buffering=1)
    os.chdir(header["cwd"])
    os.umask(header["umask"])
    os.environ.clear()
    os.environ.update(header["env"])
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _child(conn: socket.socket, cli) -> None:
    code = 1
    try:
        header, fds = _receive(conn)
        if len(fds) != 3:
            raise ValueError(f"expected 3 file descriptors, got {len(fds)}")
        _take_over(header, fds)
        conn.sendall(f"{os.getpid()}\n".encode())
        try:
            cli.main(args=header["argv"], prog_name="cloudlet", standalone_mode=True)
            code = 0
        except SystemExit as e:
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
                code = 1
            else:
                code = e.code or 0
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError:  # the reader went away
                pass
        try:
            conn.sendall(f"{code}\n".encode())
        except OSError:
            pass
        os._exit(code)


def serve(path: str) -> None:
    # Die with `cloudlet up`, even when it is killed with SIGKILL.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    # Warm: what every command needs, and what click imports when it parses a short option.
    import difflib  # noqa: F401

    from cloudlet.agent import engine  # noqa: F401
    from cloudlet.cli.main import cli

    server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # one message, one header
    old = os.umask(0o177)  # only our own user may connect: a child runs as us
    # Bound under another name and renamed once listening: the path appears ready.
    server.bind(f"{path}.{os.getpid()}")
    os.umask(old)
    server.listen(64)
    os.replace(f"{path}.{os.getpid()}", path)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            conn, _ = server.accept()
            uid = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)[4:8]
            if int.from_bytes(uid, sys.byteorder) != os.getuid():
                conn.close()
                continue
            if os.fork() == 0:
                server.close()
                _child(conn, cli)
            conn.close()
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    serve(sys.argv[1])
