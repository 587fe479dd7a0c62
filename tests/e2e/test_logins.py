"""Failed logins are slowed (security review, issue 11): a burst of wrong registry passwords and
one of wrong SigV4 secrets, each from an address of its own and several at a time, are spaced
out once past a small allowance, logged without the secret, and the right credential still works
afterwards, while an address with no failures is not slowed at all."""

import base64
import http.client
import re
import threading
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cloudlet import logins
from tests.e2e.server import module_server

ATTEMPTS = logins.FREE + 16
THREADS = 6
STS_CALL = b"Action=GetCallerIdentity&Version=2011-06-15"


server = module_server("logins")


def registry_password(server) -> str:
    token = server.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().partition(":")[2]


def registry_attempt(conn, server, password: str) -> int:
    conn.request("GET", "/v2/", headers={"Authorization": "Basic " + base64.b64encode(f"AWS:{password}".encode())
                                         .decode()})
    reply = conn.getresponse()
    reply.read()
    return reply.status


def sigv4_attempt(conn, server, secret: str) -> int:
    request = AWSRequest("POST", f"{server.endpoint}/", data=STS_CALL,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(server.profile()["aws_access_key_id"], secret), "sts", "us-east-1").add_auth(request)
    conn.request("POST", "/", body=request.body, headers=dict(request.headers))
    reply = conn.getresponse()
    reply.read()
    return reply.status


def burst(server, attempt, wrong: str, source: str) -> list[tuple[float, int]]:
    """ATTEMPTS failing logins from `source`, THREADS at a time: (time answered, status) of each."""
    answers, lock, left = [], threading.Lock(), [ATTEMPTS]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120, source_address=(source, 0))
        try:
            while True:
                with lock:
                    if not left[0]:
                        return
                    left[0] -= 1
                status = attempt(conn, server, wrong)
                with lock:
                    answers.append((time.monotonic(), status))
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(answers)


def rate(answers) -> float:
    return (len(answers) - 1) / (answers[-1][0] - answers[0][0])


def test_bursts_of_failed_logins_are_slowed_and_logged(server):
    password, key = registry_password(server), server.profile()["aws_access_key_id"]
    found = {}
    bursts = [threading.Thread(target=lambda: found.update(registry=burst(server, registry_attempt, "not.it",
                                                                           "127.0.0.2"))),
              threading.Thread(target=lambda: found.update(sigv4=burst(server, sigv4_attempt, "x" * 40,
                                                                        "127.0.0.3")))]
    for t in bursts:
        t.start()
    for t in bursts:
        t.join()

    for kind, refused in (("registry", 401), ("sigv4", 403)):
        answers = found[kind]
        assert [status for _, status in answers] == [refused] * ATTEMPTS
        free, paced = answers[:logins.FREE], answers[-8:]
        print(f"{kind}: {rate(free):.0f}/s within the allowance, {rate(paced):.2f}/s past it")
        assert rate(free) > 10 * rate(paced)
        assert rate(paced) < 2.0  # attempts a second (CAP apart at most once hot, whatever the concurrency)

    log = server.read_log()
    assert "failed registry login from 127.0.0.2 as 'AWS'" in log
    assert f"failed sigv4 login from 127.0.0.3 as '{key}'" in log
    assert "not.it" not in log and "x" * 40 not in log
    assert "attempts now wait 1.00s apart" in log

    # the right credential still works from the hot addresses (after its turn), and at once elsewhere
    for source, attempt, right, wanted in (("127.0.0.2", registry_attempt, password, 200),
                                           ("127.0.0.3", sigv4_attempt, server.profile()["aws_secret_access_key"], 200)):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60, source_address=(source, 0))
        try:
            assert attempt(conn, server, right) == wanted
        finally:
            conn.close()
    # an address without failures is never made to wait its turn (timing it would measure the machine's load)
    for _ in range(5):
        server.client("sts").get_caller_identity()
    assert not re.search(r"login from 127\.0\.0\.1\b", server.read_log())
