"""Request bodies before authentication (security review, issue 11): a body is refused early when
it is over its operation's limit, whether it declares its length or streams chunked, without the
server buffering it; a slow body is cut off; and a crowd of slow or oversized requests from one
address does not keep a signed call from another from being answered."""

import itertools
import re
import select
import socket
import time

import pytest
from botocore.exceptions import ClientError

from tests.e2e.errors import code
from tests.e2e.server import module_server

ATTACKER = "127.0.0.2"  # loopback answers from any 127/8 address: the attacks come from one of their own
FAKE_SIGNATURE = ("AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE0000/20250101/us-east-1/sts/aws4_request, "
                  "SignedHeaders=host, Signature=00")
MiB = 1 << 20


server = module_server("intake")


def rss_mb(server) -> float:
    for line in open(f"/proc/{server.proc.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Raw:
    """One HTTP/1.1 request on a socket of its own, written by hand: headers first, then the
    body at whatever pace the test likes, watching for an answer that comes before it ends."""

    def __init__(self, server, headers: dict, source: str = ATTACKER, path: str = "/"):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30, source_address=(source, 0))
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.sock.sendall(head.encode() + b"\r\n")
        self.received = b""

    def answered(self, wait: float = 0.0) -> bool:
        if not self.received and select.select([self.sock], [], [], wait)[0]:
            self.received = self.sock.recv(65536)
        return bool(self.received)

    def send(self, data: bytes) -> bool:
        """Send `data` unless the server has answered already; False once it has."""
        if self.answered():
            return False
        self.sock.sendall(data)
        return True

    def reply(self, timeout: float = 30) -> tuple[int, bytes]:
        """The answer's status and body."""
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.received:
            self._more()
        head = self.received.partition(b"\r\n\r\n")[0]
        length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
        while len(self.received) < len(head) + 4 + length:
            self._more()
        return int(head.split()[1]), self.received[len(head) + 4:]

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError(f"connection closed after {self.received!r}")
        self.received += data

    def close(self):
        self.sock.close()


def stream(request: Raw, server, chunks, chunked: bool) -> tuple[int, float]:
    """Send body chunks from an iterator until the server answers: (bytes sent, highest server RSS)."""
    sent, peak = 0, rss_mb(server)
    for i, chunk in enumerate(chunks):
        if not request.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk):
            break
        sent += len(chunk)
        if i % 16 == 0:
            peak = max(peak, rss_mb(server))
    return sent, max(peak, rss_mb(server))


@pytest.mark.parametrize("framing, signed, wanted", [
    ("content-length", False, (413, b"RequestEntityTooLarge")),
    ("chunked", False, (403, b"MissingAuthenticationToken")),  # refused on its headers, body never read
    ("chunked", True, (413, b"RequestEntityTooLarge")),  # counted as it streams
])
def test_an_800_mib_post_is_refused_without_being_buffered(server, framing, signed, wanted):
    size = 800 * MiB
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers.update({"Content-Length": str(size)} if framing == "content-length" else {"Transfer-Encoding": "chunked"})
    if signed:
        headers["Authorization"] = FAKE_SIGNATURE
    request = Raw(server, headers)
    try:
        chunks = itertools.repeat(b"A" * MiB, size // MiB)  # generated as sent, never held whole
        sent, peak = stream(request, server, chunks, chunked=framing == "chunked")
        status, body = request.reply()
    finally:
        request.close()
    assert (status, wanted[1] in body) == (wanted[0], True), body
    assert sent < 64 * MiB  # refused long before the end
    assert peak < 200, f"server RSS reached {peak:.0f} MB"
    print(f"{framing}{' signed' if signed else ''}: refused after {sent // MiB} MiB sent, server RSS peak {peak:.0f} MB")
    assert server.healthy()


def test_each_operation_takes_what_aws_lets_it(server):
    ecs, ec2 = server.client("ecs", validate=False), server.client("ec2", validate=False)
    with pytest.raises(ClientError) as err:
        ecs.list_clusters(nextToken="x" * (2 * MiB))
    assert err.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert code(ec2.describe_instances, Filters=[{"Name": "tag:x", "Values": ["x" * (2 * MiB)]}]) == \
        "RequestEntityTooLarge"
    # ECR's UploadLayerPart carries up to 20 MiB base64'd in JSON: a 10 MiB part is three times the default
    ecr = server.client("ecr")
    ecr.create_repository(repositoryName="intake/big-part")
    upload = ecr.initiate_layer_upload(repositoryName="intake/big-part")["uploadId"]
    part = bytes(range(256)) * (10 * MiB // 256)
    done = ecr.upload_layer_part(repositoryName="intake/big-part", uploadId=upload, partFirstByte=0,
                                 partLastByte=len(part) - 1, layerPartBlob=part)
    assert done["lastByteReceived"] == len(part) - 1


def test_a_slow_body_is_cut_off(server):
    request = Raw(server, {"Authorization": FAKE_SIGNATURE, "Content-Length": "100",
                           "Content-Type": "application/x-www-form-urlencoded"})
    started = time.monotonic()
    try:
        while request.send(b"A") and time.monotonic() - started < 30:
            request.answered(1.0)  # one byte a second: 100 seconds for the whole body
        status, body = request.reply()
    finally:
        request.close()
    assert status == 408 and b"<Code>RequestTimeout</Code>" in body, body
    assert time.monotonic() - started < 15


def test_bodies_in_memory_share_one_budget(server):
    # 24 UploadLayerPart bodies of 26 MiB (within the operation's limit) from six addresses, side by side,
    # each stalled a MiB short of its end: 624 MiB, where all bodies together may hold 256 and an address 64
    part, parts = b"A" * (256 << 10), 25 * 4
    headers = {"Authorization": FAKE_SIGNATURE.replace("/sts/", "/ecr/"), "Content-Length": str(26 * MiB),
               "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.UploadLayerPart",
               "Content-Type": "application/x-amz-json-1.1"}
    before = rss_mb(server)
    requests = [Raw(server, headers, source=f"127.0.0.{4 + i % 6}") for i in range(24)]
    left = {request: parts for request in requests}
    peak, deadline = before, time.monotonic() + 30
    try:
        while left and time.monotonic() < deadline:
            _, writable, _ = select.select([], [r.sock for r in left], [], 0.5)
            for request in [r for r in left if r.sock in writable]:
                request.sock.settimeout(2)
                try:
                    request.sock.sendall(part)
                    left[request] -= 1
                except TimeoutError:  # the server reads no more of it: it waits for room
                    left[request] = 0
                if request.answered() or not left[request]:
                    del left[request]
            peak = max(peak, rss_mb(server))
        answers = [request.reply(60) for request in requests]
    finally:
        for request in requests:
            request.close()
    throttled = [body for status, body in answers if status == 400 and b"ThrottlingException" in body]
    timed_out = [body for status, body in answers if status == 408 and b"RequestTimeoutException" in body]
    assert len(throttled) >= 15 and len(throttled) + len(timed_out) == len(requests), answers[:3]
    assert peak - before < 256 + 96, f"server RSS grew from {before:.0f} to {peak:.0f} MB"
    print(f"{len(throttled)} of {len(requests)} refused for room, server RSS {before:.0f} -> {peak:.0f} MB")


def test_a_crowd_of_slow_and_oversized_requests_does_not_hold_off_a_signed_call(server):
    slow = [Raw(server, {"Authorization": FAKE_SIGNATURE, "Content-Length": "1000",
                         "Content-Type": "application/x-www-form-urlencoded"}) for _ in range(120)]
    oversized = [Raw(server, {"Authorization": FAKE_SIGNATURE, "Content-Length": str(800 * MiB)}) for _ in range(20)]
    unsigned = [Raw(server, {"Content-Length": "1000"}) for _ in range(50)]
    everyone = slow + oversized + unsigned
    try:
        for request in slow + unsigned:
            request.send(b"A")
        started = time.monotonic()
        assert server.client("sts").get_caller_identity()["Account"]
        assert "clusterArns" in server.client("ecs").list_clusters()
        answered_in = time.monotonic() - started
        assert answered_in < 3, f"a signed call waited {answered_in:.1f}s"

        # unsigned ones are refused at once, unread; past its address's slots and queue the crowd is
        # refused as throttled; the oversized ones hear 413 as their turn comes
        assert all(r.reply(5)[0] == 403 for r in unsigned)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and sum(r.answered() for r in slow) < 40:
            time.sleep(0.1)
        throttled = [r.reply() for r in slow if r.answered()]
        assert len(throttled) >= 40 and all(status == 400 and b"<Code>Throttling</Code>" in body
                                            for status, body in throttled), throttled[:3]
        assert all(r.reply(60)[0] in (413, 400) for r in oversized)
    finally:
        for request in everyone:
            request.close()
    assert server.healthy()
