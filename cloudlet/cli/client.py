"""The `cloudlet` program's entry point, kept to the standard library's cheapest modules.

An engine command (run, ps, logs, ...) goes to the fork server of a running `cloudlet up`
when there is one (see forkserver.py): it has everything imported already, so a short
command takes a few milliseconds instead of Python's start plus a hundred of imports.
Without one, or with CLOUDLET_LOCAL=1, the command runs here, exactly the same.
"""

import array
import os
import signal
import socket
import sys

# The commands of cloudlet/cli/containers.py, images.py and registry.py (a test keeps this in step).
ENGINE_COMMANDS = frozenset({"run", "ps", "logs", "exec", "stats", "stop", "start", "kill", "rm", "inspect",
                             "events", "image", "network", "build", "save", "load", "system", "push", "pull",
                             "registry", "scan-db"})
SOCKET_NAME = "cli.sock"  # in the data dir, where `cloudlet up` starts the fork server


def _data_dir() -> str:
    # As cloudlet.config.default_data_dir decides it, without importing it.
    if env := os.environ.get("CLOUDLET_DATA_DIR"):
        return env
    return "/var/lib/cloudlet" if os.geteuid() == 0 else os.path.expanduser("~/.local/share/cloudlet")


def _remote(argv: list[str]) -> int | None:
    """The command's exit status from the fork server, or None when there is none to ask."""
    path = os.path.join(_data_dir(), SOCKET_NAME)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.connect(path)
    except OSError:  # no server, or a stale socket a killed one left behind
        conn.close()
        return None
    import json

    header = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "umask": os.umask(0o022)}
    os.umask(header["umask"])
    conn.sendmsg([json.dumps(header).encode()],
                 [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))])
    if os.environ.get("CLOUDLET_TRACE"):
        print(f"cloudlet: command sent to the server at {path}", file=sys.stderr)
    pid = conn.recv(64).strip()
    if not pid:
        print("cloudlet: the server closed the connection", file=sys.stderr)
        return 1
    # Ctrl-C and friends belong to the command, which runs in the server's child.
    def forward(signum, _frame):
        try:
            os.kill(int(pid), signum)
        except ProcessLookupError:  # it has just ended: its status is on the way
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    status = conn.recv(64).strip()
    if not status:
        print("cloudlet: the server's child ended without an exit status", file=sys.stderr)
        return 1
    return int(status)


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] in ENGINE_COMMANDS and not os.environ.get("CLOUDLET_LOCAL"):
        status = _remote(argv)
        if status is not None:
            sys.exit(status)
    from cloudlet.cli.main import main as local

    local()


if __name__ == "__main__":
    main()
