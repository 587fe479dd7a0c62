"""The runtime's event stream: create, start, kill, stop, oom, die, destroy.

One JSON line per event, appended to a file under the runtime's root, so that events
survive an agent restart and any number of readers can follow them. Exits that
happen while no agent runs are recorded when a later agent first notices them, with
the time conmon wrote the exit file, not the time they were noticed.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .records import now


@dataclass
class Event:
    time: str     # RFC 3339, UTC
    id: str
    name: str
    action: str   # "create", "start", "kill", "stop", "oom", "die", "destroy"
    attributes: dict = field(default_factory=dict)


class EventLog:
    def __init__(self, path: Path):
        self.path = path

    def emit(self, cid: str, name: str, action: str, at: str | None = None, **attributes) -> None:
        line = json.dumps(asdict(Event(at or now(), cid, name, action, attributes))) + "\n"
        # One write with O_APPEND: concurrent writers never interleave within a line.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def read(self, *, since: str | None = None, follow: bool = False,
             refresh: Callable[[], None] = lambda: None, poll: float = 0.2) -> Iterator[Event]:
        """Events in the order they were written (those at or after `since`, an RFC 3339
        time); with follow, waits for more, calling refresh() between looks so that exits
        nobody has noticed yet get noticed (and recorded)."""
        self.path.touch()
        with open(self.path, "rb") as f:
            pending = b""
            while True:
                chunk = f.read(65536)
                if chunk:
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        ev = Event(**json.loads(line))
                        if since is None or ev.time >= since:
                            yield ev
                    continue
                if not follow:
                    return
                refresh()
                if os.fstat(f.fileno()).st_size <= f.tell():
                    time.sleep(poll)
