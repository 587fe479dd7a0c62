"""Where SNS delivers: the endpoint rule (no link-local addresses, none of cloudlet's own
listeners on this host), endpoint URLs, and retry schedules of delivery policies."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cloudlet.services.sns import delivery, delivery_policy, endpoints


@pytest.mark.parametrize("address, port", [
    ("169.254.169.254", 80), ("169.254.170.2", 80), ("::ffff:169.254.169.254", 80), ("fe80::1", 80),
    ("fe80::1%lo", 80), ("127.0.0.1", 4566), ("127.0.0.2", 4566), ("0.0.0.0", 4566), ("::1", 4566),
    ("::ffff:127.0.0.1", 4566), ("127.0.0.1", 9001),
])
def test_refused(address, port):
    assert endpoints.refusal(address, port, frozenset({4566, 9001})) is not None


@pytest.mark.parametrize("address, port", [
    ("127.0.0.1", 8080), ("10.1.2.3", 4566), ("192.168.0.10", 80), ("172.16.5.4", 443), ("::1", 8443),
    ("8.8.8.8", 4566),
])
def test_allowed(address, port):
    assert endpoints.refusal(address, port, frozenset({4566, 9001})) is None


def test_urls():
    target = endpoints.parse("https", "https://user:p%40ss@hooks.example:8443/in?x=1#frag")
    assert (target.host, target.port, target.path, target.user, target.password) == \
        ("hooks.example", 8443, "/in?x=1", "user", "p%40ss")
    assert endpoints.parse("http", "http://[::1]/").host == "::1"
    assert endpoints.parse("http", "http://h").port == 80 and endpoints.parse("http", "http://h").path == "/"
    assert endpoints.masked("https://user:secret@h/x") == "https://user:****@h/x"
    assert endpoints.masked("https://h/x") == "https://h/x"
    for protocol, bad in [("http", "https://h/"), ("http", "http://"), ("http", "http://h:99999/"),
                          ("http", "http://h:0/"), ("http", "http://h/a b"), ("http", "http://h/\u00e9"),
                          ("http", "http://h/" + "x" * 3000), ("https", "ftp://h/")]:
        with pytest.raises(endpoints.EndpointError):
            endpoints.parse(protocol, bad)


class _Counting(BaseHTTPRequestHandler):
    hits = 0

    def do_POST(self):
        type(self).hits += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_):
        pass


def test_delivery_refuses_a_name_that_resolves_to_an_own_listener():
    """Resolution happens at delivery, and what it gives is checked before connecting."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    try:
        with pytest.raises(delivery.Refused):
            delivery.post(f"http://localhost:{port}/x", {}, b"{}", frozenset({port}))
        assert _Counting.hits == 0
        assert delivery.post(f"http://localhost:{port}/x", {}, b"{}", frozenset()) == 204
        assert _Counting.hits == 1
    finally:
        server.shutdown()


def test_retry_schedules():
    assert delivery_policy.delays(delivery_policy.DEFAULT_RETRY) == [20.0, 20.0, 20.0]
    retry = {**delivery_policy.DEFAULT_RETRY, "minDelayTarget": 1, "maxDelayTarget": 8, "numRetries": 7,
             "numNoDelayRetries": 1, "numMinDelayRetries": 1, "numMaxDelayRetries": 1,
             "backoffFunction": "exponential"}
    assert delivery_policy.delays(retry) == [0.0, 1.0, 1 * 8 ** 0.25, 1 * 8 ** 0.5, 1 * 8 ** 0.75, 8.0, 8.0]
    with pytest.raises(delivery_policy.DeliveryPolicyError, match="3600 seconds"):
        delivery_policy.check_subscription('{"healthyRetryPolicy": {"minDelayTarget": 3600, "maxDelayTarget": 3600, '
                                           '"numRetries": 2}}')
    with pytest.raises(delivery_policy.DeliveryPolicyError, match="headerContentType"):
        delivery_policy.check_subscription('{"requestPolicy": {"headerContentType": "text/plain\\r\\nX-Evil: 1"}}')
