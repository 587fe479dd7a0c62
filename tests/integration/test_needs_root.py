"""Commands that can only work as root say so before they start (rather than fail deep inside
runc, nft or mmdebstrap); the ones that need no root still work. Run in a user namespace whose
user is 1000, so that the command is not root though it may read this checkout."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostcaps import need_binaries

CLOUDLET = str(Path(sys.executable).with_name("cloudlet"))


def as_user(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "--user", "--map-user=1000", "--map-group=1000", CLOUDLET, *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(cwd)})


@pytest.mark.parametrize("args, why", [
    (("up", "--port", "1"), "VMs, namespaces and firewall rules"),
    (("run", "busybox", "true"), "under runc"),
    (("start", "web"), "under runc"),
    (("exec", "web", "true"), "under runc"),
    (("build", "."), "RUN steps"),
    (("image", "bootstrap"), "mmdebstrap"),
    (("network", "create", "shop"), "bridge"),
])
def test_a_command_that_needs_root_says_so_first(tmp_path, args, why):
    need_binaries("unshare")
    done = as_user(*args, cwd=tmp_path)
    assert done.returncode == 1, done
    assert f"`cloudlet {' '.join(args[:2] if args[0] in ('image', 'network') else args[:1])}` needs root" in \
        done.stderr and why in done.stderr and "run it as root" in done.stderr
    assert not list(tmp_path.iterdir())  # nothing made on the way


def test_what_needs_no_root_works_without(tmp_path):
    need_binaries("unshare")
    assert as_user("image", "ls", cwd=tmp_path).returncode == 0
    assert as_user("up", "--help", cwd=tmp_path).returncode == 0
