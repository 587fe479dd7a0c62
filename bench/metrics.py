"""CloudWatch metrics under load: PutMetricData datapoints ingested per second into 10,000
series, and GetMetricData latency for 10 series over a day, through boto3.

Peer: moto's server (the common AWS mock, which keeps datapoints in memory), measured in the
same run with the same requests when installed (`pip install 'moto[server]'`).

    .venv/bin/python -m bench.metrics [--series 10000] [--seconds 10] [--clients 2] [--queries 200]

Each PutMetricData carries 1,000 series x 10 values (10,000 datapoints) at one minute of the
past day. Then --alarms alarms, one per series: the time until all of them have been
evaluated. Goals: >= 50,000 datapoints/s ingested; GetMetricData p99 <= 50 ms; 1,000 alarms
evaluated in <= 1 s.
"""

import argparse
import datetime
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

from bench.api import cloudlet_and_moto, stop

PER_REQUEST, VALUES = 1000, 10
UTC = datetime.timezone.utc


def client(endpoint: str, key: str, secret: str):
    return boto3.session.Session().client(
        "cloudwatch", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}, read_timeout=900))


def day_start() -> int:
    now = int(time.time())
    return now - now % 60 - 86400


def put(endpoint: str, key: str, secret: str, series: int, seconds: float, worker: int, workers: int) -> int:
    """PutMetricData for `seconds`; the datapoints it sent."""
    cw, first, sent, n = client(endpoint, key, secret), day_start(), 0, worker
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        base = (n * PER_REQUEST) % series
        at = datetime.datetime.fromtimestamp(first + 60 * ((n * PER_REQUEST // series) % 1440), UTC)
        cw.put_metric_data(Namespace="Bench", MetricData=[
            {"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": f"h{(base + i) % series}"}],
             "Timestamp": at, "Values": [float(v + i % 7) for v in range(VALUES)], "Unit": "Milliseconds"}
            for i in range(PER_REQUEST)])
        sent += PER_REQUEST * VALUES
        n += workers  # the workers take turns through the series and minutes
    return sent


def ingest(endpoint, key, secret, series: int, seconds: float, clients: int) -> float:
    with ProcessPoolExecutor(clients) as pool:
        started = time.monotonic()
        futures = [pool.submit(put, endpoint, key, secret, series, seconds, w, clients) for w in range(clients)]
        sent = sum(f.result() for f in futures)
        return sent / (time.monotonic() - started)


def query(endpoint, key, secret, count: int, budget: float = 30.0) -> tuple[float, float, int]:
    """p50 and p99 ms of `count` GetMetricData calls, or of those made in `budget` seconds."""
    cw = client(endpoint, key, secret)
    first = day_start()
    queries = [{"Id": f"m{i}", "MetricStat": {"Metric": {"Namespace": "Bench", "MetricName": "Latency",
                                                          "Dimensions": [{"Name": "Host", "Value": f"h{i}"}]},
                                               "Period": 300, "Stat": "Average"}} for i in range(10)]
    latencies = []
    stop = time.monotonic() + budget
    while len(latencies) < count and time.monotonic() < stop:
        t0 = time.perf_counter()
        got = cw.get_metric_data(MetricDataQueries=queries, StartTime=datetime.datetime.fromtimestamp(first, UTC),
                                 EndTime=datetime.datetime.fromtimestamp(first + 86400, UTC))
        latencies.append((time.perf_counter() - t0) * 1000)
        if not got["MetricDataResults"][0]["Values"]:
            raise RuntimeError("no datapoints came back")
    latencies.sort()
    return statistics.median(latencies), latencies[int(0.99 * (len(latencies) - 1))], len(latencies)


def alarms(endpoint, key, secret, count: int) -> float:
    """Seconds from the last of `count` PutMetricAlarm calls (one per series, 5 periods of 60 s
    each) until every alarm has been evaluated."""
    cw = client(endpoint, key, secret)
    for i in range(count):
        cw.put_metric_alarm(AlarmName=f"bench-{i}", Namespace="Bench", MetricName="Latency", Statistic="Average",
                            Dimensions=[{"Name": "Host", "Value": f"h{i}"}], Period=60, EvaluationPeriods=5,
                            Threshold=5, ComparisonOperator="GreaterThanThreshold")
    put_at = time.monotonic()
    while True:
        pending = sum(a["StateReason"] == "Unchecked: Initial alarm creation"
                      for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix="bench-")
                      for a in page["MetricAlarms"])
        if not pending:
            return time.monotonic() - put_at
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--alarms", type=int, default=1000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cloudlet-bench-"))
    targets = cloudlet_and_moto(root)
    try:
        print(f"{args.series:,} series, {args.clients} boto3 client processes, {os.cpu_count()} cores; "
              f"GetMetricData: 10 series, 1 day at 300 s, {args.queries} calls or 30 s")
        print(f"{'target':<10} {'datapoints/s':>13} {'p50 ms':>8} {'p99 ms':>8} {'calls':>6}")
        for name, _proc, endpoint, key, secret in targets:
            rate = ingest(endpoint, key, secret, args.series, args.seconds, args.clients)
            p50, p99, calls = query(endpoint, key, secret, args.queries)
            print(f"{name:<10} {rate:>13,.0f} {p50:>8.1f} {p99:>8.1f} {calls:>6}", flush=True)
        print("goals: >= 50,000 datapoints/s; GetMetricData p99 <= 50 ms")
        _name, _proc, endpoint, key, secret = targets[0]
        print(f"cloudlet: {args.alarms:,} alarms evaluated {alarms(endpoint, key, secret, args.alarms):.2f} s after "
              "the last was put (goal <= 1 s; moto stores alarms but never evaluates them)")
    finally:
        stop(targets, root)


if __name__ == "__main__":
    main()
