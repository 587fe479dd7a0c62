"""Registry push and pull throughput: cloudlet's registry (the OCI distribution API that
`cloudlet up` serves for ECR) beside Debian's docker-registry (the CNCF distribution
registry), in the same run, on the same machine, with skopeo as the client.

    .venv/bin/python -m bench.registry [--runs 3]

Two images, built here as OCI layouts of gzip tars of random (incompressible) bytes:
a 200 MB image of one layer and an image of 50 layers of 1 to 2 MB each.
Push: `skopeo copy oci:DIR:tag docker://HOST/REPO:tag`; pull: `skopeo copy
docker://HOST/REPO:tag oci:OUT` into a fresh directory. Each run builds the images anew
(a registry that already holds a blob lets skopeo skip it) and pushes, then pulls, each
one to and from both registries. MB/s is 10^6 bytes of blobs (layers and config) per
second of skopeo's wall time, its start and the registry's auth included; the table
shows the median over the runs.

docker-registry runs with Debian's stock configuration minus its htpasswd auth and its
access log; cloudlet's registry with ECR's auth (the token from GetAuthorizationToken),
as a user logs in. Both listen on plain HTTP: skopeo, told not to verify TLS, tries
HTTPS first and falls back, on either.
"""

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path
from random import Random

from tests.e2e.server import Server, free_port

MB = 10**6
IMAGES = {  # image name -> layer sizes in bytes
    "big": [200 * MB],
    "layers": [Random(0).randrange(1 * MB, 2 * MB) for _ in range(50)],
}
LABELS = {"big": "200 MB, 1 layer", "layers": "50 layers of 1-2 MB"}
GOALS = {"push": 0.8, "pull": 1.0}  # cloudlet / docker-registry
TAG = "bench"


def blob(layout: Path, data: bytes, media_type: str) -> dict:
    """Store data under its digest; returns its OCI descriptor."""
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def layer(size: int) -> tuple[bytes, str]:
    """A gzip tar of one file of random bytes, and its diff id (the digest of the tar)."""
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("data")
        info.size = size
        t.addfile(info, io.BytesIO(os.urandom(size)))
    raw = tar.getvalue()
    # Level 1: random bytes do not shrink at any level, and level 1 builds fastest.
    return gzip.compress(raw, compresslevel=1, mtime=0), f"sha256:{hashlib.sha256(raw).hexdigest()}"


def oci_image(layout: Path, sizes: list[int]) -> int:
    """Write an OCI layout holding one image (tag TAG) with a layer per size; returns
    the bytes of its blobs, what a push or pull moves."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    layers, diff_ids = [], []
    for size in sizes:
        data, diff_id = layer(size)
        layers.append(blob(layout, data, "application/vnd.oci.image.layer.v1.tar+gzip"))
        diff_ids.append(diff_id)
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    config = blob(layout, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config, "layers": layers}
    descriptor = blob(layout, json.dumps(manifest).encode(), manifest["mediaType"])
    descriptor["annotations"] = {"org.opencontainers.image.ref.name": TAG}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    return config["size"] + sum(d["size"] for d in layers)


def skopeo_copy(src: str, dest: str, *flags: str) -> float:
    """Seconds one `skopeo copy` takes."""
    t0 = time.perf_counter()
    proc = subprocess.run(["skopeo", "copy", "--quiet", *flags, src, dest], capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"skopeo copy {src} {dest} failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed


class Cloudlet:
    """`cloudlet up`: repositories made through ECR's API, skopeo logged in with its token."""

    name = "cloudlet"

    def __init__(self, root: Path):
        self.server = Server(root)
        self.host = f"127.0.0.1:{self.server.port}"

    def start(self) -> None:
        self.server.start()
        ecr = self.server.client("ecr")
        for image in IMAGES:
            ecr.create_repository(repositoryName=f"bench/{image}")
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        self.creds = base64.b64decode(token).decode()  # "AWS:<password>"

    def stop(self) -> None:
        self.server.stop()


class DockerRegistry:
    """Debian's docker-registry on a free port, storing under root, no auth."""

    name = "docker-registry"
    creds = None

    def __init__(self, root: Path):
        self.root = root
        self.host = f"127.0.0.1:{free_port()}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True)
        config = self.root / "config.yml"
        # Debian's /etc/docker/registry/config.yml without auth (JSON is YAML), and without
        # the access log and info lines: cloudlet up logs neither.
        config.write_text(json.dumps({
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"cache": {"blobdescriptor": "inmemory"}, "delete": {"enabled": True},
                        "filesystem": {"rootdirectory": str(self.root / "data")}},
            "http": {"addr": self.host, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        }))
        log = self.root / "registry.log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(["/usr/bin/docker-registry", "serve", str(config)],
                                         stdout=out, stderr=subprocess.STDOUT)
        for _ in range(200):
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not answer: {log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()


def push(layout: Path, ref: str, registry) -> float:
    creds = [f"--dest-creds={registry.creds}"] if registry.creds else []
    return skopeo_copy(f"oci:{layout}:{TAG}", ref, "--dest-tls-verify=false", *creds)


def pull(ref: str, out: Path, registry) -> float:
    creds = [f"--src-creds={registry.creds}"] if registry.creds else []
    try:
        return skopeo_copy(ref, f"oci:{out}", "--src-tls-verify=false", *creds)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def measure(scratch: Path, registries: list, runs: int) -> dict:
    """MB/s samples per (image, direction, registry name)."""
    samples = {}
    for run in range(runs):
        # Alternate which registry goes first, so neither always meets the colder caches.
        order = registries if run % 2 == 0 else registries[::-1]
        for image, sizes in IMAGES.items():
            layout = scratch / "src" / image
            moved = oci_image(layout, sizes)
            for registry in order:
                ref = f"docker://{registry.host}/bench/{image}:{run}"
                seconds = {"push": push(layout, ref, registry), "pull": pull(ref, scratch / "pull", registry)}
                for direction, took in seconds.items():
                    samples.setdefault((image, direction, registry.name), []).append(moved / MB / took)
            shutil.rmtree(layout)
    return samples


def table(samples: dict, runs: int) -> None:
    version = subprocess.run(["skopeo", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version}, {runs} runs, median MB/s (10^6 bytes of blobs per second), {os.cpu_count()} cores")
    print(f"{'image':<22}{'direction':<10}{'cloudlet':>10}{'docker-registry':>17}{'ratio':>8}  goal")
    for image in IMAGES:
        for direction, goal in GOALS.items():
            ours = statistics.median(samples[image, direction, "cloudlet"])
            peer = statistics.median(samples[image, direction, "docker-registry"])
            verdict = "met" if ours >= goal * peer else "MISSED"
            print(f"{LABELS[image]:<22}{direction:<10}{ours:>10.1f}{peer:>17.1f}{ours / peer:>8.2f}"
                  f"  >= {goal:.2f} {verdict}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="clbench-registry", dir="/var/tmp"))
    registries = [Cloudlet(scratch / "cloudlet"), DockerRegistry(scratch / "docker-registry")]
    try:
        for registry in registries:
            registry.start()
        table(measure(scratch, registries, args.runs), args.runs)
    finally:
        for registry in registries:
            registry.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
