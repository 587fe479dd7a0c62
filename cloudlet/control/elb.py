"""The load balancers' controller: runs one HAProxy per load balancer of the store on this
host (agent/lb), every second and at once when the API changes something (wake()).

Per load balancer, each round:
    plug       its interfaces (one per subnet, made by the API with the LB's security groups)
               into their VPC's router, each a network namespace of its own; the network
               controller, told, makes the router enforce their groups
    apply      the plan compiled from its listeners, rules and target groups (elb_plans.py):
               each listener's port bound on every interface's private address in that
               interface's namespace, servers reached from the first one's; certificates of
               HTTPS/TLS listeners written 0600 in its directory, <data dir>/elb/<id>. A proxy
               found not running is started again (and said so); one left by an earlier
               `cloudlet up` is adopted by the first apply
    state      provisioning -> active once its proxy runs; failed (with the reason, logged)
               when the proxy cannot be made from its plan; a failed one is tried again each
               round and turns active once a change makes it possible
    health     the proxy's checks written as its targets' health (elb_health.py)
Then, for every target group, draining targets whose deregistration delay has passed go; a
proxy whose load balancer is gone stops, its directory goes, and interfaces of load balancers
that are no more are unplugged and released.

Proxies outlive `cloudlet up`, as tasks and VMs do: the load balancers keep serving while the
API restarts. The test servers stop them (tests/e2e/server.py).

Hosts file (`cloudlet up --hosts-file PATH`, `make up` passes /etc/hosts): a block of it, its
markers naming this data dir, maps each active load balancer's DNSName to its addresses (an
internet-facing one's public addresses, an internal one's private ones); rewritten when that
changes, removed by close() when `cloudlet up` stops (elb_hosts.py).
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from cloudlet.agent.lb.errors import LbError
from cloudlet.agent.lb.proxy import Proxy
from cloudlet.store import certificates, enis
from cloudlet.store import elbv2 as records
from cloudlet.store.schema import ec2_network_interfaces, elbv2_objects, elbv2_targets
from cloudlet.store.scoped import Scoped

from .elb_health import changes, record
from .elb_hosts import HostsBlock
from .elb_plans import compile_lb, last_id
from .loop import Loop

log = logging.getLogger("cloudlet.control.elb")
POLL = 1.0
DEFAULT_DELAY = 300  # seconds: deregistration_delay.timeout_seconds unless the group says


class LoadBalancerController(Loop):
    def __init__(self, store, routers, data_dir: Path, network_changed, hosts_file: Path | None = None):
        self.store, self.routers, self.network_changed = store, routers, network_changed
        self.root = Path(data_dir) / "elb"
        self.hosts = HostsBlock(hosts_file, Path(data_dir)) if hosts_file else None
        self.proxies: dict[str, Proxy] = {}
        self._said: dict[str, str] = {}  # "<LB id>:<problem>" -> its message: each logged once
        self._lock = threading.Lock()  # a round against close()
        self._closed = False
        self.start("elb-controller", POLL)

    def round(self) -> None:
        with self._lock:
            if self._closed:
                return
            with self.store.begin(write=False) as conn:
                rows = conn.execute(select(elbv2_objects).where(elbv2_objects.c.kind == records.LOAD_BALANCER)).all()
            names, live = {}, set()
            for row in rows:
                lb = json.loads(row.body)
                live.add(last_id(lb["LoadBalancerArn"]))
                try:
                    if self._reconcile((row.account_id, row.region), lb):
                        names[lb["DNSName"]] = self._addresses(lb)
                except Exception:  # one broken load balancer must not stall the others
                    log.exception("load balancer %s", lb["LoadBalancerArn"])
            self._gone(live)
            self._drain()
            if self.hosts:
                self.hosts.write(names)

    def close(self) -> None:
        """`cloudlet up` stops: its block of the hosts file goes (the proxies go on)."""
        with self._lock:
            self._closed = True
            if self.hosts:
                self.hosts.write({})

    # -- one load balancer ------------------------------------------------------------------

    def _reconcile(self, scope: tuple[str, str], lb: dict) -> bool:
        """Converge lb; whether it is active."""
        key, arn = last_id(lb["LoadBalancerArn"]), lb["LoadBalancerArn"]
        with self.store.scoped(*scope, write=False) as db:
            interfaces = [(e, enis.subnet_of(db, e)["cidr"]) for e in enis.attached_to(db, arn)]
        if not interfaces:
            return False  # its interfaces not made yet
        netns, addresses = self._plug(interfaces)
        directory = self.root / key
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self.store.scoped(*scope, write=False) as db:
            compiled = compile_lb(db, lb, netns, addresses, lambda cert: self._certificate(db, directory, cert))
            for problem in compiled.skipped:
                self._log_once(f"{key}:{problem}", "load balancer %s: %s", lb["LoadBalancerName"], problem)
        proxy = self.proxies.get(key)
        if proxy is None:
            proxy = self.proxies[key] = Proxy(directory, key)
        elif not proxy.running():
            log.warning("the proxy of %s was not running: starting it again", lb["LoadBalancerName"])
        try:
            proxy.apply(compiled.plan)
        except LbError as e:  # an active one stays so: what it ran before goes on
            if lb["State"]["Code"] == "active":
                self._log_once(f"{key}:{e}", "load balancer %s: its change cannot be applied: %s", arn, e)
            else:
                self._set_state(scope, arn, "failed", str(e))
                return False
        if lb["State"]["Code"] != "active":
            self._set_state(scope, arn, "active")
        found = changes(compiled, proxy.health())
        if found:
            with self.store.scoped(*scope) as db:
                record(db, found)
            self.wake()  # a target healthy now takes traffic at once, not a round later
            self.network_changed()  # and an NLB's router picks among its healthy targets
        return True

    def _plug(self, interfaces: list[tuple[dict, str]]) -> tuple[dict[str, str], dict[str, str]]:
        """Each interface plugged (once): (ENI -> its namespace's name, ENI -> its address)."""
        netns, addresses, plugged = {}, {}, self.routers.plugged()
        for eni, cidr in interfaces:
            eni_id = eni["NetworkInterfaceId"]
            port = self.routers.plug(eni["VpcId"], eni_id, cidr=cidr, address=eni["PrivateIpAddress"],
                                     mac=eni["MacAddress"])
            if eni_id not in plugged:
                self.network_changed()  # its router now has a port to hold to its groups
            netns[eni_id], addresses[eni_id] = Path(port.netns).name, eni["PrivateIpAddress"]
        return netns, addresses

    def _certificate(self, db, directory: Path, arn: str) -> str | None:
        pem = certificates.bundle(db, self.store.sealer, arn)
        if pem is None:
            return None
        path = directory / f"{last_id(arn)}.pem"
        if not path.exists() or path.read_text() != pem:
            temp = path.with_suffix(".new")
            temp.unlink(missing_ok=True)
            temp.touch(mode=0o600)  # made 0600 before the key is in it
            temp.write_text(pem)
            temp.replace(path)
        return str(path)

    def _log_once(self, what: str, message: str, *args) -> None:
        """Log a problem the first time a round meets it, not every second after."""
        if what not in self._said:
            self._said[what] = message
            log.error(message, *args)

    def _set_state(self, scope: tuple[str, str], arn: str, code: str, reason: str | None = None) -> None:
        if reason is not None:
            self._log_once(f"{last_id(arn)}:{reason}", "load balancer %s failed: %s", arn, reason)
        with self.store.scoped(*scope) as db:
            lb = records.get(db, arn, records.LOAD_BALANCER)  # again, under the write lock: the API may have changed it
            if lb is None or lb["State"]["Code"] == code:
                return
            lb["State"] = {"Code": code, **({"Reason": reason[:1000]} if reason else {})}
            records.put(db, records.LOAD_BALANCER, arn, lb["LoadBalancerName"], lb)

    def _addresses(self, lb: dict) -> list[str]:
        """What its DNS name resolves to: public addresses if internet-facing, else private."""
        with self.store.begin(write=False) as conn:
            bodies = [json.loads(r.body) for r in conn.execute(select(ec2_network_interfaces.c.body).where(
                ec2_network_interfaces.c.attached_to == lb["LoadBalancerArn"]))]
        if lb.get("Scheme") == "internet-facing":
            return [b["Association"]["PublicIp"] for b in bodies if (b.get("Association") or {}).get("PublicIp")]
        return [b["PrivateIpAddress"] for b in bodies]

    # -- what is no more ------------------------------------------------------------------------

    def _gone(self, live: set[str]) -> None:
        """Proxies of load balancers gone stop; their interfaces, if still there, go."""
        on_disk = {p.name for p in self.root.iterdir()} if self.root.exists() else set()
        for key in (set(self.proxies) | on_disk) - live:
            proxy = self.proxies.pop(key, None) or Proxy(self.root / key, key)
            proxy.stop()
            shutil.rmtree(self.root / key, ignore_errors=True)
            self._said = {k: v for k, v in self._said.items() if not k.startswith(f"{key}:")}
            log.info("stopped the proxy of load balancer %s: it is gone", key)
        with self.store.begin(write=False) as conn:
            arns = {r.arn for r in conn.execute(select(elbv2_objects.c.arn).where(
                elbv2_objects.c.kind == records.LOAD_BALANCER))}
            orphans = [(r.account_id, r.region, r.eni_id) for r in conn.execute(select(
                ec2_network_interfaces.c.account_id, ec2_network_interfaces.c.region, ec2_network_interfaces.c.eni_id,
                ec2_network_interfaces.c.attached_to).where(
                ec2_network_interfaces.c.attached_to.like("arn:aws:elasticloadbalancing:%")))
                if r.attached_to not in arns]
        for account, region, eni_id in orphans:
            self.routers.unplug(eni_id)
            with self.store.scoped(account, region) as db:
                enis.release_eni(db, eni_id)
            log.info("released %s: its load balancer is gone", eni_id)
        if orphans:
            self.network_changed()

    def _drain(self) -> None:
        """Draining targets whose deregistration delay has passed go (looked for first, so
        that a round with none due writes nothing)."""
        now, due = time.time(), []
        with self.store.begin(write=False) as conn:
            draining = conn.execute(select(elbv2_targets.c.account_id, elbv2_targets.c.region,
                                           elbv2_targets.c.group_arn, func.min(elbv2_targets.c.since)).where(
                elbv2_targets.c.state == records.DRAINING).group_by(
                elbv2_targets.c.account_id, elbv2_targets.c.region, elbv2_targets.c.group_arn)).all()
            for account, region, group_arn, since in draining:
                group = records.get(Scoped(conn, account, region), group_arn, records.TARGET_GROUP) or {}
                delay = float((group.get("_attributes") or {}).get("deregistration_delay.timeout_seconds",
                                                                   DEFAULT_DELAY))
                if since + delay <= now:
                    due.append((account, region, group_arn, delay))
        for account, region, group_arn, delay in due:
            with self.store.scoped(account, region) as db:
                records.drained(db, group_arn, delay, at=now)
