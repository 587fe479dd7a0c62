"""A router's routing, from its plan: the "local" routes of its VPC (every port's /32, the rest
of its ranges blackholed, so that an address no port has goes nowhere), and a routing table
per subnet for what leaves the VPC (its route table's routes: through the uplink, to a
port, or dropped), chosen by the packet's source subnet. No route, no way out."""

from __future__ import annotations

import json

from cloudlet.agent.network.host import ip, run
from cloudlet.agent.network.plans import RouterPlan

LOCAL_PREF, SUBNET_PREF = 100, 200
FIRST_TABLE = 1000
LINK_LOCAL = "169.254.0.0/16"  # the uplink and the metadata services: never a subnet's to route


def _rules(plan: RouterPlan) -> list[tuple[int, str, str | None, str]]:
    """(pref, selector kind, cidr, table) of the policy rules plan wants."""
    out = [(LOCAL_PREF, "to", cidr, "main") for cidr in [*plan.cidrs, LINK_LOCAL]]
    out += [(SUBNET_PREF + i, "from", s.cidr, str(FIRST_TABLE + i)) for i, s in enumerate(plan.subnets)]
    return out


def _current_rules(ns: str) -> set[tuple[int, str, str | None, str]]:
    found = set()
    for r in json.loads(ip("-n", ns, "-j", "rule", "show").stdout or "[]"):
        pref = r.get("priority")
        if pref in (0, 32766, 32767):
            continue  # the kernel's own: local, main, default
        kind, cidr = ("to", r["dst"]) if "dst" in r else ("from", r.get("src"))
        length = r.get("dstlen" if kind == "to" else "srclen")
        found.add((pref, kind, f"{cidr}/{length}" if length is not None else cidr, str(r.get("table"))))
    return found


def _table_routes(plan: RouterPlan, index: int, host_end: str) -> list[str]:
    devices = {a: p.device for p in plan.ports if p.device for a in p.addresses}
    out = []
    for route in plan.subnets[index].routes:
        if route.target == "outside":
            out.append(f"{route.cidr} via {host_end} dev up0")
        elif route.target.startswith("port:") and devices.get(route.target[5:]):
            address = route.target[5:]
            out.append(f"{route.cidr} via {address} dev {devices[address]} onlink")
        else:
            out.append(f"blackhole {route.cidr}")
    return out


def _current_table(ns: str, table: int) -> list[str]:
    out = []
    shown = ip("-n", ns, "-j", "route", "show", "table", str(table), check=False)  # no table yet: no routes
    for r in json.loads(shown.stdout or "[]") if shown.returncode == 0 else []:
        dst = r["dst"] if r["dst"] == "default" or "/" in r["dst"] else f"{r['dst']}/32"
        if r.get("type") == "blackhole":
            out.append(f"blackhole {dst}")
        else:
            out.append(f"{dst} via {r['gateway']} dev {r['dev']}" + (" onlink" if "onlink" in r.get("flags", []) else ""))
    return out


def apply_routes(ns: str, plan: RouterPlan, host_end: str) -> None:
    batch = [f"route replace blackhole {cidr}" for cidr in [*plan.cidrs, *(s.cidr for s in plan.subnets)]]
    wanted, current = set(_rules(plan)), _current_rules(ns)
    batch += [f"rule del pref {pref} {kind} {cidr} lookup {table}" for pref, kind, cidr, table in current - wanted]
    batch += [f"rule add pref {pref} {kind} {cidr} lookup {table}" for pref, kind, cidr, table in wanted - current]
    for i in range(len(plan.subnets)):
        routes = _table_routes(plan, i, host_end)
        if sorted(r.replace("0.0.0.0/0", "default") for r in routes) != sorted(_current_table(ns, FIRST_TABLE + i)):
            batch.append(f"route flush table {FIRST_TABLE + i}")
            batch += [f"route add {r} table {FIRST_TABLE + i}" for r in routes]
    run("ip", "-n", ns, "-batch", "-", input="\n".join(batch) + "\n")
