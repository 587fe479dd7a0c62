"""The four base images made from Debian packages, once, and run for real: tags and
configs as on Docker Hub, nginx answers on a published port with its access log in the
container's output, python and pip run, and a second bootstrap is an instant cache hit
with the same digests.

One test, so that the build (about a minute) happens once even when pytest-xdist hands
out tests one by one (`-n 2` without `--dist loadfile`); its steps are the functions below.
"""

import contextlib
import re
import time
import urllib.request

import pytest
from engine_fixtures import EngineHome

from cloudlet.agent.images import flatten
from cloudlet.bootstrap.images import bootstrap
from tests.hostcaps import need_binaries, need_root

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]


def check_tags_and_configs(home: EngineHome) -> None:
    listed = home.cli("image", "ls").stdout
    for repo, tag in [("busybox", "latest"), ("debian", "bookworm-slim"), ("debian", "12"), ("nginx", "latest"),
                      ("python", "3.11"), ("python", "3.11-slim"), ("python", "3")]:
        assert any(line.split()[:2] == [repo, tag] for line in listed.splitlines()), (repo, tag, listed)
    images = home.engine().images
    debian, nginx, python = (images.get(ref) for ref in ("debian:bookworm-slim", "nginx", "python:3.11"))
    assert debian.config.runtime["Cmd"] == ["bash"] and len(debian.layers) == 1
    assert any(e.startswith("PATH=/usr/local/sbin:") for e in debian.config.runtime["Env"])
    assert nginx.config.runtime["ExposedPorts"] == {"80/tcp": {}}
    assert nginx.config.runtime["StopSignal"] == "SIGQUIT"
    assert nginx.config.runtime["Cmd"] == ["nginx", "-g", "daemon off;"]
    assert python.config.runtime["Cmd"] == ["python3"]
    for image in (nginx, python):  # debian plus one layer of their own
        assert [ly.digest for ly in image.layers[:-1]] == [ly.digest for ly in debian.layers]
        assert len(image.config.doc["history"]) == len(image.layers)


def check_nginx_rootfs(home: EngineHome, tmp_path) -> None:
    images = home.engine().images
    image = images.get("nginx")
    with contextlib.ExitStack() as stack:
        blobs = [stack.enter_context(images.content.open(ly.digest)) for ly in image.layers]
        flatten(blobs, tmp_path / "nginx", diff_ids=image.config.diff_ids)
    root = tmp_path / "nginx"
    assert (root / "usr/sbin/nginx").is_file()
    assert (root / "var/log/nginx/access.log").readlink().as_posix() == "/dev/stdout"
    assert not list((root / "usr/share/man").iterdir())  # slim
    assert (root / "usr/share/doc/nginx/copyright").is_file()
    assert (root / "etc/resolv.conf").read_text() == "" and not list((root / "var/lib/apt/lists").iterdir())


def check_nginx_serves(home: EngineHome) -> None:
    assert "nginx/1." in home.cli("run", "--rm", "--network", "none", "nginx", "nginx", "-v").stderr
    home.cli("run", "-d", "--name", "web", "-p", "28080:80", "--memory", "128m", "--cpus", "0.5", "nginx")
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:28080/", timeout=5) as r:
                assert b"Welcome to nginx!" in r.read()
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert '"GET / HTTP/1.1" 200' in home.cli("logs", "web").stdout  # access log goes to the container's stdout
    assert "bookworm" in home.cli("exec", "web", "cat", "/etc/os-release").stdout
    home.cli("stop", "web")  # SIGQUIT: nginx shuts down gracefully, exit 0
    assert "Exited (0)" in home.cli("ps", "-a").stdout
    home.cli("rm", "web")


def check_python_runs(home: EngineHome) -> None:
    run = ("run", "--rm", "--network", "none", "python:3.11")
    assert home.cli(*run, "python3", "-c", "print(1)").stdout.strip() == "1"
    out = home.cli(*run, "python", "-c", "import sys, venv, ensurepip; print(sys.version_info[:2])").stdout
    assert out.strip() == "(3, 11)"
    assert "pip 23" in home.cli(*run, "pip", "--version").stdout


def check_second_bootstrap_is_cached(home: EngineHome, first: dict[str, str]) -> None:
    images = home.engine().images
    tags = images.tags()
    messages = []
    started = time.monotonic()
    assert bootstrap(images, progress=messages.append) == first
    assert time.monotonic() - started < 1
    assert messages == [f"{ref}: cached" for ref in ("busybox:latest", "debian:bookworm-slim", "nginx:latest",
                                                      "python:3.11")]
    assert images.tags() == tags


@pytest.mark.timeout(600)
def test_bootstrap_four_images_and_run_them(tmp_path):
    need_root()
    need_binaries("mmdebstrap", "unshare", "runc", "conmon", "nft", "busybox")
    home = EngineHome()
    try:
        out = home.cli("image", "bootstrap", timeout=540).stdout
        assert out.count(": built in") == 4, out
        # each build a step of the terminal's progress: begun, then done, with its time
        assert all(f"image {ref} ..." in out and re.search(rf"image {re.escape(ref)}: done in [0-9.]+ s", out)
                   for ref in ("busybox:latest", "debian:bookworm-slim", "nginx:latest", "python:3.11")), out
        first = {name: home.engine().images.get(ref).digest for name, ref in
                 [("busybox", "busybox"), ("debian", "debian:12"), ("nginx", "nginx"), ("python", "python:3")]}
        check_tags_and_configs(home)
        check_nginx_rootfs(home, tmp_path)
        check_nginx_serves(home)
        check_python_runs(home)
        check_second_bootstrap_is_cached(home, first)
    finally:
        home.destroy()
