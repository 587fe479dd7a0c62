"""DescribeKeyPairs with 1,000 key pairs from N concurrent clients: requests/s, p50/p99, both
with boto3 clients (what a program sees) and with raw signed requests (the server's share).

Peer: moto's server (the common AWS mock), measured in the same run on the same machine
when installed (`pip install 'moto[server]'`).

    .venv/bin/python -m bench.api [--keys 1000] [--seconds 5] [--clients 1,4,16]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
import time
from pathlib import Path

import http.client
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.e2e.server import Server, free_port


BODY = b"Action=DescribeKeyPairs&Version=2016-11-15"


def make_client(endpoint, key, secret):
    return boto3.session.Session().client(
        "ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}, max_pool_connections=64),
    )


def fill(client, count: int):
    existing = len(client.describe_key_pairs()["KeyPairs"])
    for n in range(existing, count):
        client.create_key_pair(KeyName=f"bench-{n:04}", KeyType="ed25519")


def signed_request(host: str, key: str, secret: str) -> tuple[bytes, dict]:
    """A freshly signed DescribeKeyPairs, as boto3 would send it."""
    request = AWSRequest("POST", f"http://{host}/", data=BODY,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key, secret), "ec2", "us-east-1").add_auth(request)
    return BODY, dict(request.headers.items())


def raw_client(endpoint, key, secret, seconds: float, expect: int) -> list[float]:
    """Signs every request as boto3 does but skips boto3's XML parsing: the server's share."""
    host = urlsplit(endpoint).netloc
    conn = http.client.HTTPConnection(host, timeout=60)
    latencies = []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        body, headers = signed_request(host, key, secret)
        t0 = time.perf_counter()
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        latencies.append(time.perf_counter() - t0)
        if resp.status != 200 or data.count(b"<keyName>") != expect:
            raise RuntimeError(f"status {resp.status}, {data.count(b'<keyName>')} key pairs")
    conn.close()
    return latencies


def boto3_client(endpoint, key, secret, seconds: float, expect: int) -> list[float]:
    """What a user's program sees: a boto3 client, response parsing included."""
    client = make_client(endpoint, key, secret)
    latencies = []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        t0 = time.perf_counter()
        pairs = client.describe_key_pairs()["KeyPairs"]
        latencies.append(time.perf_counter() - t0)
        if len(pairs) != expect:
            raise RuntimeError(f"{len(pairs)} key pairs")
    return latencies


def load(kind, endpoint, key, secret, clients: int, seconds: float, expect: int):
    """Clients run in processes so that the load generator's own GIL does not cap the figure."""
    with ProcessPoolExecutor(clients) as pool:
        started = time.monotonic()
        futures = [pool.submit(kind, endpoint, key, secret, seconds, expect) for _ in range(clients)]
        latencies = sorted(x for f in futures for x in f.result())
        elapsed = time.monotonic() - started
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return len(latencies) / elapsed, pick(0.50), pick(0.99)


class Moto:
    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def start(self):
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent))
        self.proc = subprocess.Popen([exe, "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                make_client(self.endpoint, "testing", "testing").describe_regions()
                return self
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("moto_server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def cloudlet_and_moto(root: Path) -> list[tuple]:
    """(name, process, endpoint, key, secret) of a cloudlet server in root, and of moto's
    server when it is installed."""
    server = Server(root).start()
    prof = server.profile()
    targets = [("cloudlet", server, server.endpoint, prof["aws_access_key_id"], prof["aws_secret_access_key"])]
    if shutil.which("moto_server", path=str(Path(sys.executable).parent)):
        moto = Moto().start()
        targets.append(("moto", moto, moto.endpoint, "testing", "testing"))
    else:
        print("moto not installed: `pip install 'moto[server]'` to measure the peer", file=sys.stderr)
    return targets


def stop(targets: list[tuple], root: Path) -> None:
    for _name, proc, *_ in targets:
        proc.stop()
    shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,4,16")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]

    root = Path(tempfile.mkdtemp(prefix="cloudlet-bench-"))
    targets = cloudlet_and_moto(root)
    try:
        print(f"DescribeKeyPairs, {args.keys} key pairs, {args.seconds:.0f} s per row, {os.cpu_count()} cores")
        print(f"{'target':<10} {'client':<6} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for name, _proc, endpoint, key, secret in targets:
            fill(make_client(endpoint, key, secret), args.keys)
            for kind in (boto3_client, raw_client):
                for clients in counts:
                    rps, p50, p99 = load(kind, endpoint, key, secret, clients, args.seconds, args.keys)
                    print(f"{name:<10} {kind.__name__[:-7]:<6} {clients:>7} {rps:>8.1f} {p50:>8.1f} {p99:>8.1f}",
                          flush=True)
    finally:
        stop(targets, root)


if __name__ == "__main__":
    main()
