"""The metric store without a server: percentiles from merged points stay within a rank of
1% of the truth however many values come, points go when their period's retention ends, and
a query reads the stored period AWS would answer it from."""

import random

import pytest

from cloudlet.services.cloudwatch import statistics as stats
from cloudlet.store import Store
from cloudlet.store import metrics
from cloudlet.store.metrics import Agg, Datum

NOW = 1_800_000_000 - 1_800_000_000 % 3600


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "state.db")
    yield s
    s.close()


def test_percentiles_of_many_merged_points_stay_close():
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 1) for _ in range(20_000)]
    agg = Agg.of(values[0])
    for chunk in range(1, len(values), 150):  # as PutMetricData calls of 150 values each bring them
        part = Agg.of(values[chunk])
        for v in values[chunk + 1:chunk + 150]:
            part.merge(Agg.of(v))
        agg.merge(part)
    assert len(agg.samples) <= metrics.MAX_PAIRS and agg.count == len(values)
    ordered = sorted(values)
    for q in (50, 90, 99):
        got = stats.percentile(agg, q)
        rank = sum(v <= got for v in ordered) / len(ordered) * 100
        assert abs(rank - q) <= 1.0, (q, rank)
    assert stats.percentile(agg, 100) == max(values) and stats.value(agg, "Minimum") == min(values)


def test_statistic_sets_have_no_percentiles():
    agg = Agg.of(5.0)
    agg.merge(Agg(4, 10, 1, 4, None))
    assert (stats.percentile(agg, 50), agg.count, agg.sum) == (None, 5, 15)


def test_points_roll_up_and_expire(store):
    def put(stamp, value, high):
        with store.scoped("111", "us-east-1") as db:
            metrics.put(db, [Datum("N", "M", (), stamp, "Count", Agg.of(value), high)], NOW)

    put(NOW - 10, 1.0, True)
    put(NOW - 5, 2.0, True)
    put(NOW - 4 * 3600, 4.0, True)  # past the 3 hours of 1-s points: kept at 60 s and coarser only
    with store.scoped("111", "us-east-1", write=False) as db:
        sid = metrics.series(db, "N", "M", [])["series_id"]
        assert [p[0] for p in metrics.points(db, sid, 1, 0, NOW)] == [NOW - 10, NOW - 5]
        assert [(p[0], p[2].sum) for p in metrics.points(db, sid, 60, 0, NOW)] == [(NOW - 4 * 3600, 4.0),
                                                                                   (NOW - 60, 3.0)]
        assert [p[2].sum for p in metrics.points(db, sid, 3600, 0, NOW)] == [4.0, 3.0]
    metrics.expire(store, NOW + 3 * 3600)  # the 1-s points' retention ends
    with store.scoped("111", "us-east-1", write=False) as db:
        assert metrics.points(db, sid, 1, 0, NOW) == [] and len(metrics.points(db, sid, 60, 0, NOW)) == 2
    metrics.expire(store, NOW + 456 * 86400)  # everything's ends, and the series goes with its points
    with store.scoped("111", "us-east-1", write=False) as db:
        assert metrics.series(db, "N", "M", []) is None
    with store.scoped("222", "us-east-1", write=False) as db:
        assert metrics.listed(db, NOW) == []


def test_the_stored_period_a_query_reads():
    assert stats.source_period(10, NOW - 60, NOW, True) == 1
    assert stats.source_period(60, NOW - 60, NOW, True) == 60  # fewer rows, the same answer
    assert stats.source_period(300, NOW - 60, NOW, False) == 60  # buckets from the minute, not 5-min points
    assert stats.source_period(10, NOW - 60, NOW, False) == 60  # a standard metric's minute
    assert stats.source_period(60, NOW - 20 * 86400, NOW, False) is None  # AWS: a multiple of 300 then
    assert stats.source_period(600, NOW - 20 * 86400, NOW, False) == 300
    assert stats.source_period(3600, NOW - 100 * 86400, NOW, False) == 3600
    assert stats.origin(NOW + 754, 300, NOW + 800) == NOW + 720  # to the minute, not the period
    assert stats.origin(NOW + 754, 10, NOW + 800) == NOW + 750
