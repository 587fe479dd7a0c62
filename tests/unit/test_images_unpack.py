"""Layer unpacking: file kinds, compression, whiteouts across layers, refusals."""

import io
import logging
import os
import stat
import threading

import pytest

from cloudlet.agent.images import LayerError, apply_layer, flatten, unpack_layer
from tests.unit.test_images_helpers import compress, d, dev, f, fifo, hard, sha, sym, tar

BASIC = tar(d("etc"), f("etc/hosts", b"127.0.0.1 localhost\n"), f("bin/tool", b"#!/bin/sh\n", mode=0o4755),
            sym("bin/sh", "tool"), hard("bin/tool2", "bin/tool"), fifo("run/pipe"),
            d("ro", mode=0o555), f("ro/file", b"x", mode=0o444),
            f("usr/share/caps", b"", xattrs={"user.comment": "hello"}))


@pytest.mark.parametrize("kind", [None, "gzip", "zstd"])
def test_unpack_file_kinds_and_compressions(tmp_path, kind):
    dest = tmp_path / "layer"
    result = unpack_layer(io.BytesIO(compress(BASIC, kind)), dest, expected_diff_id=sha(BASIC))
    assert result.diff_id == sha(BASIC) and result.compression == kind
    assert (dest / "etc/hosts").read_bytes() == b"127.0.0.1 localhost\n"
    assert os.readlink(dest / "bin/sh") == "tool"
    tool, tool2 = os.stat(dest / "bin/tool"), os.stat(dest / "bin/tool2")
    assert tool.st_ino == tool2.st_ino and tool.st_nlink == 2
    assert stat.S_IMODE(tool.st_mode) == 0o4755 and tool.st_mtime == 1_600_000_000
    assert stat.S_ISFIFO(os.lstat(dest / "run/pipe").st_mode)
    assert stat.S_IMODE(os.stat(dest / "ro").st_mode) == 0o555
    assert (dest / "ro/file").read_bytes() == b"x"
    assert os.stat(dest / "etc").st_mtime == 1_600_000_000
    try:
        assert os.getxattr(dest / "usr/share/caps", "user.comment") == b"hello"
    except OSError:  # user xattrs unsupported on this filesystem: recorded as skipped
        assert any("user.comment" in s for s in result.skipped)
    assert [p.name for p in tmp_path.iterdir()] == ["layer"]


def test_device_nodes_are_skipped_and_logged(tmp_path, caplog):
    layer = tar(dev("dev/null"), f("dev/ok", b"1"))
    with caplog.at_level(logging.INFO, logger="cloudlet.agent.images.unpack"):
        result = unpack_layer(io.BytesIO(layer), tmp_path / "l")
    assert not (tmp_path / "l/dev/null").exists() and (tmp_path / "l/dev/ok").exists()
    assert result.skipped == ["dev/null: device node not created"]
    assert "dev/null" in caplog.text


def _apply(*layers):
    def run(root):
        for layer in layers:
            apply_layer(io.BytesIO(layer), root)
    return run


def _tree(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_whiteouts_and_opaque_dirs_across_two_layers(tmp_path):
    lower = tar(d("a"), f("a/gone", b"1"), f("a/kept", b"2"), d("b"), f("b/old", b"3"), d("b/sub"),
                f("b/sub/deep", b"4"), d("c"), f("c/x", b"5"), f("top", b"6"))
    upper = tar(f("a/.wh.gone"), f(".wh.c"), f("b/.wh..wh..opq"), f("b/new", b"7"),
                # the same layer's own files survive its whiteouts, in either order
                f("e/mine", b"8"), f("e/.wh.mine"), f("g/.wh..wh..opq"), f("g/sub/mine", b"9"),
                f("a/.wh..wh..plnk"))
    root = tmp_path / "root"
    flatten([io.BytesIO(lower), io.BytesIO(upper)], root, diff_ids=[sha(lower), sha(upper)])
    assert _tree(root) == ["a", "a/kept", "b", "b/new", "e", "e/mine", "g", "g/sub", "g/sub/mine", "top"]


def test_opaque_dir_keeps_this_layers_files_below_a_lower_dir(tmp_path):
    lower = tar(d("b"), d("b/sub"), f("b/sub/old", b"1"))
    upper = tar(f("b/sub/new", b"2"), f("b/.wh..wh..opq"))
    root = tmp_path / "root"
    flatten([io.BytesIO(lower), io.BytesIO(upper)], root)
    assert _tree(root) == ["b", "b/sub", "b/sub/new"]


def test_later_layer_replaces_kinds(tmp_path):
    lower = tar(d("x"), f("x/in", b"1"), f("y", b"file"), sym("z", "y"))
    upper = tar(f("x", b"now a file"), d("y"), f("z", b"not a link"))
    root = tmp_path / "root"
    flatten([io.BytesIO(lower), io.BytesIO(upper)], root)
    assert (root / "x").read_bytes() == b"now a file" and (root / "y").is_dir()
    assert not (root / "z").is_symlink() and (root / "z").read_bytes() == b"not a link"


def test_writes_through_symlinks_that_stay_inside(tmp_path):
    layer = tar(d("usr/lib"), sym("lib", "usr/lib"), f("lib/libc.so", b"elf"), sym("usr/x", "../lib"),
                f("usr/x/more", b"m"))
    dest = tmp_path / "l"
    unpack_layer(io.BytesIO(layer), dest)
    assert (dest / "usr/lib/libc.so").read_bytes() == b"elf" and (dest / "usr/lib/more").exists()


@pytest.mark.parametrize("entries, words", [
    ([f("../evil", b"x")], "leads outside"),
    ([f("a/../../evil", b"x")], "leads outside"),
    ([f("/evil", b"x")], "absolute path"),
    ([sym("esc", "../.."), f("esc/evil", b"x")], "climbs out of the layer"),
    ([d("a"), sym("a/up", "../../outside"), f("a/up/evil", b"x")], "climbs out of the layer"),
    ([sym("etc", "/etc"), f("etc/evil", b"x")], "leads outside the layer"),
    ([f("ok", b"1"), hard("evil", "../../ok")], "leads outside"),
    ([f("ok", b"1"), hard("evil", "/etc/passwd")], "absolute path"),
    ([hard("evil", "nowhere")], "does not contain"),
    ([sym("loop", "loop"), f("loop/x", b"1")], "too many levels"),
])
def test_traversal_and_symlink_escapes_are_refused(tmp_path, entries, words):
    dest = tmp_path / "sub" / "layer"
    layer = tar(f("first", b"written before the bad entry"), *entries)
    with pytest.raises(LayerError, match=words):
        unpack_layer(io.BytesIO(layer), dest)
    assert list((tmp_path / "sub").iterdir()) == []  # no partial layer
    assert not (tmp_path / "evil").exists() and not (tmp_path / "outside").exists()


@pytest.mark.parametrize("data, words", [
    (compress(BASIC, "gzip")[:-30], "gzip"),
    (compress(BASIC, "gzip")[:20] + b"\0garbage" * 50, "gzip"),
    (compress(BASIC, "zstd")[:-10], "zstd"),
    (b"this is not a tar archive at all" * 40, "not a valid tar"),
])
def test_corrupt_layers_are_refused(tmp_path, data, words):
    with pytest.raises(LayerError, match=words):
        unpack_layer(io.BytesIO(data), tmp_path / "layer")
    assert list(tmp_path.iterdir()) == []


def test_diff_id_mismatch_is_refused(tmp_path):
    with pytest.raises(LayerError, match="DiffID mismatch"):
        unpack_layer(io.BytesIO(compress(BASIC, "gzip")), tmp_path / "layer", expected_diff_id=sha(b"other"))
    assert list(tmp_path.iterdir()) == []


def test_failed_flatten_leaves_nothing(tmp_path):
    good, bad = tar(f("a", b"1")), tar(f("../b", b"2"))
    with pytest.raises(LayerError):
        flatten([io.BytesIO(good), io.BytesIO(bad)], tmp_path / "root")
    assert list(tmp_path.iterdir()) == []


def test_concurrent_unpacks_of_one_layer_both_succeed(tmp_path):
    layer = compress(BASIC, "gzip")
    errors = []

    def go():
        try:
            unpack_layer(io.BytesIO(layer), tmp_path / "layer")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and [p.name for p in tmp_path.iterdir()] == ["layer"]
    assert (tmp_path / "layer/etc/hosts").exists()
