"""A ProxyPlan as haproxy.cfg text. Nothing a tenant gave reaches the file but through
words.py (quoted, escaped or refused), so the file has exactly the directives written here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from . import words
from .actions import Actions
from .errors import LbError
from .plan import Backend, Bind, Forward, Frontend, HealthCheck, ProxyPlan, Server

STATS, STATE = "stats.sock", "server.state"
SERVER_COOKIE = "lbsrv"
IDLE_POOL = 256  # idle connections kept per server


@dataclass
class Rendered:
    text: str
    skeleton: str  # text less the servers that the runtime API can add: a change here needs a reload
    bodies: dict[str, bytes]  # file name (in the directory) -> fixed response body


def home_of(plan: ProxyPlan) -> str | None:
    """The namespace a new proxy process for plan runs in."""
    shared = {s.netns for b in plan.backends for s in b.servers}
    return plan.netns or (shared.pop() if len(shared) == 1 else None)


def can_add(server: Server, home: str | None) -> bool:
    """Whether `add server` can make it (haproxy 2.6 takes no `namespace` there)."""
    return server.netns == home


def render(plan: ProxyPlan, directory: Path, home: str | None) -> Rendered:
    """plan for a proxy whose files are in directory and whose process runs in namespace home."""
    bodies: dict[str, bytes] = {}
    text = _lines(plan, directory, home, bodies, lambda server: True)
    skeleton = _lines(plan, directory, home, {}, lambda server: not can_add(server, home))
    return Rendered(text, skeleton, bodies)


def _lines(plan, directory: Path, home, bodies: dict, keep) -> str:
    backends = {words.name(b.name, "backend"): b.mode for b in plan.backends}
    if len(backends) != len(plan.backends) or len({f.name for f in plan.frontends}) != len(plan.frontends):
        raise LbError("two frontends, or two backends, have the same name")
    lines = ["global",
             f"    stats socket {words.path(str(directory / STATS), 'socket')} mode 600 level admin"
             " expose-fd listeners",
             f"    server-state-file {words.path(str(directory / STATE), 'state file')}",
             "defaults",
             "    timeout connect 5s",
             "    load-server-state-from-file global"]
    for f in plan.frontends:
        actions = Actions(f, backends, directory)
        lines += _frontend(f, actions, home)
        bodies.update(actions.bodies)
    for b in plan.backends:
        idle = [f.idle_timeout for f in plan.frontends if b.name in _targets(f)]
        lines += _backend(plan.key, b, max(idle, default=60))
        names = {words.name(s.name, "server") for s in b.servers}
        if len(names) != len(b.servers):
            raise LbError(f"backend {b.name}: two servers have the same name")
        # a backup is never checked: `no-check` undoes the default-server's `check`
        lines += [f"    server {server_line(s, home)}{' no-check' if s.backup and b.health else ''}"
                  for s in b.servers if keep(s)]
    return "\n".join(lines) + "\n"


def _targets(f: Frontend) -> set[str]:
    actions = [f.default] + [r.action for r in f.rules]
    return {name for a in actions if isinstance(a, Forward) for name, _ in a.backends}


def _frontend(f: Frontend, actions: Actions, home) -> list[str]:
    if f.mode not in ("http", "tcp"):
        raise LbError(f"frontend mode {f.mode!r} must be http or tcp")
    if not f.binds:
        raise LbError(f"frontend {f.name} has no bind")
    idle = words.integer(f.idle_timeout, "idle timeout", 1, 4000)
    lines = [f"frontend {words.name(f.name, 'frontend')}", f"    mode {f.mode}", f"    timeout client {idle}s"]
    lines += [f"    bind {_bind(b, home)}" for b in f.binds]
    if f.mode == "http":  # what ELB tells its targets about the client
        tls = "https" if any(b.certificates for b in f.binds) else "http"
        lines += ["    option forwardfor", f"    http-request set-header X-Forwarded-Proto {tls}",
                  "    http-request set-header X-Forwarded-Port %[dst_port]"]
    return lines + [f"    {line}" for line in actions.lines()]


def _bind(b: Bind, home) -> str:
    out = words.address(b.address, b.port, "bind")
    if b.netns != home:
        out += f" namespace {words.name(b.netns, 'namespace') if b.netns else _no_home()}"
    if b.certificates:
        out += " ssl" + "".join(f" crt {words.path(c, 'certificate')}" for c in b.certificates)
    return out


def _no_home():
    raise LbError("a bind or server in the host's namespace, for a proxy that runs in another")


def _backend(key: str, b: Backend, idle: int) -> list[str]:
    if b.mode not in ("http", "tcp"):
        raise LbError(f"backend mode {b.mode!r} must be http or tcp")
    if b.algorithm not in ("roundrobin", "leastconn"):
        raise LbError(f"backend algorithm {b.algorithm!r} must be roundrobin or leastconn")
    lines = [f"backend {b.name}", f"    mode {b.mode}", f"    balance {b.algorithm}", f"    timeout server {idle}s",
             "    option allbackups"]  # when no server is up, every backup takes requests, not the first
    if b.health:
        lines += [f"    {line}" for line in _checks(b.health, b.mode)]
    if b.sticky_seconds is not None:
        if b.mode != "http":
            raise LbError(f"backend {b.name}: only http backends keep clients on a server")
        seconds = words.integer(b.sticky_seconds, "stickiness duration", 1, 604800)
        # dynamic: a server's cookie made from its address, as `add server` takes no `cookie`
        lines += [f"    cookie {SERVER_COOKIE} insert indirect nocache dynamic attr 'Max-Age={seconds}'",
                  f"    dynamic-cookie-key {hashlib.sha256(f'{key}/{b.name}'.encode()).hexdigest()[:32]}"]
    options = server_options(b)
    return lines + ([f"    default-server {' '.join(options)}"] if options else [])


def _checks(h: HealthCheck, mode: str) -> list[str]:
    timeout = words.integer(h.timeout, "health check timeout", 1, 300)
    lines = [f"timeout check {timeout}s"]
    if h.protocol in ("http", "https"):
        lines += ["option httpchk", f"http-check send meth GET uri {words.quote(_check_path(h.path), 'path')}",
                  f"http-check expect rstatus {words.quote(status_regex(h.codes))}"]
    elif h.protocol != "tcp":
        raise LbError(f"health check protocol {h.protocol!r} must be http, https or tcp")
    return lines


def _check_path(value: str) -> str:
    if not words.text(value, "health check path").startswith("/") or " " in value:
        raise LbError(f"health check path {value[:50]!r} must start with / and have no space")
    return value


def status_regex(codes: str) -> str:
    """"200", "200,202", "200-299" as one anchored regex, digit classes per ten codes."""
    wanted: set[int] = set()
    for part in words.text(codes, "success codes", 200).split(","):
        low, _, high = part.strip().partition("-")
        if not (low.isdigit() and (high.isdigit() or not high)):
            raise LbError(f"success codes {codes!r}: each must be a code or a range of codes")
        a, b = int(low), int(high or low)
        if not 100 <= a <= b <= 599:
            raise LbError(f"success codes {codes!r} must lie from 100 to 599")
        wanted.update(range(a, b + 1))
    tens: dict[int, list[int]] = {}
    for code in sorted(wanted):
        tens.setdefault(code // 10, []).append(code % 10)
    alternatives = [f"{t}[0-9]" if len(d) == 10 else f"{t}[{''.join(map(str, d))}]" for t, d in tens.items()]
    return f"^(?:{'|'.join(alternatives)})$"


def server_options(b: Backend, checked: bool = True) -> list[str]:
    """What every server of b has: the default-server line, and the rest of an `add server`
    line (a server added at runtime takes nothing from default-server); without the checks
    for one not checked."""
    out = []
    if b.health and checked:
        h = b.health
        out += ["check", f"inter {words.integer(h.interval, 'health check interval', 1, 300)}s",
                f"rise {words.integer(h.rise, 'healthy threshold', 1, 100)}",
                f"fall {words.integer(h.fall, 'unhealthy threshold', 1, 100)}"]
        if h.port is not None:
            out.append(f"port {words.integer(h.port, 'health check port', 1, 65535)}")
        if h.protocol == "https":
            out.append("check-ssl verify none")
    if b.mode == "http":
        # haproxy 2.6 keeps no idle connection for a server made by `add server` unless told both
        # how many (-1 is not resolved there) and for how long: else each request opens its own
        out.append(f"pool-max-conn {IDLE_POOL} pool-purge-delay 5s")
    if b.tls:
        out.append("ssl verify none")
    if words.integer(b.slow_start, "slow start", 0, 900):
        out.append(f"slowstart {b.slow_start}s")
    return out


def server_line(s: Server, home) -> str:
    """name address weight [namespace]: what differs from server to server. A held server is
    made with no weight, which servers.sync gives it once it has counted it down."""
    weight = words.integer(s.weight, "weight", 0, 256)
    out = f"{s.name} {words.address(s.address, s.port, 'server')} weight {0 if s.held else weight}"
    if s.backup:
        out += " backup"
    if s.netns != home:
        out += f" namespace {words.name(s.netns, 'namespace') if s.netns else _no_home()}"
    return out
