"""An "outside" for tests that must see traffic leave: a network namespace behind a veth
pair with a /30 of TEST-NET-2 (198.51.100.0/24, never routed anywhere), standing in for the
internet (there is none here) and for the host's LAN. Traffic to it is forwarded through
the host, as traffic to the internet would be, never delivered to the host itself."""

import contextlib
import secrets
import subprocess
import sys

from tests import ranges


@contextlib.contextmanager
def outside_namespace():
    """(namespace, its address, the host's address on the link)."""
    tag = secrets.token_hex(3)
    ns, host_end = f"cl-out-{tag}", f"clo{tag}"
    link = ranges.outside_link()
    base = int(link.split(".")[3].split("/")[0])
    host_ip, outside_ip = f"198.51.100.{base + 1}", f"198.51.100.{base + 2}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for cmd in (["ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns],
                    ["ip", "addr", "add", f"{host_ip}/30", "dev", host_end], ["ip", "link", "set", host_end, "up"],
                    ["ip", "-n", ns, "addr", "add", f"{outside_ip}/30", "dev", "eth0"],
                    ["ip", "-n", ns, "link", "set", "eth0", "up"], ["ip", "-n", ns, "link", "set", "lo", "up"]):
            subprocess.run(cmd, check=True)
        yield ns, outside_ip, host_ip
    finally:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], check=True)
        ranges.release("outside", link)


LISTEN = """import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("listening", flush=True)
conn, peer = s.accept()
print(peer[0], conn.recv(100).decode().strip(), flush=True)
"""


@contextlib.contextmanager
def listener(ns: str, address: str, port: int):
    """A one-shot TCP listener in ns, ready; what it heard: proc.communicate(timeout=...)[0],
    "<peer> <what it got>"."""
    proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", LISTEN, address, str(port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "listening\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()
