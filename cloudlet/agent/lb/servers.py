"""Servers changed in place through the runtime API, without a reload: added, re-weighted,
drained (no new connections; those it has go on), and deleted once they have no connection.
A server the plan no longer has is drained first and deleted by a later apply when idle.
A held server is made with weight 0 (no request) and, before it gets its weight, counted
down: HAProxy counts a new server up before any check (a server of the config file may even
have passed one before it is counted down), where ELB sends a new target nothing until its
checks pass the healthy threshold in a row."""

from __future__ import annotations

from .config import server_line, server_options
from .errors import LbError
from .plan import Backend, ProxyPlan, Server
from .runtime import Runtime

_FORCED_MAINT, _FORCED_DRAIN = 0x01, 0x08  # srv_admin_state bits (haproxy's SRV_ADMF_*)


def sync(runtime: Runtime, plan: ProxyPlan, home: str | None) -> None:
    live = runtime.servers()
    wanted = {(b.name, s.name): (b, s) for b in plan.backends for s in b.servers}
    for (backend, name), (b, s) in wanted.items():
        row = live.get((backend, name))
        if row is None:
            _add(runtime, b, s, home)
            continue
        if (row["srv_addr"], int(row["srv_port"])) != (s.address, s.port):
            runtime.change(f"set server {backend}/{name} addr {s.address} port {s.port}",
                           ok="IP changed")
        if s.held and int(row["srv_uweight"]) == 0:
            _release(runtime, b, s)
        elif int(row["srv_uweight"]) != s.weight:
            runtime.change(f"set server {backend}/{name} weight {s.weight}")
        admin = int(row["srv_admin_state"])
        if s.draining and not admin & _FORCED_DRAIN:
            runtime.change(f"set server {backend}/{name} state drain")
        elif not s.draining and admin & (_FORCED_DRAIN | _FORCED_MAINT):
            runtime.change(f"set server {backend}/{name} state ready")
    gone = [key for key in live if key not in wanted]
    if gone:
        sessions = {(r["pxname"], r["svname"]): int(r["scur"] or 0) for r in runtime.stat()}
        for backend, name in gone:
            _remove(runtime, backend, name, int(live[(backend, name)]["srv_admin_state"]),
                    sessions.get((backend, name), 0))


def _add(runtime: Runtime, b: Backend, s: Server, home: str | None) -> None:
    options = " ".join(server_options(b, checked=not s.backup))
    runtime.change(f"add server {b.name}/{server_line(s, home)} {options}".rstrip(), ok="New server registered.")
    ref = f"{b.name}/{s.name}"
    runtime.change(f"enable server {ref}")  # a server added at runtime starts in maintenance
    if b.health and not s.backup:
        runtime.change(f"enable health {ref}")
    if s.draining:  # after `enable server`, which would clear it
        runtime.change(f"set server {ref} state drain")
    if s.held:
        _release(runtime, b, s)


def _release(runtime: Runtime, b: Backend, s: Server) -> None:
    """A held server, counted down, given its weight: it takes requests once its checks pass."""
    if b.health and not s.backup:
        runtime.change(f"set server {b.name}/{s.name} health down")
    runtime.change(f"set server {b.name}/{s.name} weight {s.weight}")


def _remove(runtime: Runtime, backend: str, name: str, admin: int, sessions: int) -> None:
    ref = f"{backend}/{name}"
    if not admin & (_FORCED_DRAIN | _FORCED_MAINT):
        runtime.change(f"set server {ref} state drain")
    if sessions:
        return
    runtime.change(f"set server {ref} state maint")
    try:
        runtime.change(f"del server {ref}", ok="Server deleted.")
    except LbError:  # idle connections still attached: the next apply tries again
        pass
