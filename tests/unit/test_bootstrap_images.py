"""The busybox base image: its contents, the same digest from two stores, and the cache
(hit, miss when the recipe changes, rebuild when the image is gone, tags put back)."""

import io
import json
import shutil
import tarfile

import pytest

from cloudlet.agent.images import ImageStore
from cloudlet.bootstrap import images
from cloudlet.bootstrap.images import bootstrap

pytestmark = pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get (bootstrap/busybox.py)")


def layer_files(store: ImageStore, ref: str) -> dict[str, tuple[tarfile.TarInfo, bytes | None]]:
    (layer,) = store.get(ref).layers
    with store.content.open(layer.digest) as f, tarfile.open(fileobj=io.BytesIO(f.read())) as tf:
        return {m.name: (m, tf.extractfile(m).read() if m.isreg() else None) for m in tf.getmembers()}


def test_busybox_image(tmp_path):
    store = ImageStore(tmp_path)
    digests = bootstrap(store, ["busybox"])
    assert set(digests) == {"busybox"}
    image = store.get("busybox")  # the short name is busybox:latest
    assert image.digest == digests["busybox"] == store.get("busybox:latest").digest
    assert image.config.runtime["Cmd"] == ["sh"]
    assert image.config.doc["created"] == "2023-06-10T00:00:00Z"
    files = layer_files(store, "busybox")
    assert files["bin/busybox"][0].mode == 0o755
    for applet in ("sh", "ls", "wget", "httpd"):
        assert files[f"bin/{applet}"][0].issym() and files[f"bin/{applet}"][0].linkname == "busybox"
    assert files["tmp"][0].mode == 0o1777
    assert b"nobody:x:65534:65534" in files["etc/passwd"][1]
    assert files["etc/group"][1].splitlines() == [b"root:x:0:", b"nogroup:x:65534:"]
    assert {m.mtime for m, _ in files.values()} == {1686355200}


def test_busybox_is_reproducible_and_cached(tmp_path):
    first = bootstrap(ImageStore(tmp_path / "a"), ["busybox"])
    assert bootstrap(ImageStore(tmp_path / "b"), ["busybox:latest"]) == first  # a tag names its recipe too
    store = ImageStore(tmp_path / "a")
    messages = []
    assert bootstrap(store, ["busybox"], progress=messages.append) == first
    assert messages == ["busybox:latest: cached"]

    store.untag("busybox:1.37")
    assert bootstrap(store, ["busybox"]) == first
    assert store.get("busybox:1.37").digest == first["busybox"]  # a tag removed by hand comes back


def test_a_changed_recipe_or_a_lost_image_is_rebuilt(tmp_path, monkeypatch):
    store = ImageStore(tmp_path)
    first = bootstrap(store, ["busybox"])
    messages = []
    monkeypatch.setattr(images, "RECIPE_VERSION", images.RECIPE_VERSION + 1)
    assert bootstrap(store, ["busybox"], progress=messages.append) == first  # same content, same digest
    assert messages[0].startswith("busybox:latest: built in ")

    cache = json.loads((tmp_path / "bootstrap.json").read_text())
    cache["busybox"]["digest"] = "sha256:" + "0" * 64  # an image that is not in the store
    (tmp_path / "bootstrap.json").write_text(json.dumps(cache))
    messages.clear()
    assert bootstrap(store, ["busybox"], progress=messages.append) == first
    assert messages[0].startswith("busybox:latest: built in ")
    assert not list(tmp_path.glob("bootstrap-*"))  # the work directory is gone


def test_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="choose from busybox, debian, nginx, python"):
        bootstrap(ImageStore(tmp_path), ["windows"])
