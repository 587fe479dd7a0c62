"""The runtime's own small record per container, next to its bundle.

It holds what neither runc nor conmon keeps: the name, when it was started, how to
stop it, the warnings given at creation, and what we learned once it ended (exit code,
OOM kill). Written atomically so a crash never leaves half a record.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

RECORD = "cloudlet.json"


def iso(ts: float) -> str:
    """One fixed format (RFC 3339, microseconds, Z), so that times compare as strings."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def now() -> str:
    return iso(time.time())


@dataclass
class Record:
    id: str
    name: str
    created_at: str
    cgroups_path: str
    stop_signal: int
    stop_timeout: float
    layers: list[str] = field(default_factory=list)       # to mount the root again after a reboot
    rootfs_owner: list[int] | None = None                 # (uid, gid) of the upper dir, userns only
    userns: str | None = None                             # the key its id range is claimed under
    userns_host_id: int | None = None                     # where that range starts (root's host uid)
    labels: dict[str, str] = field(default_factory=dict)
    restart_policy: str = "no"
    max_retries: int = 0
    restart_count: int = 0
    manually_stopped: bool = False  # by stop(): no policy brings it back
    warnings: list[str] = field(default_factory=list)
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    oom_killed: bool = False

    def save(self, bundle: Path) -> None:
        tmp = bundle / f"{RECORD}.{os.getpid()}.{threading.get_ident()}.tmp"  # writers don't collide
        tmp.write_text(json.dumps(asdict(self), indent=1))
        os.replace(tmp, bundle / RECORD)

    @classmethod
    def load(cls, bundle: Path) -> "Record | None":
        try:
            data = json.loads((bundle / RECORD).read_text())
        except FileNotFoundError:
            return None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
