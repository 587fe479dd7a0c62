"""Images against real tools: overlayfs stacking our unpacked layers, skopeo reading and
writing the archives we read and write."""

import json
import subprocess

import pytest

from cloudlet.agent.images import ImageStore, LayerInfo, export_archive, flatten, import_archive, oci
from cloudlet.agent.snapshots import Snapshotter
from tests.hostcaps import need_binaries, need_root
from tests.unit.test_images_helpers import compress, d, f, sha, sym, tar

LOWER = tar(d("a"), f("a/gone", b"1"), f("a/kept", b"2"), d("b"), f("b/old", b"3"), d("b/sub"),
            f("b/sub/deep", b"4"), d("c"), f("c/x", b"5"), sym("link", "a/kept"))
UPPER = tar(f("a/.wh.gone"), f(".wh.c"), d("b"), f("b/.wh..wh..opq"), f("b/new", b"6"), f("a/added", b"7"))


def _tree(root):
    return sorted((p.relative_to(root).as_posix(), p.read_bytes() if p.is_file() else None)
                  for p in root.rglob("*"))


def _image(store):
    layers = []
    for layer in (LOWER, UPPER):
        blob = compress(layer, "gzip")
        layers.append(LayerInfo(store.content.write(blob), sha(layer), len(blob), oci.OCI_LAYER_GZIP))
    return store.commit({"config": {"Cmd": ["/bin/sh"]}}, layers, tag="localhost/test:1")


@pytest.mark.root
def test_overlayfs_stacks_unpacked_layers_as_flatten_applies_them(tmp_path):
    need_root()
    store = ImageStore(tmp_path / "images")
    image = _image(store)
    dirs = store.layer_dirs(image)
    snaps = Snapshotter(tmp_path / "snapshots")
    try:
        merged = snaps.prepare("view", dirs, readonly=True)
        seen = _tree(merged)
    finally:
        snaps.remove("view")
    expected = tmp_path / "flat"
    with store.content.open(image.manifest.layers[0].digest) as a, store.content.open(image.manifest.layers[1].digest) as b:
        flatten([a, b], expected)
    assert seen == _tree(expected)
    assert [p for p, _ in seen] == ["a", "a/added", "a/kept", "b", "b/new", "link"]


@pytest.fixture
def skopeo():
    need_binaries("skopeo")

    def run(*args):
        return subprocess.run(["skopeo", "--insecure-policy", *args], check=True, capture_output=True,
                              text=True, timeout=60).stdout
    return run


def test_skopeo_reads_our_archives(tmp_path, skopeo):
    store = ImageStore(tmp_path / "images")
    image = _image(store)
    export_archive(store, ["localhost/test:1"], tmp_path / "oci.tar")
    export_archive(store, ["localhost/test:1"], tmp_path / "docker.tar", format="docker")
    raw = skopeo("inspect", "--raw", f"oci-archive:{tmp_path / 'oci.tar'}")
    assert store.content.read(image.digest) == raw.encode()
    config = json.loads(skopeo("inspect", "--config", f"docker-archive:{tmp_path / 'docker.tar'}"))
    assert config["rootfs"]["diff_ids"] == image.config.diff_ids
    # A copy verifies every blob's digest on the way.
    skopeo("copy", f"oci-archive:{tmp_path / 'oci.tar'}", f"oci:{tmp_path / 'copy'}:x")
    skopeo("copy", f"docker-archive:{tmp_path / 'docker.tar'}", f"oci:{tmp_path / 'copy2'}:y")


def test_we_read_skopeos_archives(tmp_path, skopeo):
    ours = ImageStore(tmp_path / "ours")
    image = _image(ours)
    export_archive(ours, ["localhost/test:1"], tmp_path / "oci.tar")
    skopeo("copy", f"oci-archive:{tmp_path / 'oci.tar'}", f"docker-archive:{tmp_path / 'theirs.tar'}:localhost/x:1")
    skopeo("copy", f"oci-archive:{tmp_path / 'oci.tar'}", f"oci-archive:{tmp_path / 'theirs-oci.tar'}:localhost/y:2")
    store = ImageStore(tmp_path / "images")
    [docker] = import_archive(store, tmp_path / "theirs.tar")
    [layout] = import_archive(store, tmp_path / "theirs-oci.tar")
    assert (docker.reference, docker.image.id) == ("localhost/x:1", image.id)
    assert (layout.reference, layout.image.digest) == ("localhost/y:2", image.digest)
    assert [p.name for p in store.layer_dirs(docker.image)] == [p.name for p in ours.layer_dirs(image)]
