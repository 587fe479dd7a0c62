"""What the SNS tests share: a real HTTP subscriber on 127.0.0.1, and a check of a message's
signature written from AWS's documentation (not from cloudlet's code)."""

import base64
import json
import queue
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding


@dataclass
class Received:
    path: str
    headers: dict  # lower-case names
    body: bytes

    @property
    def doc(self) -> dict:
        return json.loads(self.body)


class Subscriber:
    """An endpoint that records every POST. `answers[path]` is a list of statuses to answer, in
    turn, before answering 200."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.received: queue.Queue[Received] = queue.Queue()
        self.answers: dict[str, list[int]] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.received.put(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                statuses = owner.answers.get(self.path.split("?")[0])
                self.send_response(statuses.pop(0) if statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:  # the handshake happens as each connection is accepted
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def next(self, path: str | None = None, timeout: float = 15.0) -> Received:
        """The next POST (to `path`, others being put back), or AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        skipped = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"nothing POSTed to {path or 'the subscriber'} within {timeout}s")
                try:
                    got = self.received.get(timeout=left)
                except queue.Empty:
                    continue
                if path is None or got.path == path:
                    return got
                skipped.append(got)
        finally:
            for got in skipped:
                self.received.put(got)

    def nothing(self, path: str, seconds: float = 2.0) -> None:
        """Assert that nothing is POSTed to `path` for `seconds`."""
        try:
            got = self.next(path, seconds)
        except AssertionError:
            return
        raise AssertionError(f"{path} was POSTed {got.body[:200]!r}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module", name="sns")
def sns_client(server):
    return server.client("sns")


@pytest.fixture(scope="module", name="subscriber")
def http_subscriber():
    """A Subscriber for a test module, closed after it."""
    s = Subscriber()
    yield s
    s.close()


NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def verify(doc: dict) -> None:
    """Check doc's Signature against the certificate its SigningCertURL serves, as AWS's
    "Verifying the signatures of Amazon SNS messages" tells subscribers to."""
    fields = NOTIFICATION_FIELDS if doc["Type"] == "Notification" else CONFIRMATION_FIELDS
    text = "".join(f"{name}\n{doc[name]}\n" for name in fields if name in doc)
    with urllib.request.urlopen(doc["SigningCertURL"], timeout=10) as response:
        cert = x509.load_pem_x509_certificate(response.read())
    digest = {"1": hashes.SHA1(), "2": hashes.SHA256()}[doc["SignatureVersion"]]
    cert.public_key().verify(base64.b64decode(doc["Signature"]), text.encode(), padding.PKCS1v15(), digest)


def get(url: str) -> tuple[int, bytes]:
    """GET `url` without any credentials, as a subscriber opens a SubscribeURL."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def confirmed(sns, subscriber: Subscriber, topic_arn: str, path: str, **attributes) -> str:
    """Subscribe subscriber's `path` to the topic and confirm it by its SubscribeURL; the subscription's ARN."""
    sns.subscribe(TopicArn=topic_arn, Protocol=subscriber.scheme, Endpoint=subscriber.url(path),
                  **({"Attributes": attributes} if attributes else {}))
    doc = subscriber.next(path).doc
    assert doc["Type"] == "SubscriptionConfirmation"
    status, body = get(doc["SubscribeURL"])
    assert status == 200, body
    return body.decode().split("<SubscriptionArn>")[1].split("<")[0]
