"""QMP, QEMU's JSON control protocol, over its unix socket: one command at a time."""

from __future__ import annotations

import json
import socket


class QMPError(Exception):
    pass


def command(path: str, name: str, arguments: dict | None = None, timeout: float = 5.0):
    """Run one QMP command and return its result (events that arrive meanwhile are skipped)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(path)
        except OSError as e:
            raise QMPError(f"no QMP at {path}: {e}") from None
        reader = s.makefile("rb")
        json.loads(reader.readline())  # the greeting
        for execute, args in (("qmp_capabilities", None), (name, arguments)):
            s.sendall(json.dumps({"execute": execute, **({"arguments": args} if args else {})}).encode() + b"\n")
            while True:
                line = reader.readline()
                if not line:
                    if execute == "quit":
                        return None  # QEMU is gone, as asked
                    raise QMPError(f"QEMU closed QMP during {execute}")
                reply = json.loads(line)
                if "event" in reply:
                    continue
                if "error" in reply:
                    raise QMPError(f"{execute}: {reply['error'].get('desc')}")
                break
        return reply.get("return")
