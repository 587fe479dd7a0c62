"""The registry with the real clients: skopeo and podman push and pull, `cloudlet push` and
`cloudlet pull` share the engine's blobs, and an image pushed with skopeo runs with
`cloudlet run`. The server and the engine share one data dir, as under `cloudlet up`."""

import base64
import json
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from engine_fixtures import busybox_home

from tests.e2e.server import Server
from tests.hostcaps import need_binaries

pytestmark = [pytest.mark.root, pytest.mark.runc]


class Clients:
    def __init__(self, home, server, tmp):
        self.home, self.server, self.tmp = home, server, tmp
        self.ecr = server.client("ecr")
        token = self.ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        self.creds = base64.b64decode(token).decode()
        self.registry = f"127.0.0.1:{server.port}"
        # podman refuses a runroot longer than 50 characters: pytest's tmp paths can be
        self.podman_dir = Path(tempfile.mkdtemp(prefix="pm", dir="/tmp"))
        self.podman_base = ["podman", "--root", str(self.podman_dir / "root"), "--runroot", str(self.podman_dir / "run"),
                            "--events-backend", "none", "--cgroup-manager", "cgroupfs"]

    @staticmethod
    def _run(*command: str) -> str:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise AssertionError(f"{command[0]} exited {proc.returncode}: {proc.stderr}")
        return proc.stdout

    def skopeo(self, *args: str) -> str:
        return self._run("skopeo", *args)

    def push(self, archive, ref: str) -> None:
        self.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", self.creds, f"oci-archive:{archive}",
                    f"docker://{self.registry}/{ref}")

    def podman(self, *args: str) -> str:
        return self._run(*self.podman_base, *args)


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    need_binaries("skopeo", "podman")
    with busybox_home() as home:
        tmp = tmp_path_factory.mktemp("registry")
        server = Server(tmp / "up")
        server.data_dir = home.data_dir
        server.start()
        c = Clients(home, server, tmp)
        try:
            yield c
        finally:
            subprocess.run([*c.podman_base, "system", "reset", "-f"], capture_output=True)
            shutil.rmtree(c.podman_dir, ignore_errors=True)
            server.stop()


def test_an_image_pushed_with_skopeo_runs_with_cloudlet(clients, tmp_path):
    home = clients.home
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo pushed-over-the-wire > /hello\n")
    home.cli("build", "-t", "hello:1", str(tmp_path))
    home.cli("save", "hello:1", "-o", str(tmp_path / "hello.tar"))
    home.cli("image", "rm", "hello:1")
    home.cli("system", "prune", "-f")  # its own layer is gone from the engine: only skopeo can bring it back
    clients.ecr.create_repository(repositoryName="shop/web")
    clients.push(tmp_path / "hello.tar", "shop/web:1.0")
    details = clients.ecr.describe_images(repositoryName="shop/web")["imageDetails"]
    assert [d["imageTags"] for d in details] == [["1.0"]]
    home.cli("pull", "shop/web:1.0")
    out = home.cli("run", "--rm", "--network", "none", "shop/web:1.0", "cat", "/hello").stdout
    assert out == "pushed-over-the-wire\n"


def test_podman_pulls_and_pushes(clients):
    clients.ecr.create_repository(repositoryName="podman/bb")
    clients.home.cli("push", "busybox", "podman/bb:1")
    ref = f"{clients.registry}/podman/bb"
    clients.podman("pull", "--tls-verify=false", "--creds", clients.creds, f"{ref}:1")
    clients.podman("tag", f"{ref}:1", f"{ref}:2")
    clients.podman("push", "--tls-verify=false", "--creds", clients.creds, f"{ref}:2")
    tags = clients.ecr.list_images(repositoryName="podman/bb", filter={"tagStatus": "TAGGED"})["imageIds"]
    assert sorted(i["imageTag"] for i in tags) == ["1", "2"]
    inspected = json.loads(clients.skopeo("inspect", "--tls-verify=false", "--creds", clients.creds,
                                          f"docker://{ref}:2"))
    assert inspected["Os"] == "linux" and sorted(inspected["RepoTags"]) == ["1", "2"]


def test_cloudlet_push_shares_blobs_and_skopeo_reads_them(clients, tmp_path):
    clients.ecr.create_repository(repositoryName="shared/bb")
    home = clients.home
    pushed = home.cli("push", "busybox", "shared/bb").stdout.split("digest: ")[1].strip()
    engine_digest = home.engine().images.get("busybox").digest
    assert pushed == engine_digest
    clients.skopeo("copy", "--src-tls-verify=false", "--src-creds", clients.creds,
                   f"docker://{clients.registry}/shared/bb:latest", f"oci:{tmp_path / 'out'}:bb")
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == engine_digest
    refused = home.cli("push", "busybox", "no/such-repo:1", check=False)
    assert refused.returncode == 125 and "does not exist" in refused.stderr


def test_concurrent_pushes_of_shared_layers(clients, tmp_path):
    clients.home.cli("save", "busybox", "-o", str(tmp_path / "bb.tar"))
    repos = [f"race/r{i}" for i in range(4)]
    for r in repos:
        clients.ecr.create_repository(repositoryName=r)
    failures = []

    def push(r):
        try:
            clients.push(tmp_path / "bb.tar", f"{r}:1")
        except AssertionError as e:
            failures.append(str(e))

    threads = [threading.Thread(target=push, args=(r,)) for r in repos]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    digests = {clients.ecr.describe_images(repositoryName=r)["imageDetails"][0]["imageDigest"] for r in repos}
    assert len(digests) == 1
