"""Trees made into layers: busybox reproducibly, and the difference of two trees with
whiteouts for what the upper one removed."""

import io
import os
import shutil
import tarfile

import pytest

from cloudlet.agent.images import ImageStore
from cloudlet.bootstrap import trees
from cloudlet.bootstrap.images import bootstrap


def entries(store: ImageStore, digest: str) -> dict[str, tarfile.TarInfo]:
    with store.content.open(digest) as f:
        with tarfile.open(fileobj=io.BytesIO(f.read())) as tf:
            return {m.name: m for m in tf.getmembers()}


def test_diff_adds_changes_and_whiteouts(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for root in (lower, upper):
        (root / "etc").mkdir(parents=True)
        (root / "etc/same").write_text("same")
        (root / "etc/changed").write_text("v1")
    (lower / "etc/gone").write_text("x")
    (lower / "olddir/deep").mkdir(parents=True)
    (upper / "etc/changed").write_text("v2")
    (upper / "etc/new").write_text("new")
    (upper / "etc/link").symlink_to("new")
    (lower / "etc/mode").write_text("m")
    shutil.copy(lower / "etc/mode", upper / "etc/mode")
    os.chmod(upper / "etc/mode", 0o600)
    store = ImageStore(tmp_path / "store")
    layer = store.write_layer(lambda w: trees.diff(lower, upper, w))
    names = set(entries(store, layer.digest))
    assert {"etc/changed", "etc/new", "etc/link", "etc/mode", "etc/.wh.gone", ".wh.olddir"} <= names
    assert "etc/same" not in names and not any(n.startswith("olddir/") for n in names)


@pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox (busybox-static)")
def test_busybox_image_is_reproducible_and_cached(tmp_path):
    first = bootstrap(ImageStore(tmp_path / "a"), ["busybox"])
    second = bootstrap(ImageStore(tmp_path / "b"), ["busybox"])
    assert first == second
    store = ImageStore(tmp_path / "a")
    messages = []
    assert bootstrap(store, ["busybox"], progress=messages.append) == first
    assert messages == ["busybox:latest: cached"]
    layer = store.get("busybox").layers[0]
    files = entries(store, layer.digest)
    assert files["bin/sh"].issym() and files["bin/sh"].linkname == "busybox"
    assert {m.mtime for m in files.values()} == {1686355200}
    with pytest.raises(ValueError):
        bootstrap(store, ["windows"])
