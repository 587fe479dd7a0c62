"""`cloudlet up` logs each request at info level (service, operation, status, milliseconds);
--log-level warning keeps them out."""

import re

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server


def _calls(srv: Server) -> None:
    srv.client("sts").get_caller_identity()
    with pytest.raises(ClientError):
        srv.client("ec2").describe_images(ImageIds=["ami-0123456789abcdef0"])


def test_each_request_is_logged_with_its_status_and_time(tmp_path):
    srv = Server(tmp_path).start()
    try:
        _calls(srv)
        log = srv.read_log()
    finally:
        srv.stop()
    assert re.search(r"cloudlet\.edge INFO sts GetCallerIdentity 200 \d+\.\d ms", log), log
    assert re.search(r"cloudlet\.edge INFO ec2 DescribeImages 400 \d+\.\d ms", log), log


def test_warning_level_keeps_requests_out(tmp_path):
    srv = Server(tmp_path, args=("--log-level", "warning")).start()
    try:
        _calls(srv)
        log = srv.read_log()
    finally:
        srv.stop()
    assert "GetCallerIdentity" not in log and "DescribeImages" not in log
