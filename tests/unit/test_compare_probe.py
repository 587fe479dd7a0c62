"""The probe of `cloudlet compare`, run here on the host as the compare runs it there, and
read back; the parts of the driver that take a user's image name and config."""

import os
import platform
import subprocess

import pytest

from cloudlet.bootstrap.amis import IMPORTED
from cloudlet.compare import driver, probe
from cloudlet.services.ec2.images import _NAME


def test_the_probe_on_this_host_reads_back(tmp_path):
    out = subprocess.run(["sh", "-c", probe.SCRIPT], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PROBE_DIR": str(tmp_path)}).stdout
    found = probe.parse(out)
    assert found["isolation"]["kernel"] == platform.release()
    assert found["isolation"]["pids_visible"] > 1 and found["isolation"]["mounts"] > 1
    assert "null" in found["isolation"]["devices"]
    assert found["perf"]["cpu_s"] > 0 and found["perf"]["disk_write_mib_s"] > 0
    assert not list(tmp_path.iterdir())  # its file is removed


def test_only_a_whole_probe_counts_and_other_lines_are_ignored():
    with pytest.raises(KeyError):
        probe.parse(f"{probe.BEGIN}\nprobe kernel 6.1\n")  # cut off before its end
    text = (f"[    0.1] kernel noise\n{probe.BEGIN}\nprobe kernel 6.1.0\nprobe status CapEff:\t00000000a80425fb\n"
            f"probe status Seccomp:\t2\nprobe pids x\nprobe cpu 1.00 garbage\nnot a probe line\n{probe.END}\n")
    found = probe.parse(text)
    assert found["isolation"]["capabilities"] == 14 and found["isolation"]["seccomp"] == 2
    assert found["isolation"]["pids_visible"] is None and found["isolation"]["mounts"] is None
    assert found["perf"]["cpu_s"] is None


@pytest.mark.parametrize("image", ["nginx", "123456789012.dkr.ecr.us-east-1.localhost/web:1",
                                   "a b;rm -rf /`$(x)`\n", "x" * 300, "<script>"])
def test_the_ami_name_of_any_image_is_a_valid_ami_name(image):
    name = driver._ami_name(image)
    assert _NAME.fullmatch(name) and name.startswith("cloudlet-compare/")
    assert not IMPORTED.fullmatch(name)


def test_the_workload_port_is_the_first_exposed_tcp_one():
    assert driver._port({"ExposedPorts": {"8080/tcp": {}, "53/udp": {}, "443/tcp": {}}}) == 443
    assert driver._port({"ExposedPorts": {"53/udp": {}}}) is None and driver._port({}) is None
