"""Failed logins per source: free up to an allowance, then turns spaced out, doubling to a cap,
handed out in order however many attempts arrive at once; forgotten after the window."""

import asyncio
import logging
import time

from cloudlet import logins
from cloudlet.logins import CAP, FREE, WINDOW, Logins, spacing


def test_spacing_doubles_past_the_allowance_up_to_the_cap():
    assert [spacing(n) for n in range(FREE)] == [0.0] * FREE
    assert spacing(FREE) == logins.BASE and spacing(FREE + 1) == 2 * logins.BASE
    assert spacing(FREE + 100) == CAP


def hot(source: str, clock=time.monotonic) -> Logins:
    tracker = Logins(clock)
    for _ in range(FREE + 100):
        tracker.failed(source, "sigv4", "AKIAEXAMPLE")
    return tracker


def test_a_hot_sources_attempts_take_turns_even_side_by_side(monkeypatch):
    monkeypatch.setattr(logins, "CAP", 0.1)
    tracker = hot("10.0.0.9")

    async def attempts(source, count):
        started = time.monotonic()
        await asyncio.gather(*(tracker.turn(source) for _ in range(count)))
        return time.monotonic() - started

    assert asyncio.run(attempts("10.0.0.9", 6)) >= 5 * 0.1 - 0.01
    assert asyncio.run(attempts("10.0.0.1", 50)) < 0.05  # a source without failures never waits


def test_failures_are_forgotten_after_the_window(monkeypatch):
    monkeypatch.setattr(logins, "CAP", 0.1)
    now = [1000.0]
    tracker = hot("10.0.0.9", clock=lambda: now[0])

    async def two_turns():
        started = time.monotonic()
        await tracker.turn("10.0.0.9")
        await tracker.turn("10.0.0.9")
        return time.monotonic() - started

    assert asyncio.run(two_turns()) >= 0.09
    now[0] += WINDOW + 1
    assert asyncio.run(two_turns()) < 0.05


def test_failures_are_logged_without_secrets(caplog):
    with caplog.at_level(logging.WARNING, "cloudlet.logins"):
        Logins().failed("10.0.0.9", "registry", "AWS")
    assert "failed registry login from 10.0.0.9 as 'AWS': 1 in the last 60s" in caplog.text
