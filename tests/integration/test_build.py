"""Dockerfile builds on a real engine: RUN in containers, COPY/ADD with .dockerignore and
--chown, multi-stage with COPY --from, FROM scratch, whiteouts, the layer cache, errors."""

import io
import tarfile
import textwrap

import pytest
from engine_fixtures import busybox_home

pytestmark = [pytest.mark.root, pytest.mark.runc]


@pytest.fixture(scope="module")
def home():
    with busybox_home() as h:
        yield h


def make_context(tmp_path, dockerfile: str, files: dict[str, str] | None = None):
    (tmp_path / "Dockerfile").write_text(textwrap.dedent(dockerfile))
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def run(home, image, *cmd):
    return home.cli("run", "--rm", "--network", "none", image, *cmd).stdout


def test_example_hello_builds_runs_and_caches(home):
    first = home.cli("build", "-t", "hello:1", "examples/hello").stdout
    assert "Successfully tagged hello:1" in first
    assert run(home, "hello:1").startswith("Hello, world! (built on ")
    blobs = sorted(p.name for p in (home.data_dir / "engine/images/content").rglob("*") if p.is_file())
    again = home.cli("build", "-t", "hello:1", "examples/hello").stdout
    assert again.count("Using cache") == 2  # the COPY and the RUN
    assert again.splitlines()[-2] == first.splitlines()[-2]  # the same image digest
    assert sorted(p.name for p in (home.data_dir / "engine/images/content").rglob("*") if p.is_file()) == blobs
    home.cli("build", "-t", "hello:2", "--build-arg", "GREETING=Hi", "examples/hello")
    assert run(home, "hello:2").startswith("Hi, world!")


def test_copy_ignore_chown_add_and_whiteouts(home, tmp_path):
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tf:
        data = b"from the tarball\n"
        info = tarfile.TarInfo("unpacked/inside.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    (tmp_path / "bundle.tar").write_bytes(archive.getvalue())
    ctx = make_context(tmp_path, """\
        FROM busybox
        COPY --chown=nobody:nogroup app/ /srv/app/
        ADD bundle.tar /opt/
        RUN rm /bin/vi && echo made > /made
        """, {"app/main.sh": "echo main\n", "app/secret.key": "no", "app/notes.md": "keep out", ".dockerignore":
              "**/*.key\n*.md\n!app/notes.md\n"})
    home.cli("build", "-t", "copied", str(ctx))
    out = run(home, "copied", "sh", "-c", "ls /srv/app; stat -c '%U:%G' /srv/app/main.sh; cat /opt/unpacked/inside.txt;"
                                          " cat /made; test -e /bin/vi || echo vi-gone")
    assert out.split() == ["main.sh", "notes.md", "nobody:nogroup", "from", "the", "tarball", "made", "vi-gone"]
    layers = home.engine().images.get("copied").layers
    with home.engine().images.content.open(layers[-1].digest) as f, tarfile.open(fileobj=f) as tf:
        assert "bin/.wh.vi" in tf.getnames()


def test_multi_stage_and_scratch(home, tmp_path):
    ctx = make_context(tmp_path, """\
        FROM busybox AS build
        RUN mkdir /out && echo artifact > /out/result.txt
        FROM scratch
        COPY --from=build /out/result.txt /result.txt
        COPY --from=build /bin/busybox /bin/cat
        ENTRYPOINT ["/bin/cat"]
        CMD ["/result.txt"]
        """)
    home.cli("build", "-t", "tiny", str(ctx))
    assert run(home, "tiny") == "artifact\n"
    assert len(home.engine().images.get("tiny").layers) == 2
    home.cli("build", "-t", "onlybuild", "--target", "build", str(ctx))
    assert run(home, "onlybuild", "cat", "/out/result.txt") == "artifact\n"


@pytest.mark.parametrize("dockerfile,line,message", [
    ("FROM busybox\nRUN echo ok\nRUN exit 3\n", 3, "exited with code 3"),
    ("FROM busybox\nFROBNICATE now\n", 2, "unknown instruction: FROBNICATE"),
    ("FROM nosuchbase\n", 1, "not found (`cloudlet image bootstrap` makes the base images"),
    ("FROM busybox\nCOPY missing.txt /\n", 2, "missing.txt: not found in the build context"),
    ("FROM busybox\nADD https://example.com/x /x\n", 2, "network access"),
    ("FROM busybox\nCOPY --chown=nosuchuser x /x\n", 2, "--chown=nosuchuser"),
])
def test_errors_name_the_line(home, tmp_path, dockerfile, line, message):
    ctx = make_context(tmp_path, dockerfile, {"x": "x"})
    proc = home.cli("build", "-t", "broken", str(ctx), check=False)
    assert proc.returncode == 1
    assert f"Dockerfile:{line}:" in proc.stderr and message in proc.stderr
    assert "broken" not in home.cli("image", "ls").stdout
    assert home.engine().runtime.list() == []  # the failed RUN's container is gone too
