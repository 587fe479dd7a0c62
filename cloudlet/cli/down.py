"""`cloudlet down`: stop the `cloudlet up` of a data dir, then take off the host what its
network layer made there (VPC routers' and tasks' namespaces, bridges, veth and tap devices,
its nftables table, its routes and policy rules), once nothing of the data dir runs.

What runs (containers, ECS tasks' included; VMs; load balancers' proxies) outlives a server
by design, and uses that network: while any does, nothing is removed, unless --force stops
them first, through the engine, the VMs' and the proxies' own code. Only what the data dir's
network state names is removed (Networks.take_down), never a device matched by its name's
prefix: another cloudlet on this host may own the rest. User networks stay defined.

`cloudlet up` does the same when it stops on SIGTERM: it execs `python -m cloudlet.cli.down`
with its lock still open, so that no thread of the server is left to make a router again
while it goes, and no other server can start on the data dir before the end."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import click

from cloudlet.cli.datadir import AlreadyRunning, ServerLock, holder_pid
from cloudlet.config import engine_dir

STOP_WITHIN = 90.0  # seconds a server may take to stop (its own clean-up included)


def _net_dir(data_dir: Path) -> Path:
    return engine_dir(data_dir) / "net"


def _engine(data_dir: Path):
    """The data dir's engine, if it ever had one: opening one where there was none would
    choose it network names (the defaults), which another cloudlet may be using."""
    from cloudlet.agent.engine import Engine

    return Engine(engine_dir(data_dir)) if (_net_dir(data_dir) / "settings.json").exists() else None


def _vms(data_dir: Path):
    from cloudlet.agent.vms import VMs

    return VMs(data_dir / "vms") if (data_dir / "vms").is_dir() else None


def _proxies(data_dir: Path) -> list:
    from cloudlet.agent.lb.proxy import Proxy

    root = data_dir / "elb"
    return [Proxy(d, d.name) for d in sorted(root.iterdir())] if root.is_dir() else []


def what_runs(data_dir: Path) -> list[str]:
    """What of data_dir still holds its network: every container (a stopped one keeps its
    namespace for its next start), every running VM and load balancer proxy."""
    from cloudlet.control.container_options import TASK_LABEL

    found = []
    engine = _engine(data_dir)
    for c in engine.list() if engine else []:
        task = c.state.labels.get(TASK_LABEL)
        found.append(f"ECS task {task} (container {c.name}, {c.state.status})" if task
                     else f"container {c.name} ({c.state.status})")
    vms = _vms(data_dir)
    found += [f"VM {vm.id} (pid {vm.pid})" for vm in (vms.list() if vms else []) if vm.status == "running"]
    found += [f"load balancer proxy {p.key}" for p in _proxies(data_dir) if p.running()]
    return found


def stop_all(data_dir: Path) -> None:
    """--force: stop what runs, each by its own code (an instance's VM powered off, its
    disks kept; a container removed, as its task's controller would)."""
    engine = _engine(data_dir)
    for c in engine.list() if engine else []:
        engine.remove(c.id, force=True)
    vms = _vms(data_dir)
    for vm in vms.list() if vms else []:
        vms.stop(vm.id)
    for proxy in _proxies(data_dir):
        proxy.stop()


def clean(data_dir: Path) -> list[str]:
    """Remove what the data dir's network state records; what went, by name."""
    from cloudlet.agent.network import Networks
    from cloudlet.agent.network.host import link_exists, run

    if not (_net_dir(data_dir) / "state.json").exists():
        return []  # its network layer never made anything
    networks = Networks(_net_dir(data_dir))
    data = networks.state.read()
    table = networks.settings.table
    made = [f"router {networks.routers.netns(r['index'])}" for r in data["routers"].values()]
    made += [f"bridge {b}" for b in [networks.settings.bridge, *(n["bridge"] for n in data["networks"].values())]
             if link_exists(b)]
    made += [f"nftables table ip {table}"] if run("nft", "list", "table", "ip", table, check=False).returncode == 0 else []
    networks.take_down()
    return made


def _stop_server(data_dir: Path) -> ServerLock:
    """The data dir's lock, once its server (if one runs) has stopped on SIGTERM."""
    deadline, signalled = time.monotonic() + STOP_WITHIN, None
    while True:
        try:
            return ServerLock(data_dir)
        except AlreadyRunning:
            pid = holder_pid(data_dir)
            if pid is not None and pid != signalled:
                click.echo(f"cloudlet: stopping cloudlet up (pid {pid})")
                os.kill(pid, signal.SIGTERM)
                signalled = pid
        if time.monotonic() > deadline:
            raise click.ClickException(f"cloudlet up (pid {signalled or '?'}) did not stop within {STOP_WITHIN:.0f} s")
        time.sleep(0.1)


def _report(data_dir: Path, running: list[str]) -> None:
    click.echo(f"cloudlet: still running from {data_dir}:", err=True)
    for what in running:
        click.echo(f"    {what}", err=True)
    click.echo("cloudlet: their network stays (stop them, or run `cloudlet down --force`)", err=True)


def down(data_dir: Path, force: bool) -> None:
    if not data_dir.is_dir():
        raise click.ClickException(f"no data dir {data_dir}")
    _stop_server(data_dir)  # its lock held until this process ends: no server starts meanwhile
    running = what_runs(data_dir)
    if running and not force:
        _report(data_dir, running)
        raise SystemExit(1)
    if running:
        click.echo(f"cloudlet: stopping {len(running)}: " + "; ".join(running))
        stop_all(data_dir)
    removed = clean(data_dir)
    click.echo("cloudlet: removed " + ", ".join(removed) if removed else "cloudlet: nothing of its network was left")


def after_server(data_dir: Path) -> None:
    """What `cloudlet up` runs last, on SIGTERM, its lock inherited."""
    running = what_runs(data_dir)
    if running:
        click.echo(f"cloudlet: {len(running)} still running (containers, VMs or load balancers): its network stays")
        return
    removed = clean(data_dir)
    if removed:
        click.echo("cloudlet: removed " + ", ".join(removed))


if __name__ == "__main__":
    after_server(Path(sys.argv[1]))
