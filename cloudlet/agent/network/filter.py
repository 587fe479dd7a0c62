"""The host's filter: what a workload reaches of the host itself, and where traffic between
this engine's networks may go.

Input: from a bridge (a container, an ECS bridge task) or a VPC router's uplink (a task, a
VM), only what AWS's equivalents reach: the guests' metadata services, each a listener of
its own serving only its paths (bridges are DNAT'd to them; routers DNAT their guests to
the host's end of their uplink), and replies to what the host opened. Everything else to
any of the host's addresses is dropped: the API port, sshd, another network's gateway,
whatever --host is. The metadata ports answer nothing from anywhere else (not the LAN).

Forward: bridges never route into one another (as Docker isolates its networks; traffic
within one passes, which this chain sees where br_netfilter hands bridged frames to it) nor into a
VPC but at its public addresses; routers reach one another only from public address to
public address, over the host, as VPCs reach each other over the internet. Published
ports (DNAT'd) pass, as Docker's do.

It lives in the engine's own table (rules.py) and keys on its `bridges` and `links` sets,
so a network is covered from the moment it is added there, before anything is plugged in.
"""

CHAINS = """  chain input { type filter hook input priority filter; policy accept;
    iifname "lo" accept
    ct status dnat ip daddr . tcp dport @services_in accept
    iifname @links tcp dport @metadata_ports accept
    tcp dport @metadata_ports drop
    iifname != @bridges iifname != @links accept
    ct state established,related accept
    counter drop
  }
  chain forward { type filter hook forward priority filter; policy accept;
    ct state established,related accept
    ct status dnat accept
    iifname . oifname @within_bridge accept
    iifname @bridges oifname @bridges drop
    iifname @bridges oifname @links ip daddr != @pool drop
    iifname @links oifname @bridges drop
    iifname @links oifname @links ip saddr != @pool drop
    iifname @links oifname @links ip daddr != @pool drop
  }
"""
# Where the `services` map sends guests (127.0.0.1 . the listener's port): an element for each
# of its elements, so the map and this set always name the same services. Only a connection
# that was DNAT'd there passes: one sent to that address and port directly does not.
SETS = """  set services_in { type ipv4_addr . inet_service; }
  set metadata_ports { type inet_service; }
  set links { type ifname; }
  set within_bridge { type ifname . ifname; }
  set pool { type ipv4_addr; flags interval; }
  set public_interfaces { type ifname; }
"""


def services_script(table: str, services: dict[tuple[str, int], tuple[str, int]]) -> str:
    """The services map and its sets as one transaction: a guest's connection never finds the
    map without its element (it would leave by the default route) nor the filter without its."""
    lines = [f"flush map ip {table} services", f"flush set ip {table} services_in",
             f"flush set ip {table} metadata_ports"]
    for (address, port), (to_address, to_port) in sorted(services.items()):
        lines.append(f"add element ip {table} services {{ {address} . {port} : {to_address} . {to_port} }}")
        lines.append(f"add element ip {table} services_in {{ {to_address} . {to_port} }}")
        lines.append(f"add element ip {table} metadata_ports {{ {to_port} }}")
    return "\n".join(lines) + "\n"
