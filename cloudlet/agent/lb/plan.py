"""What one load balancer's proxy should be, in plain terms the agent understands (no AWS
names): frontends that listen, rules that choose an action per request, backends of servers
with their health checks. control/ compiles it from the store; proxy.py makes HAProxy run it.

Every string here may come from a tenant (paths, host names, header values, bodies): the
renderer quotes or rejects each, so that none can add a line or a directive of its own."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Condition:
    """One test of a request; its values are alternatives (any may match).
    kind: "path" (wildcards * and ?, case-sensitive), "host" (wildcards, any case),
    "header" (name: the header; values with wildcards, any case), "method" (exact),
    "query" (pairs: (key or None, value) with wildcards), "source" (CIDRs)."""

    kind: str
    values: tuple[str, ...] = ()
    name: str | None = None
    pairs: tuple[tuple[str | None, str], ...] = ()


@dataclass(frozen=True)
class Forward:
    """To backends by weight (a weight of 0 gets nothing); sticky_seconds: a client kept on
    the backend it got first, for that long (a cookie), when more than one has weight."""

    backends: tuple[tuple[str, int], ...]
    sticky_seconds: int | None = None


@dataclass(frozen=True)
class Redirect:
    """Where to send the client: each part None keeps the request's own; in host, path and
    query, #{host}, #{port}, #{path}, #{query} and #{protocol} stand for the request's."""

    status: int  # 301 or 302
    protocol: str | None = None
    host: str | None = None
    port: str | None = None
    path: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class FixedResponse:
    status: int
    content_type: str | None = None
    body: str = ""


Action = Forward | Redirect | FixedResponse


@dataclass(frozen=True)
class Rule:
    """Conditions that must all hold; the lowest priority that matches decides."""

    priority: int
    conditions: tuple[Condition, ...]
    action: Action


@dataclass(frozen=True)
class Bind:
    """Where a frontend listens: an address in a network namespace (None: the host's)."""

    address: str
    port: int
    netns: str | None = None
    # paths of PEMs (certificate, chain, key): TLS is ended here, with the one whose names match
    # the name the client asks for (SNI), else the first
    certificates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Frontend:
    name: str
    mode: str  # "http" or "tcp"
    binds: tuple[Bind, ...]
    default: Action
    rules: tuple[Rule, ...] = ()
    idle_timeout: int = 60  # seconds a connection may stay idle


@dataclass(frozen=True)
class HealthCheck:
    protocol: str  # "http", "https" or "tcp"
    interval: int  # seconds
    timeout: int  # seconds
    rise: int  # successes in a row that make a server healthy
    fall: int  # failures in a row that make it unhealthy
    path: str = "/"
    port: int | None = None  # None: the server's own port
    codes: str = "200"  # "200", "200,202", "200-299"


@dataclass(frozen=True)
class Server:
    name: str
    address: str
    port: int
    netns: str | None = None  # the namespace its connections (and checks) are made from
    weight: int = 1
    draining: bool = False  # takes no new connections; the ones it has go on
    held: bool = False  # counted down until its checks pass `rise` times in a row (a new target)
    backup: bool = False  # unchecked, and takes requests only while no other server is up


@dataclass(frozen=True)
class Backend:
    name: str
    mode: str  # "http" or "tcp"
    servers: tuple[Server, ...] = ()
    health: HealthCheck | None = None
    algorithm: str = "roundrobin"  # or "leastconn"
    slow_start: int = 0  # seconds a server new to health ramps up its share
    sticky_seconds: int | None = None  # a client kept on one server (a cookie), for that long
    tls: bool = False  # the servers speak TLS (not verified, as ELB does not verify targets)


@dataclass(frozen=True)
class ProxyPlan:
    key: str  # whose proxy: names its files
    frontends: tuple[Frontend, ...] = ()
    backends: tuple[Backend, ...] = field(default_factory=tuple)
    # The namespace the proxy process runs in (None: the one its servers share, if they do).
    # Servers there need no `namespace` keyword, and only those can be added without a
    # reload: HAProxy 2.6 refuses `namespace` on `add server`.
    netns: str | None = None
