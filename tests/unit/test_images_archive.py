"""Loading and saving OCI layouts and docker-archives: round trips and refusals."""

import io
import json
import tarfile

import pytest

from cloudlet.agent.images import (ArchiveError, ImageStore, InvalidReference, Platform, export_archive,
                                   import_archive)
from cloudlet.agent.images import oci
from tests.unit.test_images_helpers import (compress, d, docker_archive, f, hexof, oci_image, sha, tar,
                                            tar_dir, write_oci_layout)

BASE = tar(d("bin"), f("bin/sh", b"#!busybox", mode=0o755), d("etc"), f("etc/passwd", b"root:x:0:0::/:/bin/sh\n"))
TOP = tar(f("etc/.wh.passwd"), f("app/run", b"run", mode=0o755))


def _store(tmp_path, name="images"):
    return ImageStore(tmp_path / name)


def _oci_tar(tmp_path, layers=(BASE, TOP), compression="gzip", rename=None, **kw):
    top, blobs = oci_image(list(layers), compression)
    layout = write_oci_layout(tmp_path / "layout", top, blobs, **kw)
    return tar_dir(layout, tmp_path / "image.tar", rename), sha(top), blobs


def _blank(store):
    """No tag, and nothing left once unreferenced blobs are collected."""
    store.prune()
    return store.tags() == {} and list(store.content.list()) == []


def test_oci_archive_round_trip_keeps_digests(tmp_path):
    archive, digest, blobs = _oci_tar(tmp_path)
    one = _store(tmp_path, "one")
    [loaded] = import_archive(one, archive)
    assert loaded.reference == "docker.io/library/busybox:latest"
    assert loaded.image.digest == digest and one.get("busybox").digest == digest
    first = tmp_path / "saved.tar"
    export_archive(one, ["busybox"], first)
    two = _store(tmp_path, "two")
    [again] = import_archive(two, first)
    assert (again.reference, again.image.digest) == (loaded.reference, digest)
    second = io.BytesIO()
    export_archive(two, ["busybox"], second)
    assert second.getvalue() == first.read_bytes()  # reproducible archives
    with tarfile.open(first) as tf:
        names = tf.getnames()
        index = json.load(tf.extractfile("index.json"))
    assert names[:2] == ["oci-layout", "index.json"]
    assert {n for n in names if n.startswith("blobs/sha256/")} == {f"blobs/sha256/{hexof(b)}" for b in blobs}
    assert index["manifests"][0]["annotations"] == {"io.containerd.image.name": "docker.io/library/busybox:latest",
                                                    "org.opencontainers.image.ref.name": "latest"}


def test_oci_directory_round_trip(tmp_path):
    _, digest, _ = _oci_tar(tmp_path)
    store = _store(tmp_path)
    import_archive(store, tmp_path / "layout")  # the layout directory itself
    export_archive(store, ["busybox", digest], tmp_path / "saved", format="oci-dir")
    other = _store(tmp_path, "other")
    loaded = import_archive(other, tmp_path / "saved")
    assert [(x.reference, x.image.digest) for x in loaded] == [("docker.io/library/busybox:latest", digest),
                                                               (None, digest)]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_docker_archive_round_trip_keeps_image_id_and_digests(tmp_path):
    archive = docker_archive(tmp_path / "save.tar", [BASE, TOP, BASE], ["busybox:latest", "localhost/b:1"],
                             share_link=True)
    one = _store(tmp_path, "one")
    loaded = import_archive(one, archive)
    assert [x.reference for x in loaded] == ["docker.io/library/busybox:latest", "localhost/b:1"]
    image = loaded[0].image
    config_name = json.load(tarfile.open(archive).extractfile("manifest.json"))[0]["Config"]
    assert image.id == "sha256:" + config_name[:-len(".json")]
    assert image.config.diff_ids == [sha(BASE), sha(TOP), sha(BASE)]
    first = tmp_path / "resaved.tar"
    export_archive(one, ["busybox", "localhost/b:1"], first, format="docker")
    with tarfile.open(first) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
        assert tf.extractfile(f"{hexof(sha(BASE))}/layer.tar").read() == BASE
    assert manifest == [{"Config": config_name, "RepoTags": ["busybox:latest", "localhost/b:1"],
                         "Layers": [f"{hexof(sha(x))}/layer.tar" for x in (BASE, TOP, BASE)]}]
    two = _store(tmp_path, "two")
    again = import_archive(two, first)
    assert [(x.image.id, x.image.digest) for x in again] == [(image.id, image.digest)] * 2
    second = io.BytesIO()
    export_archive(two, ["busybox", "localhost/b:1"], second, format="docker")
    assert second.getvalue() == first.read_bytes()


def test_compressed_layers_go_out_plain_in_docker_archives(tmp_path):
    archive, _, _ = _oci_tar(tmp_path, compression="zstd")
    store = _store(tmp_path)
    [loaded] = import_archive(store, archive)
    assert loaded.image.manifest.layers[0].media_type == oci.OCI_LAYER_ZSTD
    assert (store.layer_dirs(loaded.image)[1] / "app/run").read_bytes() == b"run"
    export_archive(store, ["busybox"], tmp_path / "d.tar", format="docker")
    other = _store(tmp_path, "other")
    [again] = import_archive(other, tmp_path / "d.tar", tag="localhost/plain:1")
    assert again.image.id == loaded.image.id and again.reference == "localhost/plain:1"
    assert again.image.manifest.layers[0].media_type == oci.OCI_LAYER


def test_multi_platform_index_with_only_this_hosts_manifest(tmp_path):
    top, blobs = oci_image([BASE])
    index = oci.index_bytes([
        oci.Descriptor(oci.OCI_MANIFEST, "sha256:" + "5" * 64, 100, platform=Platform("linux", "s390x")),
        oci.Descriptor(oci.OCI_MANIFEST, sha(top), len(top), platform=Platform.host())])
    blobs.add(index)
    write_oci_layout(tmp_path / "layout", index, blobs, media_type=oci.OCI_INDEX,
                     annotations={"org.opencontainers.image.ref.name": "localhost/multi:1"})
    store = _store(tmp_path)
    [loaded] = import_archive(store, tmp_path / "layout")
    assert (loaded.reference, loaded.image.digest, loaded.image.manifest_digest) == \
        ("localhost/multi:1", sha(index), sha(top))
    # Saving it cannot name the absent manifest: the host's manifest goes alone.
    export_archive(store, ["localhost/multi:1"], tmp_path / "out", format="oci-dir")
    saved = json.loads((tmp_path / "out/index.json").read_text())
    assert saved["manifests"][0]["digest"] == sha(top)


def test_bare_tag_names_need_a_repository(tmp_path):
    _oci_tar(tmp_path, annotations={"org.opencontainers.image.ref.name": "1.0"})
    store = _store(tmp_path)
    [loaded] = import_archive(store, tmp_path / "layout")
    assert loaded.reference is None and store.tags() == {}
    [loaded] = import_archive(store, tmp_path / "layout", tag="localhost/named:1.0")
    assert store.tags() == {"localhost/named:1.0": loaded.image.digest}


def _corrupt_gzip_image(tmp_path):
    """A layer whose blob digest is right but whose gzip stream is broken."""
    broken = compress(TOP, "gzip")[:-12] + b"\0" * 4
    top, blobs = oci_image([BASE], "gzip")
    manifest = json.loads(top)
    manifest["layers"].append({"mediaType": oci.OCI_LAYER_GZIP, "digest": blobs.add(broken), "size": len(broken)})
    cfg = json.loads(blobs[manifest["config"]["digest"]])
    cfg["rootfs"]["diff_ids"].append(sha(TOP))
    cfg_bytes = json.dumps(cfg).encode()
    manifest["config"].update(digest=blobs.add(cfg_bytes), size=len(cfg_bytes))
    top = json.dumps(manifest).encode()
    blobs.add(top)
    return tar_dir(write_oci_layout(tmp_path / "layout", top, blobs), tmp_path / "bad.tar")


def _wrong_digest_image(tmp_path):
    archive, _, blobs = _oci_tar(tmp_path)
    layer_digest = next(k for k, v in blobs.items() if v == compress(TOP, "gzip"))
    path = tmp_path / "layout/blobs/sha256" / hexof(layer_digest)
    path.write_bytes(compress(TOP + b"\0" * 512, "gzip"))
    return tar_dir(tmp_path / "layout", tmp_path / "bad.tar")


def _truncated_blob(tmp_path):
    archive, digest, _ = _oci_tar(tmp_path)
    (tmp_path / "layout/blobs/sha256" / hexof(digest)).unlink()
    return tar_dir(tmp_path / "layout", tmp_path / "bad.tar")


def _not_a_tar(tmp_path):
    (tmp_path / "x.tar").write_bytes(b"garbage" * 100)
    return tmp_path / "x.tar"


def _no_index(tmp_path):
    (tmp_path / "l/blobs").mkdir(parents=True)
    (tmp_path / "l/oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return tar_dir(tmp_path / "l", tmp_path / "x.tar")


@pytest.mark.parametrize("make, words", [
    (lambda t: _oci_tar(t, rename={"index.json": "../index.json"})[0], "leads outside"),
    (lambda t: _oci_tar(t, rename={"oci-layout": "/oci-layout"})[0], "absolute path"),
    (_corrupt_gzip_image, "corrupt gzip"),
    (_wrong_digest_image, "digest mismatch"),
    (_truncated_blob, "is missing from the archive"),
    (lambda t: docker_archive(t / "d.tar", [BASE, TOP], diff_ids=[sha(BASE), sha(b"other")]),
     "DiffID .* is not the"),
    (lambda t: docker_archive(t / "d.tar", [BASE], diff_ids=[sha(BASE), sha(TOP)]), "1 layers, but"),
    (lambda t: docker_archive(t / "d.tar", [BASE], ["Not_Valid"]), "invalid image reference"),
    (_not_a_tar, "not a readable tar"),
    (_no_index, "not an image archive"),
])
def test_bad_archives_are_refused_and_leave_no_image(tmp_path, make, words):
    archive = make(tmp_path)
    store = _store(tmp_path)
    store.content.write(b"unrelated")  # not touched by the failure, collected by the prune below
    with pytest.raises((ArchiveError, InvalidReference), match=words):
        import_archive(store, archive)
    assert _blank(store)


def test_a_bad_second_image_leaves_the_first_untagged(tmp_path):
    good = docker_archive(tmp_path / "good.tar", [BASE], ["good:1"])
    with tarfile.open(good) as tf:
        members = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}
    manifest = json.loads(members["manifest.json"])
    manifest.append(dict(manifest[0], RepoTags=["bad:1"], Layers=["../../etc/passwd"]))
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(tmp_path / "both.tar", "w") as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    store = _store(tmp_path)
    with pytest.raises(ArchiveError, match="leads outside"):
        import_archive(store, tmp_path / "both.tar")
    assert _blank(store)
