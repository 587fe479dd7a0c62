"""Where SNS may deliver. A subscription's endpoint is a URL its tenant chose, and cloudlet
POSTs to it from the host, so it is checked at Subscribe and again at every delivery (a name
may resolve elsewhere by then):

- refused: link-local addresses, 169.254.0.0/16 and fe80::/10 (IPv4-mapped forms included):
  the instance metadata services live there;
- refused: any address of this host (loopback, 0.0.0.0, its interfaces' addresses) on the port
  of one of cloudlet's own listeners (the API, whose /v2/ is the registry, and the metadata
  listeners): a tenant could otherwise make cloudlet call itself from the inside;
- allowed: every other address, loopback and private ranges included, so that local webhooks,
  tests and the workloads cloudlet runs can be subscribed.

At delivery the name is resolved, every address it gives is checked, and the connection goes
to an address that passed (no second look-up that a rebinding DNS could answer otherwise).
At Subscribe a name that does not resolve within RESOLVE_WAIT is let through: delivery checks it.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_LENGTH = 2048
RESOLVE_WAIT = 2.0  # seconds Subscribe waits for a name to resolve
_LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
_resolver = ThreadPoolExecutor(2, thread_name_prefix="sns-resolve")


class EndpointError(Exception):
    """Why an endpoint is refused (the text after AWS's "Invalid parameter: Endpoint")."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # a name, or an address (IPv6 without brackets)
    port: int
    path: str  # what the request line asks for: path and query
    user: str | None = None
    password: str | None = None


def parse(protocol: str, url: str) -> Target:
    if not url.startswith(f"{protocol}://"):
        raise EndpointError(" must match the specified protocol")
    if len(url) > MAX_LENGTH or not url.isascii() or any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in url):
        raise EndpointError(f" Reason: must be an ASCII URL of at most {MAX_LENGTH} characters without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise EndpointError(" Reason: not a valid URL") from None
    if not parts.hostname or port == 0:
        raise EndpointError(" Reason: the URL names no host and port to deliver to")
    port = port or (443 if protocol == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(protocol, parts.hostname, port, path, parts.username, parts.password)


def masked(url: str) -> str:
    """The endpoint as SNS shows it: a password in it replaced by ****."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:****@{host}").geturl()


def _address(text: str):
    address = ipaddress.ip_address(text.split("%", 1)[0])
    return address.ipv4_mapped or address if address.version == 6 else address


def _is_this_host(address) -> bool:
    """Whether `address` is one of this host's: only those can be bound to."""
    if address.is_unspecified or address.is_loopback:
        return True
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True


def refusal(text: str, port: int, own_ports: frozenset[int]) -> str | None:
    """Why cloudlet will not deliver to address `text` on `port` (None: it will)."""
    address = _address(text)
    if any(address in network for network in _LINK_LOCAL):
        return f" Reason: {address} is a link-local address (the metadata services'), which SNS does not deliver to"
    if port in own_ports and _is_this_host(address):
        return f" Reason: {address} port {port} is one of cloudlet's own listeners, which SNS does not deliver to"
    return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` stands for (itself when it is one), in the resolver's order."""
    try:
        _address(host)
        return [host]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def check(target: Target, own_ports: frozenset[int]) -> None:
    """Subscribe's check: refuse a target that is, or already resolves to, a refused address."""
    try:
        addresses = _resolver.submit(resolve, target.host, target.port).result(RESOLVE_WAIT)
    except (OSError, UnicodeError, Late):
        return  # unknown or slow to resolve now: delivery resolves it again and checks
    for address in addresses:
        reason = refusal(address, target.port, own_ports)
        if reason:
            raise EndpointError(reason)
