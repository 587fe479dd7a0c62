"""`cloudlet up` logs each request at info level (service, operation, status, milliseconds);
--log-level warning keeps them out."""

import re

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server


def _log_of(tmp_path, *args: str) -> str:
    """What a server started with args logged while it answered one good and one bad request."""
    srv = Server(tmp_path, args=args).start()
    try:
        srv.client("sts").get_caller_identity()
        with pytest.raises(ClientError):
            srv.client("ec2").describe_images(ImageIds=["ami-0123456789abcdef0"])
        return srv.read_log()
    finally:
        srv.stop()


def test_each_request_is_logged_with_its_status_and_time(tmp_path):
    log = _log_of(tmp_path)
    assert re.search(r"cloudlet\.edge INFO sts GetCallerIdentity 200 \d+\.\d ms", log), log
    assert re.search(r"cloudlet\.edge INFO ec2 DescribeImages 400 \d+\.\d ms", log), log


def test_warning_level_keeps_requests_out(tmp_path):
    log = _log_of(tmp_path, "--log-level", "warning")
    assert "GetCallerIdentity" not in log and "DescribeImages" not in log
