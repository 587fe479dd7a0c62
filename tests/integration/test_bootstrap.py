"""Base images made from Debian packages, run for real: nginx answers on a published port,
python runs, and a second bootstrap is a cache hit with the same digests."""

import time
import urllib.request

import pytest
from engine_fixtures import EngineHome

from tests.hostcaps import need_binaries, need_root

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]


@pytest.fixture(scope="module")
def home():
    need_root()
    need_binaries("mmdebstrap", "runc", "conmon", "nft", "busybox")
    h = EngineHome()
    try:
        h.cli("image", "bootstrap", timeout=900)
        yield h
    finally:
        h.destroy()


def test_tags_and_configs(home):
    listed = home.cli("image", "ls").stdout
    for repo, tag in [("busybox", "latest"), ("debian", "bookworm-slim"), ("debian", "12"), ("nginx", "latest"),
                      ("python", "3.11")]:
        assert any(line.split()[:2] == [repo, tag] for line in listed.splitlines()), (repo, tag, listed)
    images = home.engine().images
    nginx = images.get("nginx")
    assert nginx.config.runtime["ExposedPorts"] == {"80/tcp": {}}
    assert nginx.config.runtime["StopSignal"] == "SIGQUIT"
    # nginx is debian plus one layer of its own
    assert [ly.digest for ly in nginx.layers[:-1]] == [ly.digest for ly in images.get("debian:bookworm-slim").layers]


def test_nginx_answers_on_published_port(home):
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


def test_python_runs(home):
    out = home.cli("run", "--rm", "python:3.11", "python", "-c", "import sys, venv; print(sys.version_info[:2])")
    assert out.stdout.strip() == "(3, 11)"


def test_second_bootstrap_is_cached_and_identical(home):
    before = {ref: digest for ref, digest in home.engine().images.tags().items()}
    started = time.monotonic()
    out = home.cli("image", "bootstrap").stdout
    assert time.monotonic() - started < 10  # a process start and four cache lookups
    assert out.count(": cached") == 4
    assert home.engine().images.tags() == before
