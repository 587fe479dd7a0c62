"""The host's input filter: what a workload (a container, a task, a VM: anything on one of
this engine's bridges) may reach of the host itself. Only what AWS's equivalents reach:
the services guests are sent to by DNAT (the instance metadata service for VMs, the ECS
task metadata endpoint for tasks, each a listener of its own serving only its paths), and
replies to what the host opened. Everything else from a bridge to any of the host's
addresses is dropped: the API port, sshd, another bridge's gateway address, whatever
--host is. Forwarded traffic (to other workloads and outside) is not this chain's concern.

It lives in the engine's own table (rules.py) and keys on the table's `bridges` set, so a
bridge is covered from the moment it is added there, before any workload is plugged in.
"""

INPUT_CHAIN = """  chain input { type filter hook input priority filter; policy accept;
    iifname != @bridges accept
    ct state established,related accept
    ct status dnat ip daddr . tcp dport @services_in accept
    counter drop
  }
"""
# Where the `services` map sends guests (127.0.0.1 . the listener's port): an element for each
# of its elements, so the map and this set always name the same services. Only a connection
# that was DNAT'd there passes: one sent to that address and port directly does not.
SERVICES_SET = "  set services_in { type ipv4_addr . inet_service; }\n"


def services_script(table: str, services: dict[tuple[str, int], tuple[str, int]]) -> str:
    """The services map and its set as one transaction: a guest's connection never finds the
    map without its element (it would leave by the default route) nor the filter without its."""
    lines = [f"flush map ip {table} services", f"flush set ip {table} services_in"]
    for (address, port), (to_address, to_port) in sorted(services.items()):
        lines.append(f"add element ip {table} services {{ {address} . {port} : {to_address} . {to_port} }}")
        lines.append(f"add element ip {table} services_in {{ {to_address} . {to_port} }}")
    return "\n".join(lines) + "\n"
