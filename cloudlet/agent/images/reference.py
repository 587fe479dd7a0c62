"""Image references ("busybox", "localhost/x:1", "repo@sha256:...") normalized as Docker does.

A name without a registry domain belongs to docker.io, and a single-component name
there to docker.io/library: "busybox" is "docker.io/library/busybox:latest". Tags are
kept under the canonical form, so "busybox" and "docker.io/library/busybox:latest"
name the same image; `familiar` gives the short form back for display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidReference

DEFAULT_DOMAIN = "docker.io"
DEFAULT_TAG = "latest"
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_DOMAIN = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                     r"(?::[0-9]+)?$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_NAME_MAX = 255


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    @property
    def familiar(self) -> str:
        """The short form Docker prints: "busybox:latest", "me/app:1", "localhost/x:1"."""
        s = str(self)
        if self.domain == DEFAULT_DOMAIN:
            s = s[len(DEFAULT_DOMAIN) + 1:]
            if self.path.startswith("library/") and self.path.count("/") == 1:
                s = s[len("library/"):]
        return s


def parse(ref: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalize a reference; raise InvalidReference with the reason.

    Without a tag or digest the tag is "latest" unless default_tag is False.
    """
    if not isinstance(ref, str) or not ref or ref != ref.strip():
        raise InvalidReference(f"invalid image reference {ref!r}")
    rest, digest = ref, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidReference(f"invalid image reference {ref!r}: digest must be sha256:<64 lowercase hex>")
    tag = None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, tag = rest.rsplit(":", 1)
        if not _TAG.match(tag):
            raise InvalidReference(f"invalid image reference {ref!r}: bad tag {tag!r}")
    domain, path = _split_domain(rest, ref)
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            raise InvalidReference(
                f"invalid image reference {ref!r}: {component!r} must be lowercase letters, digits and separators")
    if len(domain) + 1 + len(path) > _NAME_MAX:
        raise InvalidReference(f"invalid image reference {ref!r}: name longer than {_NAME_MAX} characters")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def _split_domain(name: str, ref: str) -> tuple[str, str]:
    first, sep, remainder = name.partition("/")
    # Docker's rule: the first component is a registry if it looks like a host name
    # (a dot or a port) or is "localhost"; otherwise the name lives on docker.io.
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not _DOMAIN.match(first):
            raise InvalidReference(f"invalid image reference {ref!r}: bad registry {first!r}")
        domain, path = first, remainder
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if not path:
        raise InvalidReference(f"invalid image reference {ref!r}: no repository name")
    return domain, path


def is_digest(s: str) -> bool:
    return bool(_DIGEST.match(s))
