"""`cloudlet compare --quick` as a user runs it, against a server of its own: nginx as an ECS
task and as an EC2 instance of the AMI `cloudlet image to-ami` makes of it. The figures are
real and come out as physics says on this host; the report's files are whole, and the page
renders in Chromium with its plots."""

import json
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cloudlet.compare.figures import COLOURS
from tests import chromium
from tests.hostcaps import need_binaries
from tests.integration.ec2_fixtures import ec2_server_at

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.qemu, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def server():
    # a short root: conmon's socket paths under the engine's runtime dir must fit in 108 bytes,
    # which pytest's own tmp paths (popen-gw0/...) overrun
    root = Path(tempfile.mkdtemp(prefix="cmp", dir="/tmp"))
    srv = ec2_server_at(root, "100.64.0.0/12")
    yield srv
    srv.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def report(server, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    proc = server.cloudlet("compare", "--quick", "--out", str(out), timeout=900)
    (out / "stdout.txt").write_text(proc.stdout)  # the progress lines, for a look at a slow run
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n{server.read_log()[-3000:]}"
    return out, proc.stdout, json.loads((out / "compare.json").read_text())


def test_a_container_starts_faster_and_costs_less_than_a_vm(report):
    _, _, figures = report
    summary = figures["summary"]
    container, vm = summary["container"], summary["vm"]
    assert len(figures["kinds"]["container"]["start_s"]) == len(figures["kinds"]["vm"]["start_s"]) == 3
    assert 0 < container["start_median_s"] <= container["first_response_median_s"]
    assert 0 < vm["start_median_s"] <= vm["first_response_median_s"]
    assert container["first_response_median_s"] < vm["first_response_median_s"]
    assert 0 < container["idle_pss_mib"] < vm["idle_pss_mib"]
    assert container["density"] > vm["density"] > 0
    assert summary["host"]["cores"] >= 1 and summary["accelerator"] in ("tcg", "kvm")


def test_the_vm_has_a_kernel_of_its_own_and_the_container_the_host_s(report):
    _, _, figures = report
    kinds = figures["kinds"]
    assert kinds["container"]["isolation"]["kernel"] == platform.release() == kinds["host"]["isolation"]["kernel"]
    assert kinds["vm"]["isolation"]["kernel"] not in ("", platform.release())
    # a FARGATE task runs under seccomp with few capabilities; the VM's root has them all, in its own kernel
    assert kinds["container"]["isolation"]["seccomp"] == 2 and kinds["container"]["isolation"]["syscalls_allowed"]
    assert kinds["container"]["isolation"]["capabilities"] < kinds["vm"]["isolation"]["capabilities"]
    # a container sees the host's devices in /sys (this host may be a VM itself); a VM its own
    assert kinds["container"]["isolation"]["virtio_devices"] == kinds["host"]["isolation"]["virtio_devices"]
    assert kinds["vm"]["isolation"]["virtio_devices"] > 0 and "vda" in kinds["vm"]["isolation"]["devices"]
    assert kinds["container"]["isolation"]["pids_visible"] < kinds["host"]["isolation"]["pids_visible"]
    for kind in ("container", "vm", "host"):
        assert kinds[kind]["perf"]["cpu_s"] > 0 and kinds[kind]["perf"]["disk_write_mib_s"] > 0
        assert kinds[kind]["perf"]["random_read_iops"] > 0 and kinds[kind]["perf"]["random_write_iops"] > 0
    for kind in ("container", "vm"):  # from the host, and between two of a kind through the subnet
        assert kinds[kind]["perf"]["rr_latency_ms"] > 0 and kinds[kind]["perf"]["throughput_req_s"] > 0
        assert kinds[kind]["perf"]["peer_rr_latency_ms"] > 0 and kinds[kind]["perf"]["peer_throughput_req_s"] > 0
    assert kinds["host"]["perf"]["peer_throughput_req_s"] is None
    assert 0 < kinds["container"]["size_bytes"] and 0 < kinds["vm"]["size_bytes"]


def test_the_report_s_files_and_the_terminal_table(report):
    out, stdout, figures = report
    for svg in ("start.svg", "memory.svg", "density.svg", "perf.svg"):
        assert ET.parse(out / svg).getroot().tag.endswith("svg")
    page = (out / "index.html").read_text()
    assert all(f'src="{svg}"' in page for svg in ("start.svg", "memory.svg", "density.svg", "perf.svg"))
    assert "container" in stdout.lower() and "vm" in stdout.lower() and "compare.json" in stdout


@pytest.mark.chromium
def test_the_page_renders_in_chromium_with_its_plots(report, tmp_path):
    need_binaries(chromium.BINARY)
    out, _, _ = report
    shot = chromium.screenshot(out / "index.html", tmp_path / "page.png", tmp_path / "profile")
    shot.assert_drawn()
    # only the plots, loaded and drawn, bring these colours to the page
    assert shot.has(COLOURS["container"]) and shot.has(COLOURS["vm"]), "the plots were not drawn in the page"


def test_nothing_is_left_running(report, server):
    _, _, _ = report
    ecs, ec2 = server.client("ecs"), server.client("ec2")
    assert not ecs.list_tasks(cluster="cloudlet-compare", desiredStatus="RUNNING")["taskArns"]
    states = {i["State"]["Name"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    assert states <= {"terminated"}
    assert not ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["cloudlet-compare"]}])[
        "SecurityGroups"]


def test_ctrl_c_removes_what_it_started(report, server, tmp_path):
    """Interrupted while its VMs start, the compare removes them and its security group."""
    proc = subprocess.Popen([sys.executable, "-m", "cloudlet.cli.main", "compare", "--quick", "--out",
                             str(tmp_path), "--data-dir", str(server.data_dir)], env=server.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        for line in proc.stdout:  # progress lines, as they come
            seen.append(line)
            if line.startswith("EC2 instance") and "starts" in line:
                break
        time.sleep(1)  # the first one launched and booting
        ec2 = server.client("ec2")
        assert any(i["State"]["Name"] in ("pending", "running")
                   for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]), "".join(seen)
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=180)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "removing what the compare started: done" in rest, rest
    test_nothing_is_left_running(report, server)
