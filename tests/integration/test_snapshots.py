"""Overlayfs snapshots against the real kernel: layering, writes, read-only, many layers."""

import errno
import os

import pytest

from cloudlet.agent.snapshots import Snapshotter, SnapshotError
from tests.hostcaps import need_root

pytestmark = [pytest.mark.root]


def _mounted_under(path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if f" {path}" in line]


@pytest.fixture
def snaps(tmp_path):
    need_root()
    s = Snapshotter(tmp_path / "snapshots")
    yield s
    for key in s.keys():
        s.remove(key)
    assert _mounted_under(tmp_path) == []


def _layer(tmp_path, name, files: dict[str, str]):
    d = tmp_path / "layers" / name
    d.mkdir(parents=True)
    for rel, text in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text)
    return d


def test_upper_layers_win_and_writes_stay_in_the_snapshot(snaps, tmp_path):
    low = _layer(tmp_path, "a", {"etc/x": "low", "only-low": "1"})
    high = _layer(tmp_path, "b", {"etc/x": "high"})
    root = snaps.prepare("c1", [low, high])
    assert snaps.is_mounted("c1")
    assert (root / "etc/x").read_text() == "high"
    assert (root / "only-low").read_text() == "1"
    (root / "new").write_text("w")
    (root / "etc/x").write_text("changed")
    assert (high / "etc/x").read_text() == "high"
    assert not (low / "new").exists()
    # two containers of one image do not see each other's writes
    other = snaps.prepare("c2", [low, high])
    assert not (other / "new").exists()
    assert snaps.prepare("c1", [low, high]) == root  # already mounted: unchanged
    assert (root / "new").exists()


def test_readonly_snapshot_refuses_writes(snaps, tmp_path):
    low = _layer(tmp_path, "a", {"f": "1"})
    root = snaps.prepare("ro", [low], readonly=True)
    assert (root / "f").read_text() == "1"
    with pytest.raises(OSError) as e:
        (root / "g").write_text("x")
    assert e.value.errno == errno.EROFS


def test_no_layers_gives_an_empty_root(snaps):
    root = snaps.prepare("scratch", [])
    assert os.listdir(root) == []
    (root / "f").write_text("ok")


def test_remove_is_idempotent_and_leaves_nothing(snaps, tmp_path):
    low = _layer(tmp_path, "a", {"f": "1"})
    snaps.prepare("gone", [low])
    snaps.remove("gone")
    snaps.remove("gone")
    assert not (snaps.root / "gone").exists()
    assert _mounted_under(snaps.root) == []
    assert (low / "f").read_text() == "1"


def test_many_long_named_layers_fall_back_to_short_links(snaps, tmp_path):
    # 100 layers with 64-hex names are ~8 KiB of options: more than mount(2) takes.
    layers = [_layer(tmp_path, f"{i:03d}" + "e" * 61, {f"f{i}": str(i), "top": str(i)}) for i in range(100)]
    root = snaps.prepare("deep", layers)
    assert (root / "f0").read_text() == "0"
    assert (root / "top").read_text() == "99"
    assert (snaps.root / "deep" / "l").is_dir()


def test_bad_key_and_missing_layer_are_refused(snaps, tmp_path):
    with pytest.raises(SnapshotError):
        snaps.prepare("../escape", [])
    with pytest.raises(SnapshotError):
        snaps.prepare("k", [tmp_path / "missing"])
