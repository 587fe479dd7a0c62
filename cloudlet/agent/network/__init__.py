"""Container networking on one host: bridges, namespaces, veth pairs, addresses, NAT and
published ports (nftables), name resolution on user networks."""

from .host import NetworkError
from .networks import DEFAULT, Attachment, Networks, Settings, Tap
from .ports import PortMapping

__all__ = ["DEFAULT", "Attachment", "NetworkError", "Networks", "PortMapping", "Settings", "Tap"]
