"""QMP, QEMU's JSON control protocol, over its unix socket."""

from __future__ import annotations

import json
import socket


class QMPError(Exception):
    pass


def command(path: str, name: str, arguments: dict | None = None, timeout: float = 5.0):
    """Run one QMP command and return its result (events that arrive meanwhile are skipped)."""
    return commands(path, [(name, arguments)], timeout)[0]


def commands(path: str, calls: list[tuple[str, dict | None]], timeout: float = 5.0) -> list:
    """Run calls in order and return their results. They are sent at once and QEMU answers
    them in order, so several cost one round trip (a metrics reading of a VM, say)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(path)
        except OSError as e:
            raise QMPError(f"no QMP at {path}: {e}") from None
        reader = s.makefile("rb")
        json.loads(reader.readline())  # the greeting
        calls = [("qmp_capabilities", None), *calls]
        s.sendall(b"".join(json.dumps({"execute": execute, **({"arguments": args} if args else {})}).encode() + b"\n"
                           for execute, args in calls))
        results = []
        for execute, _ in calls:
            while True:
                line = reader.readline()
                if not line:
                    if execute == "quit":
                        return [*results, None][1:]  # QEMU is gone, as asked
                    raise QMPError(f"QEMU closed QMP during {execute}")
                reply = json.loads(line)
                if "event" in reply:
                    continue
                if "error" in reply:
                    raise QMPError(f"{execute}: {reply['error'].get('desc')}")
                break
            results.append(reply.get("return"))
        return results[1:]
