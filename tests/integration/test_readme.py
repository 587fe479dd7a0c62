"""README.md runs as written: every shell block of it, in order, in one bash and one directory,
against a fresh `cloudlet up` on a free port, as a user would after `make up`.

The README's own convention (its "Set up" section says it): ids go into shell variables that
later blocks use, `127.0.0.1:4566` is read as this server's address, and a block the test leaves
out says why in a `<!-- not run by the README test: ... -->` comment (tests/readme_blocks.py).
The directory has `.venv` and `examples` of this checkout; HOME is the server's, with the
`cloudlet` profile `cloudlet up` wrote (and skopeo's registries.conf); podman's storage and
the registry login are in the scratch dir, so nothing of the host's is touched."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from engine_fixtures import EngineHome

from tests.e2e.server import Server
from tests.hostcaps import need_binaries, need_root
from tests.readme_blocks import blocks

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]

REPO = Path(__file__).resolve().parents[2]
README_ADDRESS = "127.0.0.1:4566"
FAILED = re.compile(r"^::README-test failed at (\d+) with (\d+)$", re.M)
SETUP = ["make up      # installs what is missing (Debian packages, a virtualenv) and starts cloudlet on 127.0.0.1:4566",
         "make test    # installs the same, then runs the whole suite"]


def readme_blocks():
    return blocks((REPO / "README.md").read_text())


def script(runnable, address: str) -> tuple[str, list[int | None]]:
    """One bash script of the blocks, and the README line each of its lines comes from (None:
    the test's own). Exits at the first command that fails, saying at which of its lines."""
    lines: list[str] = ["set -eo pipefail",
                        "trap 'echo \"::README-test failed at $LINENO with $?\"' ERR"]
    origin: list[int | None] = [None, None]
    for block in runnable:
        lines.append(f"echo '::README-test block at line {block.line}'")
        origin.append(None)
        for offset, line in enumerate(block.lines):
            lines.append(line.replace(README_ADDRESS, address))
            origin.append(block.line + offset)
    return "\n".join(lines) + "\n", origin


def containers_settings(home: Path, scratch: Path, podman_dir: Path, registry: str) -> dict:
    """skopeo's and podman's settings: plain HTTP to this server's registry, as `cloudlet setup`
    says it for 127.0.0.1:4566 (in HOME's registries.conf: skopeo reads no variable for it), and a
    login and podman storage of their own, in the scratch dir."""
    (home / ".config" / "containers").mkdir(parents=True, exist_ok=True)
    (home / ".config" / "containers" / "registries.conf").write_text(
        f'unqualified-search-registries = []\n\n[[registry]]\nlocation = "{registry}"\ninsecure = true\n')
    (scratch / "storage.conf").write_text(f'[storage]\ndriver = "overlay"\nrunroot = "{podman_dir}/run"\n'
                                          f'graphroot = "{podman_dir}/root"\n')
    (scratch / "containers.conf").write_text('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\n')
    return {"CONTAINERS_STORAGE_CONF": str(scratch / "storage.conf"),
            "CONTAINERS_CONF": str(scratch / "containers.conf"),
            "REGISTRY_AUTH_FILE": str(scratch / "auth.json")}


@pytest.fixture
def cloud(tmp_path):
    need_root()
    need_binaries("runc", "conmon", "nft", "ip", "skopeo", "podman", "haproxy", "curl")
    home = EngineHome()  # a short data dir (conmon's socket paths) with network names of its own
    # a VPC pool no other module's server uses (its default VPC: 10.199.0.0/16)
    server = Server(tmp_path / "up", args=("--vpc-pool", "10.196.0.0/14"))
    server.data_dir = home.data_dir
    try:
        server.start()
        yield server
    finally:
        server.stop()
        home.destroy()


@pytest.mark.timeout(1800)  # the first use of the bootstrap images builds them (minutes), then all of it runs
def test_every_shell_block_of_the_readme_runs(cloud, tmp_path):
    found = readme_blocks()
    assert list(found[0].lines) == SETUP and found[0].skip  # the set-up itself: not run again
    runnable = [b for b in found if not b.skip]
    text, origin = script(runnable, f"127.0.0.1:{cloud.port}")
    scratch = tmp_path / "readme"
    scratch.mkdir()
    for name in (".venv", "examples"):  # the README's commands are run from the checkout
        (scratch / name).symlink_to(REPO / name)
    podman_dir = Path(tempfile.mkdtemp(prefix="pm", dir="/tmp"))  # podman: a runroot under 50 characters
    env = {**cloud.env(), "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}",
           "CLOUDLET_DATA_DIR": str(cloud.data_dir),
           **containers_settings(cloud.home, scratch, podman_dir, f"127.0.0.1:{cloud.port}")}
    transcript = tmp_path / "transcript"
    try:
        with transcript.open("w") as out:
            proc = subprocess.run(["bash", "-c", text], cwd=scratch, env=env, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT, timeout=1500)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the README's blocks did not end within 25 minutes:\n{last_block(transcript.read_text())}")
    finally:
        subprocess.run(["podman", "system", "reset", "-f"], env=env, capture_output=True)
        shutil.rmtree(podman_dir, ignore_errors=True)
    output = transcript.read_text()
    if proc.returncode != 0:
        failed = FAILED.findall(output)
        if failed:
            line = origin[int(failed[-1][0]) - 1]
            block = max(b.line for b in runnable if b.line <= line)
            where = f"README.md line {line} (the block at line {block}) exited {failed[-1][1]}"
        else:
            where = f"bash exited {proc.returncode}"
        pytest.fail(f"{where}; the output of its block:\n{last_block(output)}")
    ran = re.findall(r"^::README-test block at line (\d+)$", output, re.M)
    assert ran == [str(b.line) for b in runnable]  # each block ran, in order, and none was cut short


def last_block(output: str) -> str:
    return output[output.rfind("::README-test block at line"):][-6000:]


def test_blocks_are_found_as_markdown_shows_them():
    text = "\n".join([
        "Intro:", "    not a block: it continues the paragraph", "",
        "    echo one", "      --continued", "", "    echo still one", "", "",
        "```text", "", "    in a fence: not a block", "```", "",
        "<!-- not run by the README test: boots VMs -->", "", "    echo two", "",
    ])
    found = blocks(text)
    assert found[0].line == 4 and found[0].lines == ("echo one", "  --continued", "", "echo still one")
    assert found[0].skip is None
    assert found[1].line == 17 and found[1].lines == ("echo two",) and found[1].skip == "boots VMs"
    assert len(found) == 2


@pytest.mark.parametrize("text", [
    "<!-- not run by the README test: why -->\nA paragraph, not a block.\n\n    echo x\n",
    "<!-- not run by the README test:  -->\n\n    echo x\n",
    "    echo x\n\n<!-- not run by the README test: why -->\n",
    "```\n    echo x\n",
])
def test_a_marker_or_fence_out_of_place_is_refused(text):
    with pytest.raises(ValueError):
        blocks(text)


def test_the_readme_says_why_of_every_block_it_leaves_out():
    found = readme_blocks()
    left_out = [b for b in found if b.skip]
    assert all(len(b.skip) > 5 for b in left_out)
    assert len(found) - len(left_out) >= 10  # most of it runs: a marker is the exception


def test_a_failing_line_is_named_by_its_readme_line(tmp_path):
    from tests.readme_blocks import Block

    text, origin = script([Block(10, ("true",), None), Block(20, ("echo a \\", "  b", "false", "true"), None)],
                          "127.0.0.1:1")
    proc = subprocess.run(["bash", "-c", text], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1
    assert [origin[int(line) - 1] for line, _ in FAILED.findall(proc.stdout)] == [22]
    assert "::README-test block at line 20" in proc.stdout
