"""Trees made into layers: the same tree always gives the same layer, and the difference
of two trees has whiteouts for what the upper one removed."""

import io
import os
import shutil
import sys
import tarfile

import pytest

from cloudlet.agent.images import ImageStore
from cloudlet.bootstrap import trees


def entries(store: ImageStore, digest: str) -> dict[str, tarfile.TarInfo]:
    with store.content.open(digest) as f:
        with tarfile.open(fileobj=io.BytesIO(f.read())) as tf:
            return {m.name: m for m in tf.getmembers()}


def make_tree(root, names, mtime):
    """The same files, made in the order of `names`, all dated `mtime`."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("link"):
            path.symlink_to("target")
        else:
            path.write_text(f"content of {name}\n")
            path.chmod(0o640 if "secret" in name else 0o644)
    os.link(root / "etc/a", root / "hardlink")
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (mtime, mtime), follow_symlinks=False)


def test_layer_of_a_tree_is_reproducible(tmp_path):
    names = ["etc/a", "etc/secret", "usr/bin/tool", "usr/lib/x/y", "usr/link", "var/log/z"]
    make_tree(tmp_path / "one", names, 1_000_000)
    make_tree(tmp_path / "two", list(reversed(names[:-1])) + names[-1:], 2_000_000)
    store = ImageStore(tmp_path / "store")
    first, second = (store.write_layer(lambda w, t=t: w.add_tree(t), mtime=1686355200) for t in
                     (tmp_path / "one", tmp_path / "two"))
    assert first == second
    files = entries(store, first.digest)
    assert list(files) == sorted(files)
    assert {m.mtime for m in files.values()} == {1686355200}
    assert files["etc/secret"].mode == 0o640 and files["usr/link"].linkname == "target"


def test_diff_adds_changes_and_whiteouts(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for root in (lower, upper):
        (root / "etc").mkdir(parents=True)
        (root / "etc/same").write_text("same")
        (root / "etc/changed").write_text("v1")
    (lower / "etc/gone").write_text("x")
    (lower / "olddir/deep").mkdir(parents=True)
    (lower / "nowfile/inside").mkdir(parents=True)
    (upper / "nowfile").write_text("a file where a directory was")
    (upper / "etc/changed").write_text("v2")
    (upper / "etc/new").write_text("new")
    (upper / "etc/link").symlink_to("new")
    (lower / "etc/mode").write_text("m")
    shutil.copy(lower / "etc/mode", upper / "etc/mode")
    os.chmod(upper / "etc/mode", 0o600)
    store = ImageStore(tmp_path / "store")
    layer = store.write_layer(lambda w: trees.diff(lower, upper, w))
    names = set(entries(store, layer.digest))
    assert names == {"etc/changed", "etc/new", "etc/link", "etc/mode", "etc/.wh.gone", ".wh.olddir", "nowfile"}


def test_is_static(tmp_path):
    (tmp_path / "script").write_text("#!/bin/sh\n")
    assert not trees.is_static(str(tmp_path / "script"))
    assert not trees.is_static(os.path.realpath(sys.executable))  # python links against libc
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("needs busybox (busybox-static)")
    assert trees.is_static(busybox)
