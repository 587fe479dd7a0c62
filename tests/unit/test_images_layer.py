"""Creating layers: reproducible digests, owners, links, whiteouts from an overlay upper dir."""

import io
import os
import stat
import tarfile
import time

import pytest

from cloudlet.agent.images import LayerError, LayerWriter, unpack_layer
from cloudlet.agent.images.unpack import OVERLAY_OPAQUE_XATTR
from tests.hostcaps import need_root
from tests.unit.test_images_helpers import sha


def _make_tree(root, stamp):
    (root / "app/lib").mkdir(parents=True)
    (root / "app/lib/a.py").write_text("print('a')\n")
    (root / "app/main.py").write_text("import a\n")
    os.chmod(root / "app/main.py", 0o755)
    os.link(root / "app/main.py", root / "app/entry")
    (root / "app/link").symlink_to("main.py")
    (root / "app/empty").mkdir()
    for p in root.rglob("*"):
        os.utime(p, (stamp, stamp), follow_symlinks=False)


def _layer(root, **opts):
    buf = io.BytesIO()
    w = LayerWriter(buf, **opts)
    w.add_tree(root)
    info = w.close()
    assert info.size == len(buf.getvalue()) and info.digest == sha(buf.getvalue())
    return info, buf.getvalue()


@pytest.mark.parametrize("compression", ["gzip", "zstd", None])
def test_same_files_give_the_same_digests(tmp_path, compression):
    # Made at different times in different directories (so other inodes, other readdir order).
    one, two = tmp_path / "one", tmp_path / "two"
    _make_tree(one, 1_000_000)
    time.sleep(0.01)
    _make_tree(two, 2_000_000)
    a, _ = _layer(one, compression=compression, mtime=0, uid=0, gid=0)
    b, _ = _layer(two, compression=compression, mtime=0, uid=0, gid=0)
    assert a == b
    if compression is None:
        assert a.digest == a.diff_id


def test_entries_sorted_with_owners_mtime_and_hard_links(tmp_path):
    _make_tree(tmp_path / "src", 1_234_567)
    _, data = _layer(tmp_path / "src", compression=None, mtime=None, uid=1000, gid=1001)
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        members = tf.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names) == ["app", "app/empty", "app/entry", "app/lib", "app/lib/a.py",
                                      "app/link", "app/main.py"]
    by = {m.name: m for m in members}
    assert all((m.uid, m.gid, m.uname, m.gname) == (1000, 1001, "", "") for m in members)
    assert all(m.mtime == 1_234_567 for m in members)
    assert by["app/entry"].isreg() and by["app/main.py"].islnk() and by["app/main.py"].linkname == "app/entry"
    assert by["app/link"].issym() and by["app/link"].linkname == "main.py"
    assert by["app/entry"].mode == 0o755


def test_listed_files_whiteouts_and_round_trip(tmp_path):
    src = tmp_path / "ctx"
    src.mkdir()
    (src / "hello.txt").write_text("hi")
    buf = io.BytesIO()
    w = LayerWriter(buf, compression="gzip")
    w.add("srv/www", src)
    w.add("srv/www/index.html", src / "hello.txt")
    w.add_whiteout("etc/motd")
    w.add_opaque("var/cache")
    info = w.close()
    out = tmp_path / "out"
    unpack_layer(io.BytesIO(buf.getvalue()), out, expected_diff_id=info.diff_id)
    assert (out / "srv/www/index.html").read_text() == "hi"
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tf:
        assert tf.getnames() == ["etc/.wh.motd", "srv/www", "srv/www/index.html", "var/cache/.wh..wh..opq"]


def test_overlay_upper_dir_becomes_oci_whiteouts(tmp_path):
    need_root()  # whiteout devices and trusted.* xattrs, as overlayfs makes them
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    (upper / "etc/new.conf").write_text("x")
    os.mknod(upper / "etc/removed", stat.S_IFCHR, os.makedev(0, 0))
    (upper / "var/cache").mkdir(parents=True)
    os.setxattr(upper / "var/cache", OVERLAY_OPAQUE_XATTR, b"y")
    buf = io.BytesIO()
    w = LayerWriter(buf, compression=None)
    w.add_tree(upper, overlay_upper=True)
    w.close()
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tf:
        members = {m.name: m for m in tf.getmembers()}
    assert sorted(members) == ["etc", "etc/.wh.removed", "etc/new.conf", "var", "var/cache",
                               "var/cache/.wh..wh..opq"]
    assert not any("trusted.overlay" in k for m in members.values() for k in m.pax_headers)
    # Unpacked for overlayfs, the same markers come back.
    out = tmp_path / "out"
    unpack_layer(io.BytesIO(buf.getvalue()), out)
    assert os.stat(out / "etc/removed").st_rdev == 0 and stat.S_ISCHR(os.stat(out / "etc/removed").st_mode)
    assert os.getxattr(out / "var/cache", OVERLAY_OPAQUE_XATTR) == b"y"


def test_refuses_names_outside_the_layer(tmp_path):
    w = LayerWriter(io.BytesIO())
    for bad in ("../x", "/abs", "a/../../x"):
        with pytest.raises(LayerError, match="outside|absolute"):
            w.add(bad, tmp_path)
