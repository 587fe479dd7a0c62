"""Failed logins, per source address: SigV4 (edge/dispatch.py) and the registry's Basic auth
(registry/api.py) report them here, and the edge's admission (edge/admission.py) paces the
sources that have too many.

A source with FREE or more failures in the last WINDOW seconds is "hot": each of its next
attempts, whatever credential it carries, waits for a turn, and turns are spaced by a delay
that doubles with every failure past FREE, up to CAP. Turns are handed out in order, so
attempts sent side by side queue behind each other instead of slipping through together;
success or not is only known once the secret is checked, so a hot source's good requests
wait their turn too. A source with no recent failures never waits.

Every failure is logged with its source, kind and the access key id or user it named, never
the secret or password.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict, deque

log = logging.getLogger("cloudlet.logins")

FREE = 20  # failures a source may make in WINDOW before it is paced: typos, a test's deliberate refusals
WINDOW = 60.0  # seconds a failure counts
BASE = 0.05  # seconds between a hot source's turns at FREE failures, doubled with each one more
CAP = 1.0  # the most a turn waits for the one before it
_SOURCES = 10_000  # sources remembered; the least recently failing is forgotten first
_KEPT = FREE + 32  # failures remembered per source: enough to reach CAP


def spacing(failures: int) -> float:
    """Seconds between a source's turns once it has `failures` in the window."""
    if failures < FREE:
        return 0.0
    return min(CAP, BASE * 2 ** min(failures - FREE, 32))


class Logins:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._next_turn: dict[str, float] = {}
        # failures are reported from worker threads (SigV4) and the event loop (registry)
        self._lock = threading.Lock()

    def _recent(self, source: str, now: float) -> int:
        times = self._failures.get(source)
        if times is None:
            return 0
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if not times:
            del self._failures[source]
            self._next_turn.pop(source, None)
            return 0
        return len(times)

    def failed(self, source: str, kind: str, who: str | None = None) -> None:
        """Count a failed login of `kind` ("sigv4", "registry") from `source`; `who` is the access
        key id or user name it claimed."""
        with self._lock:
            now = self._clock()
            count = self._recent(source, now) + 1
            self._failures.setdefault(source, deque(maxlen=_KEPT)).append(now)
            self._failures.move_to_end(source)
            while len(self._failures) > _SOURCES:
                forgotten, _ = self._failures.popitem(last=False)
                self._next_turn.pop(forgotten, None)
        delay = spacing(count)
        log.warning("failed %s login from %s%s: %d in the last %ds%s", kind, source or "(unknown)",
                    f" as {who[:64]!r}" if who else "", count, WINDOW,
                    f", its attempts now wait {delay:.2f}s apart" if delay else "")

    async def turn(self, source: str) -> None:
        """Wait for this source's next turn to have a credential checked (at once unless hot)."""
        with self._lock:
            now = self._clock()
            gap = spacing(self._recent(source, now))
            if not gap:
                return
            at = max(now, self._next_turn.get(source, now))
            self._next_turn[source] = at + gap
        if at > now:
            await asyncio.sleep(at - now)
