"""The probe of `cloudlet compare`, run here on the host as the compare runs it there, and
read back; the parts of the driver that take a user's image name and config."""

import http.server
import os
import platform
import socket
import subprocess
import threading

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
    assert found["perf"]["random_read_iops"] > found["perf"]["random_write_iops"] > 0
    assert found["perf"]["peer_throughput_req_s"] is None  # no peer given
    assert not list(tmp_path.iterdir())  # its file is removed


class _Page(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept alive, as nginx does
    wbufsize = 65536  # the answer in one write (in two, Nagle and delayed ACKs would time those)
    served = 0

    def do_GET(self):
        type(self).served += 1
        body = b"peer\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if self.served % 50 == 0:  # the server ends the connection now and then, as nginx does
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_probe_times_requests_to_a_peer_that_closes_now_and_then(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = subprocess.run(["sh", "-c", probe.script("127.0.0.1", server.server_address[1])],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PROBE_DIR": str(tmp_path)}).stdout
    finally:
        server.shutdown()
        server.server_close()
    found = probe.parse(out)["perf"]
    assert found["peer_throughput_req_s"] > 50 and _Page.served > 100
    assert found["peer_rr_latency_ms"] == pytest.approx(1000 / found["peer_throughput_req_s"])


def test_a_peer_that_is_not_there_gives_no_figure(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = subprocess.run(["sh", "-c", probe.script("127.0.0.1", port)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PROBE_DIR": str(tmp_path)}).stdout
    assert "probe peer_error" in out and probe.parse(out)["perf"]["peer_throughput_req_s"] is None


def test_a_hostile_peer_address_is_only_ever_an_argument(tmp_path):
    out = subprocess.run(["sh", "-c", probe.script("1.2.3.4'; touch pwned; '$(touch pwned2)", 80)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PROBE_DIR": str(tmp_path)}).stdout
    assert "probe peer_error" in out and not list(tmp_path.iterdir())
    with pytest.raises(ValueError):
        probe.script("1.2.3.4", "80; reboot")



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
