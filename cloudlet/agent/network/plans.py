"""What one virtual router should enforce, as plain values: the control plane compiles it from
the store (control/vpcnet.py) and the agent applies it whole (routers.py, router_rules.py).
Nothing here knows of AWS: a router is a VPC's, a port an interface plugged into it, a group
a set of allow-rules ports are members of, an ACL the ordered rules at a subnet's edge."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL = None  # a protocol or port range that matches everything


@dataclass(frozen=True)
class Rule:
    """One allowed kind of traffic of a group, stateful: replies pass without a rule."""
    egress: bool
    protocol: int | None = ALL  # IP protocol number
    low: int = 0                # tcp/udp: destination ports low..high; icmp: type (-1: any) ...
    high: int = 65535           # ... and code (-1: any)
    cidr: str | None = None     # the peer: an address range ...
    group: str | None = None    # ... or the members of a group


@dataclass(frozen=True)
class AclEntry:
    """A stateless rule at a subnet's edge, evaluated in number order, first match decides."""
    number: int
    egress: bool
    allow: bool
    cidr: str
    protocol: int | None = ALL
    low: int = 0
    high: int = 65535


@dataclass(frozen=True)
class Route:
    """Where a subnet's traffic to cidr goes: "outside" (through the router's uplink, with
    source NAT to snat if given), "port:<address>" (to a port by one of its addresses), or
    "drop" (a route whose target is gone)."""
    cidr: str
    target: str
    snat: str | None = None


@dataclass
class Subnet:
    key: str
    cidr: str
    routes: list[Route] = field(default_factory=list)
    acl: list[AclEntry] = field(default_factory=list)  # empty: everything passes


@dataclass
class Port:
    key: str
    subnet: str
    mac: str
    addresses: list[str]                                   # the first is the primary
    public: dict[str, str] = field(default_factory=dict)   # private address -> public address (1:1 NAT)
    groups: list[str] = field(default_factory=list)
    source_dest_check: bool = True
    device: str | None = None                              # its interface in the router, once plugged


@dataclass(frozen=True)
class Balancer:
    """Connections to any of addresses at port (protocol) spread over targets (address, port)
    by the router's DNAT, the client's own address kept: a network load balancer's listener.
    Each target then sees the client as it is, and its groups decide whether it may connect
    (or, for a balancer with groups, whether they let in the balancer's)."""
    addresses: tuple[str, ...]          # where clients connect: private and public ones
    protocol: int                        # 6 (tcp) or 17 (udp)
    port: int
    targets: tuple[tuple[str, int], ...]
    groups: tuple[str, ...] = ()        # its own security groups: none, it takes any client


@dataclass
class RouterPlan:
    key: str
    cidrs: list[str]
    subnets: list[Subnet]
    ports: list[Port]
    groups: dict[str, list[Rule]]
    extra_public: list[str] = field(default_factory=list)  # public addresses the router SNATs for (NAT gateways)
    host_routed: bool = True  # whether the host reaches its private addresses (they overlap no other router's)
    pooled: bool = False  # a default VPC, its range from the host's pool: the operator's, not a tenant's choice
    balancers: list[Balancer] = field(default_factory=list)

    def public_addresses(self) -> list[str]:
        return sorted({p for port in self.ports for p in port.public.values()} | set(self.extra_public))
