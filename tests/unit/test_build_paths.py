"""COPY/ADD source paths resolved inside their root as BuildKit resolves them: symlinks
followed there (absolute targets from the root, ".." stopping at it), globs matched below
the resolved part, .dockerignore'd paths absent wherever a path leads."""

import os

import pytest

from cloudlet.agent.build.dockerfile import BuildError
from cloudlet.agent.build.ignore import Ignore
from cloudlet.agent.build.paths import clean, expand, resolve


@pytest.fixture
def root(tmp_path):
    (tmp_path / "app/sub").mkdir(parents=True)
    (tmp_path / "app/real.txt").write_text("real")
    (tmp_path / "app/sub/x").write_text("x")
    (tmp_path / "secret.key").write_text("no")
    links = {"etclink": "/etc", "abs": "/app/real.txt", "up": "../../../app", "loop": "loop",
             "dangling": "nowhere", "keylink": "secret.key", "app/back": "..", "app/sublink": "sub"}
    for name, target in links.items():
        os.symlink(target, tmp_path / name)
    return tmp_path


def where(root, path, ignore=None):
    found = resolve(root, clean(path), ignore, 1)
    return found.real if found.found else None


def test_links_resolve_inside_the_root(root):
    assert where(root, "etclink/shadow") is None  # the root's etc, which it has not
    assert resolve(root, clean("etclink/shadow"), None, 1).real == "etc/shadow"
    assert where(root, "abs") == "app/real.txt"
    assert where(root, "up/real.txt") == "app/real.txt"
    assert where(root, "../../app/sub/x") == "app/sub/x"
    assert where(root, "app/back/app/back/secret.key") == "secret.key"
    assert where(root, "dangling") is None and where(root, "app/real.txt/x") is None
    with pytest.raises(BuildError, match="too many levels of symbolic links"):
        resolve(root, ["loop"], None, 3)


def test_ignored_paths_are_absent_however_reached(root):
    ignore = Ignore(["*.key", "app/sub"])
    assert where(root, "secret.key", ignore) is None
    assert where(root, "keylink", ignore) is None  # the link is there, what it leads to is not
    assert where(root, "app/sublink/x", ignore) is None
    assert where(root, "app/real.txt", ignore) == "app/real.txt"
    assert where(root, "keylink", Ignore(["keylink"])) is None


def test_globs_match_below_the_resolved_part_without_descending_links(root):
    names = [(s.name, s.real) for s in expand(root, "app/*", None, 1) if s.found]
    assert names == [("back", ""), ("real.txt", "app/real.txt"), ("sub", "app/sub"), ("sublink", "app/sub")]
    assert [s.real for s in expand(root, "app/*/x", None, 1)] == ["app/sub/x"]  # not through sublink
    assert [s.real for s in expand(root, "up/*.txt", None, 1)] == ["app/real.txt"]
    assert expand(root, "etclink/*", None, 1) == []
    assert [s.real for s in expand(root, "*.key", Ignore(["secret.key"]), 1)] == []
