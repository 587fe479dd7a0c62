"""An image's AMI disk (bootstrap/image_amis.py): the layers applied with their whiteouts,
cloudlet's guest files beside the image's own, never written through the image's symlinks,
the workload script's quoting of a hostile config (run for real in a chroot), the refusals,
the disk made once and found again, and the names root_disk takes."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cloudlet.agent.images import ImageStore, LayerInfo
from cloudlet.bootstrap import amis, busybox, image_amis, trees, workload
from cloudlet.bootstrap.recipes import SUITE
from cloudlet.bootstrap.workload import WorkloadError
from tests.hostcaps import need_binaries, need_root
from tests.unit.test_images_helpers import d, f, sha, sym, tar

pytestmark = pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get (bootstrap/busybox.py)")

OPAQUE, WHITEOUT = ".wh..wh..opq", ".wh."


@pytest.fixture(scope="module")
def busybox_binary() -> Path:
    return busybox.binary(SUITE)


def image(store: ImageStore, config: dict, *layers: bytes):
    infos = [LayerInfo(store.content.write(data), sha(data), len(data), "application/vnd.oci.image.layer.v1.tar")
             for data in layers]
    return store.commit({"config": config}, infos)


def built(tmp_path, busybox_binary, config: dict, *layers: bytes) -> Path:
    store = ImageStore(tmp_path / "store")
    tree = tmp_path / "tree"
    image_amis.make_tree(store, image(store, config, *layers), tree, busybox_binary)
    return tree


LOWER = tar(f("bin/sh", b"#!the image's own shell\n", mode=0o755), f("a/gone", b"1"), f("a/kept", b"2"),
            f("b/old/x", b"3"), f("etc/os-release", b"ID=test\n"))
UPPER = tar(f(f"a/{WHITEOUT}gone"), f(f"b/{OPAQUE}"), f("b/new", b"4"))


def test_the_layers_with_their_whiteouts_and_the_guest_files_beside_the_image(tmp_path, busybox_binary):
    tree = built(tmp_path, busybox_binary, {"Cmd": ["/bin/sh", "-c", "true"]}, LOWER, UPPER)
    assert not (tree / "a/gone").exists() and (tree / "a/kept").read_bytes() == b"2"
    assert not (tree / "b/old").exists() and (tree / "b/new").read_bytes() == b"4"
    assert (tree / "bin/sh").read_bytes() == b"#!the image's own shell\n"  # not busybox's
    bin_dir = tree / "usr/lib/cloudlet/bin"
    assert trees.is_static(str(bin_dir / "busybox"))
    for applet in ("sh", "init", "ip", "wget", "nc", "acpid", "env"):
        assert os.readlink(bin_dir / applet) == "busybox"
    assert os.readlink(tree / "sbin/init") == "/usr/lib/cloudlet/bin/busybox"  # the image had none
    inittab = (tree / "etc/inittab").read_text()
    assert "::once:/usr/lib/cloudlet/agent.sh workload\n" in inittab
    assert "::respawn:/usr/lib/cloudlet/bin/busybox acpid" in inittab and " /bin/busybox" not in inittab
    agent = (tree / "usr/lib/cloudlet/agent.sh").read_text()
    assert agent.startswith("#!/usr/lib/cloudlet/bin/sh\n")
    assert "\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/cloudlet/bin\n" in agent
    assert (tree / "etc/acpi/power").read_text() == "#!/usr/lib/cloudlet/bin/sh\nexec /usr/lib/cloudlet/bin/busybox poweroff\n"
    assert (tree / "etc/cloudlet/login").read_text() == "root\n"
    assert (tree / "usr/lib/cloudlet/lib/setpriv").is_file()
    script = (tree / "etc/cloudlet/workload").read_text()
    assert script.startswith("#!/usr/lib/cloudlet/bin/sh\n") and "--reuid=0 --regid=0 --clear-groups" in script
    for d_ in ("proc", "sys", "dev", "run", "tmp", "var/lib/cloudlet"):
        assert (tree / d_).is_dir()


def test_an_image_keeps_its_own_init(tmp_path, busybox_binary):
    own = tar(f("usr/sbin/init", b"#!the image's init\n", mode=0o755), sym("sbin", "usr/sbin"),
              f("bin/true", b"", mode=0o755))
    tree = built(tmp_path, busybox_binary, {"Cmd": ["/bin/true"]}, own)
    assert os.readlink(tree / "sbin") == "usr/sbin"  # the image's merged /usr is kept
    assert (tree / "usr/sbin/init").read_bytes() == b"#!the image's init\n"
    assert os.readlink(tree / "usr/lib/cloudlet/bin/init") == "busybox"  # what the initramfs starts


def test_the_images_symlinks_never_lead_out_of_the_tree(tmp_path, busybox_binary):
    outside = tmp_path / "host"
    outside.mkdir()
    hostile = tar(sym("etc", str(outside)), sym("usr", str(outside)), sym("sbin", f"../../../..{outside}"),
                  sym("run", "/"), f("bin/true", b"", mode=0o755))
    tree = built(tmp_path, busybox_binary, {"Cmd": ["/bin/true"], "WorkingDir": "/etc/app"}, hostile)
    assert list(outside.iterdir()) == []
    inside = tree / str(outside).lstrip("/")  # where the links lead in the guest
    assert (inside / "inittab").is_file() and (inside / "cloudlet/workload").is_file()
    assert (inside / "lib/cloudlet/bin/busybox").is_file() and (inside / "app").is_dir()
    assert (tree / "run").is_dir() and not (tree / "run").is_symlink()  # a mount point, not a link


def test_a_hostile_config_is_quoted_and_runs_as_written(tmp_path, busybox_binary):
    need_root()  # chroot
    base = tmp_path / "base"
    trees.busybox(base, busybox_binary)
    store = ImageStore(tmp_path / "store")
    lower = store.write_layer(lambda w: w.add_tree(base))
    users = tar(d("etc"), f("etc/passwd", b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"),
                f("etc/group", b"root:x:0:\napp:x:1000:\nextra:x:2000:app\n"))
    upper = LayerInfo(store.content.write(users), sha(users), len(users), "application/vnd.oci.image.layer.v1.tar")
    evil = "$(touch /pwned1)`touch /pwned2`'\"\n; touch /pwned3 #"
    args = ["$(touch /pwned4)", "a'b\"c", "line\nbreak", "; touch /pwned5", "-i", "X=1"]
    config = {"Env": ["PATH=/bin", f"EVIL={evil}", "EMPTY="], "User": "app", "WorkingDir": "/work $(touch /pwned6)",
              "Entrypoint": ["sh", "-c", 'printf "[%s]\\n" "$@"; printf "{%s}\\n" "$EVIL" "$EMPTY"; '
                             'id -u; id -G; pwd; printf "%s\\n" "$HOME"', "sh"], "Cmd": args}
    tree = tmp_path / "tree"
    image_amis.make_tree(store, store.commit({"config": config}, [lower, upper]), tree, busybox_binary)
    done = subprocess.run(["chroot", str(tree), "/etc/cloudlet/workload"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "".join(f"[{a}]\n" for a in args) + f"{{{evil}}}\n{{}}\n1000\n1000 2000\n" \
        "/work $(touch /pwned6)\n/home/app\n"
    assert not [p for p in tree.rglob("pwned*") if p.is_file()] and not list(Path("/").glob("pwned*"))


@pytest.mark.parametrize("config, words", [
    ({"Cmd": ["/bin/true"], "Env": ["BAD-NAME=x"]}, "not an identifier: 'BAD-NAME'"),
    ({"Cmd": ["/bin/true"], "Env": ["$(reboot)=x"]}, "not an identifier"),
    ({"Cmd": ["/bin/true"], "Env": ["=x"]}, "not an identifier: ''"),
    ({"Cmd": ["/bin/true"], "Env": ["A=b\0c"]}, "NUL"),
    ({"Cmd": ["/bin/true", "a\0b"]}, "NUL"),
    ({"Cmd": "/bin/true"}, "not a list of strings"),
    ({"Cmd": ["/bin/true"], "User": "ghost"}, "unable to find user ghost"),
    ({"Cmd": ["/bin/true"], "User": "0:$(id)"}, "unable to find group $(id)"),
    ({"Cmd": ["/bin/true"], "User": "99999999999"}, "out of range"),
    ({"Cmd": ["/bin/true"], "WorkingDir": "/bin/true"}, "not a directory"),
    ({"Cmd": ["nothere"]}, 'exec: "nothere": executable file not found in $PATH'),
    ({}, "no Entrypoint or Cmd"),
])
def test_configs_that_cannot_run_are_refused(tmp_path, config, words):
    tree = tmp_path / "tree"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin/true").write_text("")
    (tree / "bin/true").chmod(0o755)
    with pytest.raises(WorkloadError) as err:
        workload.install(tree, config, ["setpriv"], "/env", "/sh")
    assert words in str(err.value)
    assert not (tree / "etc/cloudlet/workload").exists()


def test_the_disk_is_made_once_and_named_by_the_image(tmp_path, busybox_binary):
    need_binaries("mkfs.ext4", "qemu-img")
    store = ImageStore(tmp_path / "store")
    one = image(store, {"Cmd": ["/bin/sh"]}, LOWER)
    other = image(store, {"Cmd": ["/bin/sh", "-c", "exit 1"]}, LOWER)
    boot = tmp_path / "boot"
    name, gib = image_amis.root_disk(boot, store, one)
    assert amis.IMPORTED.fullmatch(name) and gib == amis.ROOT_GIB
    disk = amis.root_disk(boot, name)
    assert disk == boot / "amis" / f"{name}.qcow2"
    made = disk.stat().st_mtime_ns
    assert image_amis.root_disk(boot, store, one) == (name, gib) and disk.stat().st_mtime_ns == made
    assert image_amis.root_disk(boot, store, other)[0] != name
    assert sorted(p.name for p in (boot / "amis").iterdir()) == sorted(
        [f"{name}.qcow2", f"{image_amis.disk_name(other, busybox_binary)}.qcow2"])  # no leftovers


@pytest.mark.parametrize("name", ["image-0123456789ab", "image-0123456789ab\n", "image-0123456789AB",
                                  "image-0123456789abc", "../amis/image-0123456789ab", "/etc/passwd",
                                  "image-../../../etc", ""])
def test_root_disk_takes_names_never_paths(tmp_path, name):
    (tmp_path / "amis").mkdir()
    (tmp_path / "amis/image-0123456789AB.qcow2").write_text("")
    with pytest.raises(amis.AMIError):
        amis.root_disk(tmp_path, name)


def test_root_disk_finds_an_image_disk_that_was_made(tmp_path):
    (tmp_path / "amis").mkdir()
    (tmp_path / "amis/image-0123456789ab.qcow2").write_text("")
    assert amis.root_disk(tmp_path, "image-0123456789ab") == tmp_path / "amis/image-0123456789ab.qcow2"
