"""Limits on what an image unpacks to (security review, issue 11): bytes and files, per
image across its layers, refused before the entry that passes them is written, all or
nothing; limits.json or the disk's free space; decompression in bounded pieces."""

import io
import json
import os
import tarfile
import zlib

import pytest
import zstandard

from cloudlet.agent.images import Budget, ImageStore, LayerError, LayerInfo, Limits, import_archive, unpack_layer
from cloudlet.agent.images.compression import Decompressor
from tests.unit.test_images_helpers import compress, d, f, oci_image, sha, tar, tar_dir, write_oci_layout

MiB = 1 << 20


def limits(max_bytes=10 * MiB, max_files=100) -> Limits:
    return Limits(max_bytes, max_files, "set in a test")


def zeros_layer(files: int, size: int) -> bytes:
    """A gzip layer of files of zeros, made as a stream (its tar never whole in memory)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as tf:
        for i in range(files):
            info = tarfile.TarInfo(f"zeros/{i}")
            info.size = size
            tf.addfile(info, io.BytesIO(bytes(size)))
    return out.getvalue()


def test_the_size_limit_refuses_before_writing_and_leaves_nothing(tmp_path):
    layer = zeros_layer(64, MiB)  # 64 MiB of zeros in a few hundred kB
    assert len(layer) < MiB
    with pytest.raises(LayerError) as refused:
        unpack_layer(io.BytesIO(layer), tmp_path / "l", budget=Budget(limits(max_bytes=16 * MiB)))
    assert "more than 16777216 bytes (16.0 MiB)" in str(refused.value) and "max_bytes" in str(refused.value)
    assert list(tmp_path.iterdir()) == []  # neither the layer nor its half-made directory


def test_the_file_count_limit_counts_every_entry(tmp_path):
    entries = [d("many")] + [f(f"many/{i}") for i in range(30)]
    with pytest.raises(LayerError) as refused:
        unpack_layer(io.BytesIO(tar(*entries)), tmp_path / "l", budget=Budget(limits(max_files=30)))
    assert "more than 30 files" in str(refused.value) and "max_files" in str(refused.value)
    assert list(tmp_path.iterdir()) == []
    unpack_layer(io.BytesIO(tar(*entries)), tmp_path / "ok", budget=Budget(limits(max_files=31)))
    assert len(list((tmp_path / "ok/many").iterdir())) == 30


def test_directories_a_layer_makes_without_naming_them_count(tmp_path):
    deep = tar(f("/".join(f"d{i}" for i in range(40)) + "/file"))  # one entry, 41 inodes
    with pytest.raises(LayerError, match="more than 30 files"):
        unpack_layer(io.BytesIO(deep), tmp_path / "l", budget=Budget(limits(max_files=30)))
    assert list(tmp_path.iterdir()) == []
    store = ImageStore(tmp_path / "images")
    (store.root / "limits.json").write_text(json.dumps({"max_bytes": MiB, "max_files": 30}))
    with pytest.raises(LayerError, match="more than 30 files"):
        store.check_limits([_stored(store, compress(deep, "gzip"))])


def _stored(store: ImageStore, layer: bytes) -> LayerInfo:
    digest = store.content.write(layer)
    return LayerInfo(digest, sha(tar_of(layer)), len(layer), "application/vnd.oci.image.layer.v1.tar+gzip")


def tar_of(layer: bytes) -> bytes:
    return zlib.decompress(layer, 16 + zlib.MAX_WBITS)


def test_an_image_is_limited_across_its_layers_all_or_nothing(tmp_path):
    store = ImageStore(tmp_path / "images")
    (store.root / "limits.json").write_text(json.dumps({"max_bytes": 12 * MiB, "max_files": 1000}))
    layers = [_stored(store, zeros_layer(8, MiB)), _stored(store, zeros_layer(6, MiB))]
    with pytest.raises(LayerError) as refused:
        store.unpacked(layers)
    assert "set in the image store's limits.json" in str(refused.value)
    assert str(tmp_path) not in str(refused.value)  # a tenant may read it: no host paths
    assert list(store.layers_dir.iterdir()) == []  # the first layer, which fitted, went too
    with pytest.raises(LayerError):
        store.check_limits(layers)  # what `cloudlet load` asks, reading only
    assert [p.name for p in store.unpacked(layers[:1])] == [layers[0].diff_id.split(":")[1]]
    store.unpacked(layers[1:])  # each alone fits; what is unpacked already costs nothing new
    assert len(list(store.layers_dir.iterdir())) == 2


def test_limits_left_out_are_derived_from_the_disk(tmp_path):
    derived = Limits.of(tmp_path, tmp_path)
    st = os.statvfs(tmp_path)
    reserve = st.f_blocks * st.f_frsize // 10  # a tenth of the disk stays free
    assert derived.max_bytes == pytest.approx(max(0, st.f_bavail * st.f_frsize - reserve), abs=64 * MiB)
    assert derived.max_files > 0 and "derived from the free disk space" in derived.source
    (tmp_path / "limits.json").write_text(json.dumps({"max_files": 7}))
    partly = Limits.of(tmp_path, tmp_path)
    assert partly.max_files == 7 and partly.max_bytes == pytest.approx(derived.max_bytes, rel=0.01)
    (tmp_path / "limits.json").write_text("{nope")
    with pytest.raises(LayerError):
        Limits.of(tmp_path, tmp_path)


def test_a_load_past_the_limits_is_refused_untagged(tmp_path):
    store = ImageStore(tmp_path / "images")
    (store.root / "limits.json").write_text(json.dumps({"max_bytes": 4 * MiB, "max_files": 1000}))
    top, blobs = oci_image([tar(d("zeros"), f("zeros/big", bytes(5 * MiB)))], "gzip")
    archive = tar_dir(write_oci_layout(tmp_path / "layout", top, blobs), tmp_path / "image.tar")
    with pytest.raises(LayerError, match="max_bytes"):
        import_archive(store, archive)
    assert store.tags() == {} and list(store.layers_dir.iterdir()) == []


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_decompression_comes_in_bounded_pieces(kind):
    bomb = compress(bytes(256 * MiB), kind)
    assert len(bomb) < MiB
    pieces = [len(p) for p in Decompressor(kind).feed(bomb)]
    assert sum(pieces) == 256 * MiB and max(pieces) <= 17 * MiB


def test_zstd_frames_and_padding_still_decompress():
    data = zstandard.ZstdCompressor().compress(b"one") + zstandard.ZstdCompressor().compress(b"two") + bytes(64)
    dec = Decompressor("zstd")
    assert b"".join(dec.feed(data)) == b"onetwo"
    dec.finish()
