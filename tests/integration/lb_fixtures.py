"""A small world for the load balancer proxy: namespaces of its own (client, proxy, servers)
joined by veth pairs, and busybox httpd servers that answer their own name (and one server
that keeps connections open, which busybox httpd does not)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

NET = f"198.18.{os.getpid() % 200}"
CLIENT_IP, PROXY_IP, PROXY_SIDE, SERVER_IP = f"{NET}.2", f"{NET}.1", f"{NET}.5", f"{NET}.6"
TAG = f"lbt{os.getpid()}"
CLIENT_NS, PROXY_NS, SERVER_NS = f"{TAG}c", f"{TAG}p", f"{TAG}s"
CGI = {"slow": "sleep 3; printf 'HTTP/1.0 200 OK\\r\\n\\r\\nslow-%s\\n'",
       "health": "printf 'HTTP/1.0 200 OK\\r\\n\\r\\nok\\n'",
       "sick": "printf 'HTTP/1.0 500 Oops\\r\\n\\r\\nno\\n'"}
KEPT_ALIVE = """
import http.server, sys
class Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = sys.argv[1].encode() + b"\\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def handle(self):
        try:
            super().handle()
        except ConnectionError:  # the proxy resets the idle connections it drops
            pass
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((sys.argv[2], int(sys.argv[3])), Answer).serve_forever()
"""


def ip(*args: str, netns: str | None = None) -> None:
    subprocess.run(["ip", *(["-n", netns] if netns else []), *args], check=True, capture_output=True)


def in_ns(netns: str, *args: str, timeout: float = 30, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "--", *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


class Lab:
    def __init__(self, root: Path):
        self.root, self.client, self.proxy, self.servers = root, CLIENT_NS, PROXY_NS, SERVER_NS
        self.httpd: dict[str, subprocess.Popen] = {}
        for ns in (self.client, self.proxy, self.servers):
            ip("netns", "add", ns)
            ip("link", "set", "lo", "up", netns=ns)
        for name, here, there, mine, theirs in ((f"{TAG}a", self.proxy, self.client, PROXY_IP, CLIENT_IP),
                                                (f"{TAG}b", self.proxy, self.servers, PROXY_SIDE, SERVER_IP)):
            ip("link", "add", f"{name}0", "netns", here, "type", "veth", "peer", f"{name}1", "netns", there)
            for ns, dev, address in ((here, f"{name}0", mine), (there, f"{name}1", theirs)):
                ip("addr", "add", f"{address}/30", "dev", dev, netns=ns)
                ip("link", "set", dev, "up", netns=ns)

    def serve(self, name: str, port: int, health: str = "health") -> None:
        """An httpd at SERVER_IP:port answering "<name>" at any path, a slow answer at /cgi-bin/slow
        and its health at /cgi-bin/health."""
        home = self.root / name
        (home / "cgi-bin").mkdir(parents=True, exist_ok=True)
        (home / "index.html").write_text(f"{name}\n")
        (home / "httpd.conf").write_text("E404:index.html\n")  # any path answers the name (as a 404)
        for cgi, script in (("slow", CGI["slow"] % name), ("health", CGI[health])):
            (home / "cgi-bin" / cgi).write_text(f"#!/bin/sh\n{script}\n")
            (home / "cgi-bin" / cgi).chmod(0o755)
        self._start(name, port, "busybox", "httpd", "-f", "-p", f"{SERVER_IP}:{port}", "-h", str(home),
                    "-c", str(home / "httpd.conf"))

    def serve_kept_alive(self, name: str, port: int) -> None:
        """An HTTP/1.1 server at SERVER_IP:port that answers "<name>" and keeps the connection."""
        self._start(name, port, sys.executable, "-c", KEPT_ALIVE, name, SERVER_IP, str(port))

    def _start(self, name: str, port: int, *command: str) -> None:
        self.httpd[name] = subprocess.Popen(["nsenter", f"--net=/run/netns/{self.servers}", "--", *command])
        deadline = time.monotonic() + 5
        while in_ns(self.servers, "curl", "-s", "-o", "/dev/null", f"http://{SERVER_IP}:{port}/").returncode != 0:
            assert time.monotonic() < deadline, f"httpd {name} did not listen"
            time.sleep(0.05)

    def kill(self, name: str) -> None:
        process = self.httpd.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def get(self, url: str, *curl: str) -> str:
        """What the client namespace gets from url: the body, or with -i the whole answer."""
        return in_ns(self.client, "curl", "-s", "--max-time", "20", *curl, url).stdout

    def destroy(self) -> None:
        for name in list(self.httpd):
            self.kill(name)
        for ns in (self.client, self.proxy, self.servers):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
