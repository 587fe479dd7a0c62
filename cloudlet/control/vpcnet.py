"""The network controller: makes every VPC router on this host enforce what the store says
(vpc_plans.py compiles it; agent/network/routers.py applies it), at once when the API
changes a rule, a route or an address (config.network_changed wakes it) and every few
seconds anyway. A router exists while its VPC has workloads plugged in; once the VPC has
none, or is gone, its router goes, and a port whose interface is gone is unplugged.

NAT gateways: recorded "pending" by the API, "available" here once their VPC's routers
take them; "deleting" ones become "deleted", their interface and address let go.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from sqlalchemy import select, update

from cloudlet.agent.network import NetworkError
from cloudlet.ids import now
from cloudlet.store import enis
from cloudlet.store.schema import ec2_network_interfaces, ec2_vpc_objects, vpcs
from cloudlet.store.scoped import Scoped

from .loop import Loop
from .vpc_plans import compile_plan, host_routed

log = logging.getLogger("cloudlet.control.network")
POLL = 5.0
IMDS = ("169.254.169.254", 80)
TASK_METADATA = ("169.254.170.2", 80)


class NetworkController(Loop):
    def __init__(self, store, networks, public_pool: str, imds_port: int, task_metadata_port: int,
                 public_interface: str | None = None):
        self.store = store
        self.networks = networks
        self.public_pool = public_pool
        self.public_interface = public_interface
        self.metadata = {k: port for k, port in ((IMDS, imds_port), (TASK_METADATA, task_metadata_port)) if port}
        self._serving = False
        self._refused: dict[str, str] = {}  # VPC -> why the host does not route it (said once)
        self._rounds = threading.Condition()
        self._begun = self._ended = 0  # rounds
        self.start("network-controller", POLL)

    def settled(self, timeout: float) -> bool:
        """Wait for a round that begins after this call to end: a port plugged before it is then
        routed and filtered (or its router's failure logged). Whether one ended in time."""
        with self._rounds:
            target = self._begun + 1  # one under way may have read the state before the plug
        self.wake()
        with self._rounds:
            return self._rounds.wait_for(lambda: self._ended >= target, timeout)

    def round(self) -> None:
        with self._rounds:
            self._begun += 1
        try:
            self._round()
        finally:
            with self._rounds:
                self._ended = self._begun
                self._rounds.notify_all()

    def _round(self) -> None:
        try:
            self._nat_gateways()
        except Exception:  # the routers' rules matter more: a new port is closed until they are applied
            log.exception("NAT gateways")
        routers = self.networks.routers
        keys = routers.keys()
        if keys and not self._serving:
            # the host's side of the metadata services: DNAT from bridges, open to routers' uplinks
            for (address, port), to_port in self.metadata.items():
                self.networks.serve_guests(address, port, "127.0.0.1", to_port)
            self._serving = True
        with self.store.begin(write=False) as conn:
            known = {r.eni_id for r in conn.execute(select(ec2_network_interfaces.c.eni_id))}
            for eni in set(routers.plugged()) - known:  # its task or instance went while no controller looked
                log.info("unplugging %s: it is no more", eni)
                routers.unplug(eni)
            plans = [compile_plan(conn, key, routers.devices(key)) for key in keys]
            defaults = {r.vpc_id for r in conn.execute(select(vpcs.c.vpc_id).where(vpcs.c.is_default == 1))}
        for key, plan in zip(keys, plans):
            if (plan is None or not routers.devices(key)) and routers.remove(key, unless_plugged=plan is not None):
                log.info("removed the router of %s: %s", key, "the VPC is gone" if plan is None else "nothing is plugged")
        live = [p for p in plans if p is not None and routers.devices(p.key)]
        self._refused = {key: why for key, why in self._refused.items() if key in {p.key for p in live}}
        host_routed(live, defaults)
        for plan in live:
            started = time.monotonic()
            try:
                changed = routers.apply(plan, self.public_pool, self.metadata, self.public_interface)
            except NetworkError as e:  # this VPC's addresses routed elsewhere: the other VPCs go on
                if self._refused.get(plan.key) != str(e):
                    log.error("router of %s: %s", plan.key, e)
                self._refused[plan.key] = str(e)
                continue
            except Exception:  # one router's failure must not keep the others' new ports closed
                log.exception("router of %s", plan.key)
                continue
            if self._refused.pop(plan.key, None):
                log.info("router of %s: its addresses are routed on this host now", plan.key)
            if changed:
                log.info("router of %s (%d ports, %d groups): %s applied in %.0f ms", plan.key, len(plan.ports),
                         len(plan.groups), ", ".join(changed), (time.monotonic() - started) * 1000)

    def _nat_gateways(self) -> None:
        with self.store.begin() as conn:
            rows = conn.execute(select(ec2_vpc_objects).where(ec2_vpc_objects.c.kind == "nat-gateway")).all()
            for row in rows:
                body = json.loads(row.body)
                if body["State"] == "pending":
                    body["State"] = "available"
                elif body["State"] == "deleting":
                    self._let_go(conn, row, body)
                    body.update(State="deleted", DeleteTime=now())
                else:
                    continue
                conn.execute(update(ec2_vpc_objects).where(
                    ec2_vpc_objects.c.account_id == row.account_id, ec2_vpc_objects.c.region == row.region,
                    ec2_vpc_objects.c.object_id == row.object_id).values(body=json.dumps(body)))

    @staticmethod
    def _let_go(conn, row, body: dict) -> None:
        """A deleted NAT gateway's interface goes; its Elastic IP stays allocated, free."""
        db = Scoped(conn, row.account_id, row.region)
        for address in body.get("NatGatewayAddresses", []):
            if address.get("NetworkInterfaceId"):
                enis.release_eni(db, address["NetworkInterfaceId"])
