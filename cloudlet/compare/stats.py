"""The few statistics `cloudlet compare` reports: median, nearest-rank percentile and the
empirical CDF. An empty sample has no statistic: None, never a made-up 0."""

from __future__ import annotations

import math
import statistics


def median(xs) -> float | None:
    xs = list(xs)
    return statistics.median(xs) if xs else None


def percentile(xs, p: float) -> float | None:
    """Nearest rank: the smallest sample with at least p % of the samples at or under it,
    so that the figure is always one that was measured."""
    xs = sorted(xs)
    if not xs:
        return None
    rank = math.ceil(p / 100 * len(xs))
    return xs[min(max(rank, 1), len(xs)) - 1]


def cdf(xs) -> tuple[list[float], list[float]]:
    """The samples sorted, and for each the fraction of samples at or under it."""
    xs = sorted(xs)
    return xs, [(i + 1) / len(xs) for i in range(len(xs))]
