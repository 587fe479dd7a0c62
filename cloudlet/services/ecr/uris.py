"""Repository URIs' host, `<account>.dkr.ecr.<region>.<domain>[:port]`, built from the name and
port the client reached this server by (its Host header), so that `podman push <repositoryUri>`
goes where the API call went: a server on another port, behind a forwarded port or a DNS name.

The Host header is the client's to write: only a plain host name or address with an optional
port is taken, and never another repository host's account (a Host of `<account>.dkr.ecr.
<region>.<domain>` gives its domain alone). Anything else gives the server's own port and
`localhost` (README: the /etc/hosts line), as a request without a Host header does.
"""

import ipaddress
import re

DEFAULT_DOMAIN = "localhost"
_AUTHORITY = re.compile(r"(?P<name>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_REGISTRY = re.compile(r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.")
_MAX_NAME = 253  # DNS's limit on a whole name


def registry_host(ctx) -> str:
    """Where the caller's registry in ctx's region is, as this client can reach it."""
    prefix = f"{ctx.account_id}.dkr.ecr.{ctx.region}."
    domain, port = _reached_by(ctx.host, len(prefix)) or (DEFAULT_DOMAIN, ctx.config.port)
    return f"{prefix}{domain}:{port}" if port else f"{prefix}{domain}"


def _reached_by(host: str | None, prefix_length: int) -> tuple[str, int | None] | None:
    """(domain, port) of a Host header (port None: the scheme's default, as the client sent no
    port), or None when it is not one to repeat."""
    m = _AUTHORITY.fullmatch(host or "")
    if m is None:
        return None
    port = int(m["port"]) if m["port"] else None
    if port is not None and not 0 < port < 65536:
        return None
    name = m["name"].lower().removesuffix(".")
    if _is_address(name):
        return DEFAULT_DOMAIN, port  # an address has no subdomains: the README's /etc/hosts names stand in
    if own := _REGISTRY.match(name):  # a repository host of any account: its domain alone
        name = name[own.end():]
    labels = name.split(".")
    if ".dkr.ecr." in f".{name}." or not all(_LABEL.fullmatch(label) for label in labels) \
            or labels[-1].isdigit() or prefix_length + len(name) > _MAX_NAME:
        return None
    return name, port


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True
