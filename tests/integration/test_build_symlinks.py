"""Symlinks in build contexts through `cloudlet build` (security review, issue 11): COPY and
ADD resolve every path inside the context as BuildKit does, so a link to /etc reads the
context's etc and never the host's; links inside copied directories stay links; what would
be written through a link, or outside the image, is not; every refusal is a Dockerfile:N:
message."""

import os
import secrets
import textwrap
from pathlib import Path

import pytest
from engine_fixtures import busybox_home

pytestmark = [pytest.mark.root, pytest.mark.runc]


@pytest.fixture(scope="module")
def home():
    with busybox_home() as h:
        yield h


def context(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None,
            links: dict[str, str] | None = None) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "Dockerfile").write_text(textwrap.dedent(dockerfile))
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    for name, target in (links or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, tmp_path / name)
    return tmp_path


def refused(home, ctx: Path, line: int, message: str) -> str:
    tag = f"refused-{secrets.token_hex(3)}"
    proc = home.cli("build", "-t", tag, str(ctx), check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"Dockerfile:{line}: " in proc.stderr and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert tag not in home.cli("image", "ls").stdout
    return proc.stderr


def sh(home, image: str, script: str) -> str:
    return home.cli("run", "--rm", "--network", "none", image, "sh", "-c", script).stdout


@pytest.mark.parametrize("copy,links", [
    ("COPY etclink/shadow /leak", {"etclink": "/etc"}),
    ("COPY etclink/sha* /leak/", {"etclink": "/etc"}),
    ("COPY shadowlink /leak", {"shadowlink": "/etc/shadow"}),
    ("COPY up /leak", {"up": "../../../../../../../../etc/shadow"}),
    ("ADD etclink/shadow /leak", {"etclink": "/etc"}),
])
def test_links_out_of_the_context_never_reach_the_host(home, tmp_path, copy, links):
    ctx = context(tmp_path, f"FROM busybox\n{copy}\n", links=links)
    error = refused(home, ctx, 2, "not found in the build context")
    assert "root:" not in error


def test_a_link_to_etc_reads_the_contexts_etc(home, tmp_path):
    ctx = context(tmp_path, """\
        FROM busybox
        COPY etclink/shadow /leak
        ADD etclink /x/
        """, {"etc/shadow": "the context's own\n", "etc/motd": "hello\n"}, {"etclink": "/etc"})
    home.cli("build", "-t", "own-etc", str(ctx))
    assert sh(home, "own-etc", "cat /leak; ls /x") == "the context's own\nmotd\nshadow\n"


def test_add_of_a_linked_directory_outside_is_a_clean_error(home, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nADD etclink /x\n", links={"etclink": "/etc"})
    error = refused(home, ctx, 2, "etclink: not found in the build context")
    assert "it leads to /etc there" in error  # the host's /etc is a directory: no IsADirectoryError


def test_links_inside_the_context_work_as_buildkit_does(home, tmp_path):
    ctx = context(tmp_path, """\
        FROM busybox
        COPY link.txt /out/
        COPY linkdir /d
        COPY app /app
        """, {"app/real.txt": "real\n", "app/sub/deep.txt": "deep\n"},
        {"link.txt": "app/real.txt", "linkdir": "/app", "app/rel": "real.txt", "app/abs": "/etc/passwd",
         "app/subdir": "sub"})
    home.cli("build", "-t", "linked", str(ctx))
    out = sh(home, "linked", "cat /out/link.txt; test -L /out/link.txt || echo file; ls /d; readlink /app/rel; "
                             "readlink /app/abs; readlink /app/subdir; cat /app/subdir/deep.txt")
    assert out.split("\n") == ["real", "file", "abs", "real.txt", "rel", "sub", "subdir",
                               "real.txt", "/etc/passwd", "sub", "deep", ""]


def test_nothing_is_written_through_a_link_or_outside_the_image(home, tmp_path):
    outside = Path("/tmp") / f"escape-{secrets.token_hex(4)}"
    outside.mkdir()
    try:
        ctx = context(tmp_path, "FROM busybox\nCOPY one two /d/\n", {"two/sub/file": "x\n"},
                      {"one/sub": str(outside)})
        refused(home, ctx, 2, "a symlink copied earlier stands there")
        assert list(outside.iterdir()) == []
        escape = f"/../../../../../..{outside}/file"
        ctx = context(tmp_path / "dest", f"FROM busybox\nCOPY x {escape}\n", {"x": "in the image\n"})
        home.cli("build", "-t", "clamped", str(ctx))
        assert list(outside.iterdir()) == []
        assert sh(home, "clamped", f"cat {outside}/file") == "in the image\n"
    finally:
        for p in outside.iterdir():
            p.unlink()
        outside.rmdir()
