"""The host's apt sources for the suite we build, passed through to mmdebstrap, so that
images come from the mirror (or proxy, or snapshot) this host is set up for rather than
from mmdebstrap's default; and a key that changes when the host's index of them does.

Only Debian's own pockets of the suite are taken (bookworm, -updates, -security): a
third-party repository on the host (nodesource, cloud-sdk) has no place in a base image.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

POCKETS = ("", "-updates", "-security")


@dataclass(frozen=True)
class Source:
    uri: str
    suite: str
    components: tuple[str, ...]

    def line(self) -> str:
        """One-line form; signed-by is left to mmdebstrap, which finds the keyring itself
        (a host keyring path may not exist in the image)."""
        return f"deb {self.uri} {self.suite} {' '.join(self.components)}"

    def list_name(self, file: str) -> str:
        """apt's name for this source's `file` (InRelease, Release) under /var/lib/apt/lists."""
        site = re.sub(r"^[a-z+]+://([^@/]*@)?", "", self.uri).rstrip("/")
        return f"{site}/dists/{self.suite}/{file}".replace("/", "_")


def _one_line(text: str) -> list[Source]:
    found = []
    for line in text.splitlines():
        line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0])  # options go: see Source.line
        words = line.split()
        if len(words) >= 4 and words[0] == "deb":
            found.append(Source(words[1], words[2], tuple(words[3:])))
    return found


def _deb822(text: str) -> list[Source]:
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields, last = {}, None
        for line in paragraph.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and last:  # a continuation line
                fields[last] += " " + line.strip()
            elif ":" in line:
                last, value = line.split(":", 1)
                last = last.strip().lower()
                fields[last] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                found.append(Source(uri, suite, tuple(fields.get("components", "main").split())))
    return found


def host_sources(suite: str, etc: Path = Path("/etc/apt")) -> list[Source]:
    """The host's sources of `suite`'s Debian pockets, in apt's order, without repeats.
    Empty when the host has none (not Debian, or another release): mmdebstrap's default
    mirrors are used then."""
    found = []
    files = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*"))]
    for path in files:
        if path.name.endswith(".list") and path.is_file():
            found += _one_line(path.read_text())
        elif path.name.endswith(".sources") and path.is_file():
            found += _deb822(path.read_text())
    wanted = {suite + pocket for pocket in POCKETS}
    return list(dict.fromkeys(s for s in found if s.suite in wanted))


def index_key(sources: list[Source], lists: Path = Path("/var/lib/apt/lists")) -> str:
    """Changes when the sources do, or the host's index of them (its last `apt update`):
    that is when the package versions an image would get may have changed. Reading the
    host's copy keeps a cached bootstrap instant and offline."""
    h = hashlib.sha256()
    for source in sources:
        h.update(source.line().encode() + b"\n")
        for name in ("InRelease", "Release"):
            path = lists / source.list_name(name)
            if path.is_file():
                h.update(path.read_bytes())
                break
    return h.hexdigest()
