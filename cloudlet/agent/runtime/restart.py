"""Restart policies: whether, and when, an exited container should run again.

Docker's policies: "no", "on-failure" (non-zero exit, up to max_retries times if set),
"always", and "unless-stopped". A container stopped through the API stays stopped
under every policy. Quick crash loops back off exponentially (0.1 s doubling up to a
minute); a run that lasted RESET_AFTER seconds counts as healthy and restarts at once.
"""

from __future__ import annotations

from datetime import datetime

from .errors import ContainerError
from .records import Record

POLICIES = ("no", "on-failure", "always", "unless-stopped")
BACKOFF_START, BACKOFF_MAX, RESET_AFTER = 0.1, 60.0, 10.0


def check_policy(policy: str, max_retries: int) -> None:
    if policy not in POLICIES:
        raise ContainerError(f"unknown restart policy {policy!r} (one of {', '.join(POLICIES)})")
    if max_retries < 0 or (max_retries and policy != "on-failure"):
        raise ContainerError("max retries is a count, and only for the on-failure policy")


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def restart_at(rec: Record) -> float | None:
    """The wall-clock time at which rec's container should start again, or None."""
    if rec.exit_code is None or rec.manually_stopped or not rec.finished_at:
        return None
    if rec.restart_policy == "no":
        return None
    if rec.restart_policy == "on-failure":
        if rec.exit_code == 0 or (rec.max_retries and rec.restart_count >= rec.max_retries):
            return None
    finished = _ts(rec.finished_at)
    ran_for = finished - _ts(rec.started_at) if rec.started_at else 0.0
    delay = 0.0 if ran_for >= RESET_AFTER else min(BACKOFF_MAX, BACKOFF_START * 2 ** rec.restart_count)
    return finished + delay
