"""Where a container's start goes: the engine and the runtime mark their steps, and a caller
that asks (bench/container_start.py) reads how long each took. Nothing is timed unless a
recording is open on the calling thread: a mark costs a lookup otherwise."""

from __future__ import annotations

import contextlib
import threading
import time

_local = threading.local()


@contextlib.contextmanager
def recording():
    """Yields a dict that fills with step name -> seconds, for the steps done in the block."""
    marks: dict[str, float] = {}
    outer = getattr(_local, "marks", None)
    _local.marks = marks
    try:
        yield marks
    finally:
        _local.marks = outer


@contextlib.contextmanager
def step(name: str):
    marks = getattr(_local, "marks", None)
    if marks is None:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        marks[name] = marks.get(name, 0.0) + time.perf_counter() - t0
