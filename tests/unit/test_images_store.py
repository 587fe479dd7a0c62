"""References, manifests (OCI and Docker), and the image store: tags, commit, layers, prune."""

import json

import pytest

from cloudlet.agent.content import ContentStore
from cloudlet.agent.images import (ImageNotFound, ImageStore, InvalidManifest, InvalidReference, LayerError,
                                   Platform, parse_reference)
from cloudlet.agent.images import oci
from tests.unit.test_images_helpers import f, oci_image, sha, tar


@pytest.mark.parametrize("ref, canonical, familiar", [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"),
    ("me/app:2", "docker.io/me/app:2", "me/app:2"),
    ("localhost/x:1", "localhost/x:1", "localhost/x:1"),
    ("localhost:5000/a/b", "localhost:5000/a/b:latest", "localhost:5000/a/b:latest"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1.2",
     "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1.2", "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1.2"),
    ("repo@sha256:" + "a" * 64, "docker.io/library/repo@sha256:" + "a" * 64, "repo@sha256:" + "a" * 64),
    ("repo:t@sha256:" + "a" * 64, "docker.io/library/repo:t@sha256:" + "a" * 64, "repo:t@sha256:" + "a" * 64),
])
def test_references_are_normalized(ref, canonical, familiar):
    r = parse_reference(ref)
    assert (str(r), r.familiar) == (canonical, familiar)


@pytest.mark.parametrize("bad", ["", "Busybox", "a:b:c", "x@sha256:abc", "/x", "a//b", "localhost/",
                                 "x:" + "t" * 200, " busybox", "x@md5:" + "0" * 32])
def test_bad_references_are_refused(bad):
    with pytest.raises(InvalidReference):
        parse_reference(bad)


def test_docker_and_oci_manifests_parse_alike():
    layer = tar(f("a", b"1"))
    oci_bytes, _ = oci_image([layer])
    docker_bytes, _ = oci_image([layer], docker_types=True)
    m1, m2 = oci.parse(oci_bytes), oci.parse(docker_bytes)
    assert m1.is_image and m2.is_image
    assert m1.children() == m2.children()
    assert m2.media_type == oci.DOCKER_MANIFEST and m2.layers[0].media_type == oci.DOCKER_LAYER
    with pytest.raises(InvalidManifest, match="says it is .*docker.* but was given as .*oci"):
        oci.parse(docker_bytes, oci.OCI_MANIFEST)


def test_index_selects_the_host_platform_and_says_what_it_has():
    def desc(arch, digest):
        return {"mediaType": oci.DOCKER_MANIFEST, "digest": digest, "size": 1,
                "platform": {"os": "linux", "architecture": arch}}
    doc = {"schemaVersion": 2, "mediaType": oci.DOCKER_LIST, "manifests": [
        desc("s390x", "sha256:" + "1" * 64), desc("amd64", "sha256:" + "2" * 64), desc("arm64", "sha256:" + "3" * 64)]}
    index = oci.parse(json.dumps(doc).encode())
    assert index.select(Platform("linux", "amd64")).digest == "sha256:" + "2" * 64
    assert index.select(Platform("linux", "arm64", "v8")).digest == "sha256:" + "3" * 64
    with pytest.raises(InvalidManifest, match="no variant for linux/riscv64.*linux/s390x, linux/amd64"):
        index.select(Platform("linux", "riscv64"))


@pytest.mark.parametrize("doc, words", [
    (b"not json", "not JSON"),
    (b"[]", "not a JSON object"),
    (json.dumps({"schemaVersion": 1, "name": "x"}).encode(), "schema 1"),
    (json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_MANIFEST, "config": {}, "layers": []}).encode(), "config"),
    (json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_MANIFEST, "layers": [],
                 "config": {"mediaType": oci.OCI_CONFIG, "digest": "sha256:xyz", "size": 1}}).encode(), "invalid digest"),
    (json.dumps({"schemaVersion": 2, "mediaType": "text/plain"}).encode(), "unsupported manifest media type"),
])
def test_bad_manifests_are_refused(doc, words):
    with pytest.raises(InvalidManifest, match=words):
        oci.parse(doc)


@pytest.fixture
def store(tmp_path):
    return ImageStore(tmp_path / "images")


def _stored(store, layers, compression="gzip", docker_types=False):
    data, blobs = oci_image(layers, compression, docker_types=docker_types)
    for blob in blobs.values():
        store.content.write(blob)
    return sha(data)


def test_tag_get_list_untag(store):
    digest = _stored(store, [tar(f("bin/sh", b"#!"))], docker_types=True)
    assert store.tag("busybox", digest) == "docker.io/library/busybox:latest"
    store.tag("localhost/mine:1", digest)
    image = store.get("busybox:latest")
    assert image.digest == image.manifest_digest == digest
    assert store.get("docker.io/library/busybox").id == image.id == image.manifest.config.digest
    assert store.get(digest) == image and store.get(image.id).digest == digest
    assert store.get(f"whatever@{digest}").digest == digest
    assert [str(r) for r, _ in store.list()] == ["docker.io/library/busybox:latest", "localhost/mine:1"]
    assert image.config.runtime["Cmd"] == ["/bin/sh"] and image.layers[0].diff_id == image.config.diff_ids[0]
    with pytest.raises(ImageNotFound, match="busybox:2 not found"):
        store.get("busybox:2")
    assert store.untag(digest) == ["docker.io/library/busybox:latest", "localhost/mine:1"]
    with pytest.raises(ImageNotFound):
        store.untag("busybox")


def test_tag_refuses_what_is_not_an_image(store):
    with pytest.raises(ImageNotFound):
        store.tag("x", sha(b"absent"))
    store.content.write(b'{"schemaVersion": 2, "manifests": []}')
    with pytest.raises(InvalidManifest):
        store.tag("x", sha(b'{"schemaVersion": 2, "manifests": []}'))
    with pytest.raises(InvalidReference, match="digest"):
        store.tag("x@sha256:" + "0" * 64, sha(b"absent"))
    assert store.tags() == {}


def test_index_tag_resolves_to_the_host_manifest(store):
    manifest_digest = _stored(store, [tar(f("a", b"1"))])
    other = Platform("linux", "s390x")
    index = oci.index_bytes([
        oci.Descriptor(oci.OCI_MANIFEST, "sha256:" + "9" * 64, 10, platform=other),
        oci.Descriptor(oci.OCI_MANIFEST, manifest_digest, store.content.size(manifest_digest),
                       platform=Platform.host()),
    ])
    index_digest = store.content.write(index)
    store.tag("multi", index_digest)
    image = store.get("multi")
    assert (image.digest, image.manifest_digest) == (index_digest, manifest_digest)
    assert set(store.references(index_digest)) == {"sha256:" + "9" * 64, manifest_digest}


def test_commit_write_layer_and_layer_dirs(store, tmp_path):
    src = tmp_path / "rootfs"
    (src / "etc").mkdir(parents=True)
    (src / "etc/os-release").write_text("ID=test\n")
    base = store.write_layer(lambda w: w.add_tree(src), compression="zstd")
    top = store.write_layer(lambda w: w.add("etc/motd", src / "etc/os-release"))
    image = store.commit({"config": {"Env": ["PATH=/bin"]}}, [base, top], tag="localhost/built:1")
    assert image.config.diff_ids == [base.diff_id, top.diff_id]
    assert image.manifest.layers[0].media_type == oci.OCI_LAYER_ZSTD
    again = store.commit({"config": {"Env": ["PATH=/bin"]}}, [base, top])
    assert again.digest == image.digest  # reproducible: same inputs, same digest
    dirs = store.layer_dirs(image)
    assert dirs == [store.layer_path(base.diff_id), store.layer_path(top.diff_id)]
    assert (dirs[0] / "etc/os-release").read_text() == "ID=test\n" and (dirs[1] / "etc/motd").exists()
    assert store.layer_dirs(image) == dirs  # second time: nothing to unpack


def test_layer_dirs_check_the_config_diff_ids(store):
    layer = tar(f("a", b"1"))
    data, blobs = oci_image([layer])
    manifest = json.loads(data)
    config = json.loads(blobs[manifest["config"]["digest"]])
    config["rootfs"]["diff_ids"] = [sha(b"a lie")]
    cfg = json.dumps(config).encode()
    manifest["config"].update(digest=store.content.write(cfg), size=len(cfg))
    store.content.write(blobs[manifest["layers"][0]["digest"]])
    digest = store.content.write(json.dumps(manifest).encode())
    with pytest.raises(LayerError, match="DiffID mismatch"):
        store.layer_dirs(store.get(digest))
    assert list(store.layers_dir.iterdir()) == []


def test_prune_keeps_tagged_images_and_layers_in_use(store):
    kept = _stored(store, [tar(f("kept", b"1"))])
    store.tag("kept", kept)
    dropped = _stored(store, [tar(f("dropped", b"2"))])
    in_use = store.layer_dirs(store.get(dropped))  # a container of it still runs
    store.layer_dirs(store.get(kept))
    result = store.prune(keep_layers=in_use)
    assert result.layers_removed == [] and len(result.content.removed) == 3  # manifest, config, layer
    assert store.get("kept") and not store.content.exists(dropped)
    assert store.prune().layers_removed == [f"sha256:{in_use[0].name}"]
    assert [p.name for p in store.layers_dir.iterdir()] == [store.get("kept").config.diff_ids[0][7:]]


def test_a_content_store_can_be_shared(tmp_path):
    content = ContentStore(tmp_path / "shared")
    images = ImageStore(tmp_path / "a", content)
    digest = _stored(images, [tar(f("a", b"1"))])
    assert content.exists(digest) and not (tmp_path / "a" / "content").exists()
