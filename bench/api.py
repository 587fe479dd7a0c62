"""DescribeKeyPairs with 1,000 key pairs from N concurrent boto3 clients: requests/s, p50/p99.

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
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

from tests.e2e.server import Server, free_port


def make_client(endpoint, key, secret):
    return boto3.session.Session().client(
        "ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}, max_pool_connections=64),
    )


def fill(client, count: int):
    existing = len(client.describe_key_pairs()["KeyPairs"])
    for n in range(existing, count):
        client.create_key_pair(KeyName=f"bench-{n:04}", KeyType="ed25519")


def load(endpoint, key, secret, clients: int, seconds: float, expect: int):
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker():
        client = make_client(endpoint, key, secret)
        mine = []
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            pairs = client.describe_key_pairs()["KeyPairs"]
            mine.append(time.perf_counter() - t0)
            assert len(pairs) == expect, len(pairs)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,4,16")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]

    targets = []
    root = Path(tempfile.mkdtemp(prefix="cloudlet-bench-"))
    server = Server(root).start()
    prof = server.profile()
    targets.append(("cloudlet", server, server.endpoint, prof["aws_access_key_id"], prof["aws_secret_access_key"]))
    if shutil.which("moto_server", path=str(Path(sys.executable).parent)):
        moto = Moto().start()
        targets.append(("moto", moto, moto.endpoint, "testing", "testing"))
    else:
        print("moto not installed: `pip install 'moto[server]'` to measure the peer", file=sys.stderr)
    try:
        print(f"DescribeKeyPairs, {args.keys} key pairs, {args.seconds:.0f} s per row, {os.cpu_count()} cores")
        print(f"{'target':<10} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for name, _proc, endpoint, key, secret in targets:
            fill(make_client(endpoint, key, secret), args.keys)
            for clients in counts:
                rps, p50, p99 = load(endpoint, key, secret, clients, args.seconds, args.keys)
                print(f"{name:<10} {clients:>7} {rps:>8.1f} {p50:>8.1f} {p99:>8.1f}", flush=True)
    finally:
        for _name, proc, *_ in targets:
            proc.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
