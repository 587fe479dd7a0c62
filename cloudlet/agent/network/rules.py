"""nftables rules of one engine, all in a table of its own (never touching anyone else's):
outbound masquerade for its subnets, published ports as map elements (no rule handles to
track: publishing is adding an element, unpublishing deleting it, and a taken port is
refused by the kernel itself), masquerade for localhost clients of published ports, DNAT
of guests' metadata services, masquerade of what VPC routers send outside, the host's
routes to routers' addresses, and the host's filter (filter.py)."""

from cloudlet.agent.network.filter import CHAINS, SETS, services_script
from cloudlet.agent.network.host import NetworkError, ip, nft, run

REPLY_PREF = "1000"  # the policy rules that send answers back by the router link they were asked on


def table_script(table: str) -> str:
    dnat = ("fib daddr type local dnat ip to meta l4proto . th dport map @ports_any\n"
            "    fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @ports_ip")
    return f"""table ip {table} {{
  map ports_any {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}
  map ports_ip {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }}
  map services {{ type ipv4_addr . inet_service : ipv4_addr . inet_service; }}
  set subnets {{ type ipv4_addr; flags interval; }}
  set bridges {{ type ifname; }}
{SETS}
  chain prerouting {{ type nat hook prerouting priority dstnat; policy accept;
    iifname @bridges dnat ip to ip daddr . tcp dport map @services
    {dnat}
  }}
  chain output {{ type nat hook output priority -100; policy accept;
    {dnat}
  }}
  map link_marks {{ type ifname : mark; }}
  chain links_mark {{ type filter hook prerouting priority mangle; policy accept;
    ct state new ct mark set iifname map @link_marks
  }}
  chain links_reply {{ type route hook output priority mangle; policy accept;
    ct mark != 0 meta mark set ct mark
  }}
  chain postrouting {{ type nat hook postrouting priority srcnat; policy accept;
    ip saddr @subnets oifname != @bridges masquerade
    ip saddr 127.0.0.0/8 oifname @bridges masquerade
    iifname @links oifname @public_interfaces ip saddr @pool accept
    iifname @links oifname != @links oifname != @bridges masquerade
  }}
{CHAINS}}}
"""


def ensure_table(table: str) -> None:
    """Create the table once: loading the script again would append its rules a second time.
    A table an older cloudlet made, without the host's filter, is made again (its elements
    are the network layer's to add back). Callers hold the network lock, so two processes
    cannot both create it."""
    if run("nft", "list", "chain", "ip", table, "links_reply", check=False).returncode == 0:
        return
    drop_table(table)
    nft(table_script(table))


def add_network(table: str, bridge: str, subnet: str) -> None:
    nft(f'add element ip {table} subnets {{ {subnet} }}\nadd element ip {table} bridges {{ "{bridge}" }}\n'
        f'add element ip {table} within_bridge {{ "{bridge}" . "{bridge}" }}\n')


def remove_network(table: str, bridge: str, subnet: str) -> None:
    for element in (f"subnets {{ {subnet} }}", f'bridges {{ "{bridge}" }}', f'within_bridge {{ "{bridge}" . "{bridge}" }}'):
        nft(f"delete element ip {table} {element}\n", check=False)


def _key(port) -> tuple[str, str]:
    if port.host_ip in ("0.0.0.0", ""):
        return "ports_any", f"{port.protocol} . {port.host_port}"
    return "ports_ip", f"{port.host_ip} . {port.protocol} . {port.host_port}"


def publish(table: str, ports, address: str) -> None:
    """All of a container's ports, or none of them."""
    lines = []
    for p in ports:
        name, key = _key(p)
        lines.append(f"create element ip {table} {name} {{ {key} : {address} . {p.container_port} }}")
    proc = nft("\n".join(lines) + "\n", check=False)
    if proc.returncode != 0:
        taken = "File exists" in proc.stderr
        raise NetworkError("port is already allocated: " + ", ".join(str(p) for p in ports) if taken
                           else f"publishing ports: {proc.stderr.strip()}")


def unpublish(table: str, ports) -> None:
    for p in ports:
        name, key = _key(p)
        nft(f"delete element ip {table} {name} {{ {key} }}\n", check=False)


def drop_table(table: str) -> None:
    nft(f"delete table ip {table}\n", check=False)


def add_link(table: str, link: str, router: str, mark: int) -> None:
    """A router's uplink: in the host's filter, and the way back for what the host answers
    on it (a metadata request from a VPC whose addresses other VPCs have too goes back by
    the link it came in on, whatever the host's routes say): connections from it are
    marked, and the mark's routing table leads to the router."""
    nft(f'add element ip {table} links {{ "{link}" }}\nadd element ip {table} link_marks {{ "{link}" : {mark} }}\n')
    ip("route", "replace", "default", "via", router, "dev", link, "table", str(mark))
    ip("rule", "del", "pref", REPLY_PREF, "fwmark", str(mark), "lookup", str(mark), check=False)
    ip("rule", "add", "pref", REPLY_PREF, "fwmark", str(mark), "lookup", str(mark))


def remove_link(table: str, link: str, mark: int) -> None:
    nft(f'delete element ip {table} links {{ "{link}" }}\ndelete element ip {table} link_marks {{ "{link}" }}\n',
        check=False)
    ip("rule", "del", "pref", REPLY_PREF, "fwmark", str(mark), "lookup", str(mark), check=False)
    ip("route", "flush", "table", str(mark), check=False)


def serve(table: str, services: dict[tuple[str, int], tuple[str, int]]) -> None:
    """Send what a bridged guest sends to each (address, port) (169.254.169.254:80, the
    instance metadata service's; 169.254.170.2:80, the task metadata endpoint's) to the
    host service it maps to, and let it through the input filter."""
    nft(services_script(table, services))
