"""Delivery of SNS messages to HTTP/S endpoints, off the request thread.

Publish (and publish() below, which CloudWatch's alarm actions call) only queues the message:
the worker threads fan it out to the topic's subscriptions (fanout.py) and POST each delivery.
A delivery is made when the endpoint answers 2xx. 429 and 5xx answers, refused connections and
timeouts are retried after the delays of the subscription's delivery policy (AWS's default:
three retries 20 seconds apart); other answers (3xx, whose redirect is not followed, and 4xx)
end it, as nothing would change on a retry. Connecting waits CONNECT_WAIT seconds, the whole
exchange at most EXCHANGE_WAIT; no more than READ_LIMIT bytes of the answer are read. Before
every attempt the subscription is looked up again, so an unsubscribed endpoint gets nothing
more. The endpoint is resolved and checked again at each attempt (endpoints.py has the rule).

The queue lives in memory: deliveries still waiting when cloudlet stops are lost (there is no
table for them). It holds at most MAX_QUEUED bytes of messages, PER_ACCOUNT of one account's,
so that one tenant's fan-out can neither exhaust memory nor take every other's turn; past
that, new deliveries are dropped and logged.
"""

from __future__ import annotations

import base64
import functools
import heapq
import http.client
import itertools
import logging
import socket
import ssl
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote

from . import endpoints, records
from .fanout import Delivery, Published, deliveries

log = logging.getLogger("cloudlet.sns.delivery")
THREADS = 4
MAX_QUEUED = 256 << 20  # bytes
PER_ACCOUNT = 64 << 20
_OVERHEAD = 1024  # bytes a queued job takes besides its message
CONNECT_WAIT = 5.0
EXCHANGE_WAIT = 15.0
READ_LIMIT = 4096


@dataclass(frozen=True)
class Listeners:
    """Where cloudlet's API answers (the links in messages point there) and the ports of all of
    cloudlet's own listeners (never delivered to on this host)."""

    endpoint: str
    ports: frozenset[int]


_listeners: Listeners | None = None


def configure(config) -> None:
    """Told by the SNS provider, which the API makes as it starts (edge/app.py)."""
    global _listeners
    _listeners = Listeners(config.endpoint, frozenset(p for p in (config.port, config.imds_port,
                                                                  config.task_metadata_port) if p))


def listeners() -> Listeners:
    if _listeners is None:
        raise RuntimeError("SNS delivery is not configured: the SNS provider configures it as the API starts")
    return _listeners


@dataclass
class _FanOut:
    store: object
    account_id: str
    region: str
    published: Published


def _size(job) -> int:
    if isinstance(job, _FanOut):
        return _OVERHEAD + len(job.published.message)
    return _OVERHEAD + len(job.body)


class Refused(Exception):
    """An endpoint that is, or resolves to, an address SNS does not deliver to."""


@functools.cache
def _tls() -> ssl.SSLContext:
    """The host's trusted CAs, names checked: as AWS, SNS delivers over TLS it can verify."""
    return ssl.create_default_context()


def _cut(conn: http.client.HTTPConnection) -> None:
    """End an exchange that takes too long (an endpoint trickling its answer)."""
    try:
        if conn.sock is not None:
            conn.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed meanwhile


def _exchange(target: endpoints.Target, address: str, headers: dict, body: bytes) -> int:
    """POST to the checked `address`, naming the host as the URL does (Host, TLS name)."""
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(target.host, target.port, timeout=CONNECT_WAIT, context=_tls())
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=CONNECT_WAIT)
    # connect to the address that was checked, not to whatever the name resolves to next
    conn._create_connection = lambda _, timeout, source: socket.create_connection(
        (address, target.port), timeout, source)
    watchdog = threading.Timer(EXCHANGE_WAIT, _cut, (conn,))
    watchdog.start()
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(READ_LIMIT)
        return response.status
    finally:
        watchdog.cancel()
        conn.close()


def post(url: str, headers: dict, body: bytes, own_ports: frozenset[int]) -> int:
    """The status an endpoint answers; OSError when none answers, Refused for a refused address."""
    target = endpoints.parse(url.split(":", 1)[0], url)
    if target.password is not None:
        credentials = f"{unquote(target.user or '')}:{unquote(target.password)}".encode()
        headers = {**headers, "Authorization": "Basic " + base64.b64encode(credentials).decode()}
    addresses = endpoints.resolve(target.host, target.port)
    for address in addresses:
        reason = endpoints.refusal(address, target.port, own_ports)
        if reason:
            raise Refused(f"{target.host}:{reason}")
    failure: Exception | None = None
    for address in addresses[:3]:
        try:
            return _exchange(target, address, headers, body)
        except (OSError, http.client.HTTPException) as error:
            failure = error
    raise OSError(str(failure))


class Worker:
    def __init__(self):
        self._due: list = []  # (when, sequence, job)
        self._order = itertools.count()
        self._queued: Counter = Counter()  # bytes queued, by account
        self._total = 0
        self._wake = threading.Condition()
        for n in range(THREADS):
            threading.Thread(target=self._run, name=f"sns-delivery-{n}", daemon=True).start()

    def put(self, job, delay: float = 0.0) -> bool:
        size = _size(job)
        with self._wake:
            if self._total + size > MAX_QUEUED or self._queued[job.account_id] + size > PER_ACCOUNT:
                log.warning("SNS delivery queue full: a delivery for account %s dropped", job.account_id)
                return False
            self._queued[job.account_id] += size
            self._total += size
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), job))
            self._wake.notify()
        return True

    def _take(self):
        with self._wake:
            while not self._due or self._due[0][0] > time.monotonic():
                self._wake.wait(self._due[0][0] - time.monotonic() if self._due else None)
            job = heapq.heappop(self._due)[2]
            size = _size(job)
            self._total -= size
            self._queued[job.account_id] -= size
            if not self._queued[job.account_id]:
                del self._queued[job.account_id]
            return job

    def _run(self) -> None:
        while True:
            job = self._take()
            try:
                if isinstance(job, _FanOut):
                    for one in deliveries(job.store, job.account_id, job.region, job.published,
                                          listeners().endpoint):
                        self.put(one)
                else:
                    self._attempt(job)
            except Exception:  # one bad job (a vanished store, a bug) must not stop the worker
                log.exception("SNS delivery for account %s failed", job.account_id)

    def _attempt(self, job: Delivery) -> None:
        if not job.wanted():
            return
        try:
            status = post(job.url, job.headers, job.body, listeners().ports)
        except Refused as refused:
            log.warning("SNS delivery to %s refused: %s", job.subscription_arn, refused)
            return
        except (OSError, UnicodeError, endpoints.EndpointError) as error:
            status, reason = None, str(error)
        else:
            reason = f"HTTP {status}"
        if status is not None and status < 500 and status != 429:
            if not 200 <= status < 300:
                log.info("SNS delivery to %s answered %s: not retried", job.subscription_arn, status)
            return
        if not job.delays:
            log.warning("SNS delivery to %s failed (%s): no retries left", job.subscription_arn, reason)
            return
        delay = job.delays.pop(0)
        log.info("SNS delivery to %s failed (%s): retried in %.0f s", job.subscription_arn, reason, delay)
        self.put(job, delay)


_worker: Worker | None = None
_lock = threading.Lock()


def worker() -> Worker:
    """The process's delivery worker, started on first use."""
    global _worker
    with _lock:
        if _worker is None:
            _worker = Worker()
        return _worker


def send(delivery: Delivery) -> None:
    worker().put(delivery)


def queue(store, account_id: str, region: str, published: Published) -> None:
    worker().put(_FanOut(store, account_id, region, published))


def publish(store, account_id: str, region: str, topic_arn: str, message: str, subject: str | None) -> str | None:
    """Publish `message` to a topic of the account in region (as CloudWatch's alarm actions do);
    its MessageId, or None when there is no such topic. Returns before any delivery is made."""
    with store.scoped(account_id, region, write=False) as db:
        if records.get_topic(db, topic_arn) is None:
            return None
    published = Published(str(uuid.uuid4()), topic_arn, message, subject)
    queue(store, account_id, region, published)
    return published.message_id
