"""A block of a hosts file (`cloudlet up --hosts-file`) mapping load balancers' DNS names to
their addresses, so that the host resolves them as a client would AWS's. The block's markers
name the data dir: several cloudlets may keep blocks in one file, each rewriting only its own,
under a lock (flock on the file's directory: the file itself is replaced), by a rename, so
that no reader ever sees half a file. A hosts file that cannot be renamed over (a bind mount,
as a container's /etc/hosts is) is rewritten in place instead."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import json
import os
import re
import tempfile
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.)+[A-Za-z0-9-]{1,63}$")


class HostsBlock:
    def __init__(self, path: Path, owner: Path):
        self.path = Path(path)
        mark = json.dumps(str(owner))  # quoted: a data dir's name cannot break out of its comment
        self.begin, self.end = f"# cloudlet load balancers of {mark}: begin", f"# cloudlet load balancers of {mark}: end"

    def lines(self, names: dict[str, list[str]]) -> list[str]:
        """The block's lines for names (DNS name -> addresses); a name or an address that is
        not one is left out, so that nothing a tenant named can add a line."""
        out = []
        for name, addresses in sorted(names.items()):
            if not _NAME.match(name) or len(name) > 253:
                continue
            for address in addresses:
                try:
                    out.append(f"{ipaddress.IPv4Address(address)}\t{name}")
                except ValueError:
                    continue
        return out

    def write(self, names: dict[str, list[str]]) -> bool:
        """Make the block say names (none: the block goes); whether the file changed."""
        block = [self.begin, *self.lines(names), self.end] if names else []
        if self._split(self._read())[1] == block:
            return False
        with self._locked():
            before, _, after = self._split(self._read())
            text = "\n".join(before + block + after) + "\n"
            self._replace(text)
        return True

    def _read(self) -> list[str]:
        try:
            return self.path.read_text().splitlines()
        except FileNotFoundError:
            return []

    def _split(self, lines: list[str]) -> tuple[list[str], list[str], list[str]]:
        if self.begin not in lines:
            return lines, [], []
        start = lines.index(self.begin)
        end = lines.index(self.end, start) + 1 if self.end in lines[start:] else len(lines)
        return lines[:start], lines[start:end], lines[end:]

    @contextlib.contextmanager
    def _locked(self):
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # the lock goes with the descriptor

    def _replace(self, text: str) -> None:
        mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o644
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temp, mode)
            os.replace(temp, self.path)
        except OSError as e:
            os.unlink(temp)
            if e.errno != errno.EBUSY:
                raise
            with open(self.path, "r+") as f:  # a mount point: only its contents can change
                f.truncate(0)
                f.write(text)
