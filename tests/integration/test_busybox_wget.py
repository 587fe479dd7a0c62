"""The busybox image's wget as Docker Hub's: it fetches by address and by name, to stdout
and to a file, `-T` times out instead of crashing (Debian's bookworm busybox-static died of
a segmentation fault, exit 139, on any `wget -T N URL`), and a name that does not resolve
is a plain error exit."""

import json

import pytest
from engine_fixtures import busybox_home

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]


@pytest.fixture(scope="module")
def home():
    with busybox_home("nft", "ip") as h:
        h.cli("network", "create", "shop")
        h.cli("run", "-d", "--name", "web", "--network", "shop", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc")
        yield h


def wget(home, script: str, *options: str):
    return home.cli("run", "--rm", "--network", "shop", *options, "busybox", "sh", "-c", script, check=False)


@pytest.mark.parametrize("options", [(), ("--userns",)], ids=["root", "userns"])
def test_wget_by_name_and_address_to_stdout_and_file(home, options):
    address = json.loads(home.cli("inspect", "web").stdout)["IPAddress"]
    for host in ("web", address):
        out = wget(home, f"wget -qO- http://{host}/passwd && wget -q -O /tmp/g http://{host}/group && cat /tmp/g",
                   *options)
        assert out.returncode == 0, out
        assert out.stdout.startswith("root:x:0:0:") and "nogroup:x:65534:" in out.stdout


def test_wget_timeout_option_works(home):
    out = wget(home, "wget -T 5 -qO- http://web/group")
    assert (out.returncode, out.stdout.splitlines()[0]) == (0, "root:x:0:"), out
    # A server that takes the connection and never answers (nc, its input held open): -T ends the wait.
    out = wget(home, "sleep 5 | nc -l -p 81 >/dev/null & sleep 0.3; wget -T 1 -qO- http://127.0.0.1:81/")
    assert out.returncode == 1 and "download timed out" in out.stderr, out


@pytest.mark.parametrize("options", [(), ("-T", "2")], ids=["plain", "timeout"])
def test_a_name_that_does_not_resolve_is_an_error_exit(home, options):
    out = wget(home, f'wget {" ".join(options)} -q -O /tmp/x http://no-such-host.invalid/; echo "exit $?"')
    assert out.stdout.strip() == "exit 1" and "bad address 'no-such-host.invalid'" in out.stderr, out
