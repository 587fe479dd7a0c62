"""CloudWatch metrics through boto3 (which speaks the model's JSON protocol), its CBOR and
query protocols and the AWS CLI: PutMetricData's kinds of data, GetMetricStatistics' buckets
and percentiles, ListMetrics' filters, GetMetricData's metric math and paging, compressed
bodies, and AWS's refusals."""

import datetime
import gzip
import json
import time

import boto3
import botocore.session
import pytest

from tests.e2e.errors import code

UTC = datetime.timezone.utc


@pytest.fixture(scope="module")
def cw(server):
    return server.client("cloudwatch")


def minute_ago(minutes: int) -> datetime.datetime:
    now = int(time.time())
    return datetime.datetime.fromtimestamp(now - now % 60 - 60 * minutes, UTC)


def client_speaking(server, protocol: str, tmp_path):
    """A CloudWatch client on another of the model's protocols (botocore picks JSON)."""
    source = botocore.session.get_session().get_component("data_loader").load_service_model("cloudwatch", "service-2")
    model = {**source, "metadata": {**source["metadata"], "protocol": protocol, "protocols": [protocol]}}
    folder = tmp_path / protocol / "cloudwatch" / source["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json.gz").write_bytes(gzip.compress(json.dumps(model).encode()))
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(tmp_path / protocol))
    profile = server.profile()
    return boto3.session.Session(botocore_session=core).client(
        "cloudwatch", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=profile["aws_access_key_id"], aws_secret_access_key=profile["aws_secret_access_key"])


def test_values_statistic_sets_and_percentiles(cw):
    at = minute_ago(5)
    dims = [{"Name": "Shop", "Value": "north"}, {"Name": "Env", "Value": "test"}]
    cw.put_metric_data(Namespace="Shop", MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": at, "Values": [float(v) for v in range(1, 101)],
         "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": at + datetime.timedelta(seconds=30),
         "Value": 1000.0, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": at + datetime.timedelta(minutes=1),
         "Values": [5.0, 7.0], "Counts": [3.0, 1.0], "Unit": "Milliseconds"}])
    got = cw.get_metric_statistics(Namespace="Shop", MetricName="Latency", Dimensions=dims[::-1],
                                   StartTime=at, EndTime=at + datetime.timedelta(minutes=2), Period=60,
                                   Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"])
    assert got["Label"] == "Latency"
    first, second = sorted(got["Datapoints"], key=lambda p: p["Timestamp"])
    assert (first["Timestamp"], first["SampleCount"], first["Sum"], first["Minimum"], first["Maximum"],
            first["Unit"]) == (at, 101, 5050 + 1000, 1, 1000, "Milliseconds")
    assert (second["SampleCount"], second["Sum"], second["Average"]) == (4, 22, 5.5)
    pct = cw.get_metric_statistics(Namespace="Shop", MetricName="Latency", Dimensions=dims, StartTime=at,
                                   EndTime=at + datetime.timedelta(minutes=1), Period=60,
                                   ExtendedStatistics=["p50", "p99", "p100"])["Datapoints"][0]["ExtendedStatistics"]
    assert pct == {"p50": 51.0, "p99": 100.0, "p100": 1000.0}
    wide = cw.get_metric_statistics(Namespace="Shop", MetricName="Latency", Dimensions=dims, StartTime=at,
                                    EndTime=at + datetime.timedelta(minutes=2), Period=120, Statistics=["Sum"])
    assert [p["Sum"] for p in wide["Datapoints"]] == [6072]  # two minutes in one bucket
    assert cw.get_metric_statistics(Namespace="Shop", MetricName="Latency", Dimensions=dims[:1], StartTime=at,
                                    EndTime=at + datetime.timedelta(minutes=2), Period=60,
                                    Statistics=["Sum"])["Datapoints"] == []  # dimensions match as a whole set
    assert cw.get_metric_statistics(Namespace="Shop", MetricName="Latency", Dimensions=dims, StartTime=at,
                                    EndTime=at + datetime.timedelta(minutes=2), Period=60, Statistics=["Sum"],
                                    Unit="Seconds")["Datapoints"] == []  # no unit conversion, as on AWS

    cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Orders", "Timestamp": at, "StatisticValues": {
        "SampleCount": 4, "Sum": 10, "Minimum": 1, "Maximum": 4}}])
    point = cw.get_metric_statistics(Namespace="Shop", MetricName="Orders", StartTime=at, Period=60,
                                     EndTime=at + datetime.timedelta(minutes=1), Statistics=["Average"])
    assert [(p["Average"], p["Unit"]) for p in point["Datapoints"]] == [(2.5, "None")]


def test_high_resolution_seconds(cw):
    now = int(time.time())
    base = datetime.datetime.fromtimestamp(now - now % 10 - 60, UTC)
    cw.put_metric_data(Namespace="Fast", MetricData=[
        {"MetricName": "Ticks", "Timestamp": base + datetime.timedelta(seconds=s), "Value": 1.0,
         "StorageResolution": 1} for s in range(20)])
    cw.put_metric_data(Namespace="Fast", MetricData=[{"MetricName": "Slow", "Timestamp": base, "Value": 1.0}])
    got = cw.get_metric_statistics(Namespace="Fast", MetricName="Ticks", StartTime=base, Period=10,
                                   EndTime=base + datetime.timedelta(seconds=20), Statistics=["Sum"])
    assert sorted((p["Timestamp"], p["Sum"]) for p in got["Datapoints"]) == [
        (base, 10), (base + datetime.timedelta(seconds=10), 10)]
    minute = cw.get_metric_statistics(Namespace="Fast", MetricName="Ticks", StartTime=base - datetime.timedelta(
        minutes=2), EndTime=base + datetime.timedelta(minutes=2), Period=60, Statistics=["SampleCount"])
    assert sum(p["SampleCount"] for p in minute["Datapoints"]) == 20
    assert code(cw.get_metric_statistics, Namespace="Fast", MetricName="Ticks", StartTime=base, Period=7,
                EndTime=base + datetime.timedelta(seconds=20), Statistics=["Sum"]) == "InvalidParameterValue"
    active = cw.list_metrics(Namespace="Fast", RecentlyActive="PT3H")["Metrics"]
    assert sorted(m["MetricName"] for m in active) == ["Slow", "Ticks"]


def test_list_metrics_filters_and_pages(cw):
    at = minute_ago(1)
    cw.put_metric_data(Namespace="Many", MetricData=[
        {"MetricName": "Load", "Dimensions": [{"Name": "Host", "Value": f"h{i}"}], "Timestamp": at, "Value": 1.0}
        for i in range(501)])
    cw.put_metric_data(Namespace="Many", MetricData=[{"MetricName": "Other", "Timestamp": at, "Value": 1.0}])
    first = cw.list_metrics(Namespace="Many", MetricName="Load")
    assert len(first["Metrics"]) == 500 and "NextToken" in first
    rest = cw.list_metrics(Namespace="Many", MetricName="Load", NextToken=first["NextToken"])
    assert len(rest["Metrics"]) == 1 and "NextToken" not in rest
    by_value = cw.list_metrics(Namespace="Many", Dimensions=[{"Name": "Host", "Value": "h7"}])["Metrics"]
    assert by_value == [{"Namespace": "Many", "MetricName": "Load", "Dimensions": [{"Name": "Host", "Value": "h7"}]}]
    named = [m["MetricName"] for m in cw.get_paginator("list_metrics").paginate(
        Namespace="Many", Dimensions=[{"Name": "Host"}]).build_full_result()["Metrics"]]
    assert len(named) == 501 and set(named) == {"Load"}
    assert code(cw.list_metrics, NextToken="bogus") == "InvalidNextToken"


def test_metric_math_and_paging(cw):
    at = minute_ago(10)
    cw.put_metric_data(Namespace="Web", MetricData=[
        *({"MetricName": "Requests", "Timestamp": at + datetime.timedelta(minutes=i), "Value": 10.0 * (i + 1)}
          for i in range(5)),
        *({"MetricName": "Errors", "Timestamp": at + datetime.timedelta(minutes=i), "Value": 1.0} for i in (0, 2, 4))])
    stat = {"Namespace": "Web", "MetricName": "Requests"}
    queries = [
        {"Id": "r", "MetricStat": {"Metric": stat, "Period": 60, "Stat": "Sum"}, "ReturnData": False},
        {"Id": "e", "MetricStat": {"Metric": {**stat, "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"},
         "ReturnData": False},
        {"Id": "rate", "Expression": "100 * FILL(e, 0) / r", "Label": "error rate"},
        {"Id": "total", "Expression": "SUM(METRICS())"},
        {"Id": "growth", "Expression": "DIFF(r)"}]
    got = cw.get_metric_data(MetricDataQueries=queries, StartTime=at, EndTime=at + datetime.timedelta(minutes=5),
                             ScanBy="TimestampAscending")
    results = {r["Id"]: r for r in got["MetricDataResults"]}
    assert set(results) == {"rate", "total", "growth"} and results["rate"]["Label"] == "error rate"
    assert results["rate"]["Values"] == [10.0, 0.0, 100 / 30, 0.0, 2.0]
    assert results["rate"]["Timestamps"][0] == at and results["rate"]["StatusCode"] == "Complete"
    assert results["total"]["Values"] == [11.0, 20.0, 31.0, 40.0, 51.0]
    assert results["growth"]["Values"] == [10.0] * 4
    newest_first = cw.get_metric_data(MetricDataQueries=[{**queries[0], "ReturnData": True}],
                                      StartTime=at, EndTime=at + datetime.timedelta(minutes=5), MaxDatapoints=2)
    assert newest_first["MetricDataResults"][0]["Values"] == [50.0, 40.0]
    assert newest_first["MetricDataResults"][0]["StatusCode"] == "PartialData"
    pages = cw.get_paginator("get_metric_data").paginate(
        MetricDataQueries=[{**queries[0], "ReturnData": True}], StartTime=at,
        EndTime=at + datetime.timedelta(minutes=5), MaxDatapoints=2)
    assert [v for p in pages for v in p["MetricDataResults"][0]["Values"]] == [50.0, 40.0, 30.0, 20.0, 10.0]
    for bad in ("r +", "NOPE(r)", "unknown * 2", "[r, e]", "SUM(r)"):
        assert code(cw.get_metric_data, MetricDataQueries=[*queries[:2], {"Id": "x", "Expression": bad}],
                    StartTime=at, EndTime=at + datetime.timedelta(minutes=5)) == "ValidationError", bad
    assert code(cw.get_metric_data, MetricDataQueries=[{"Id": "Upper", "Expression": "1"}], StartTime=at,
                EndTime=at + datetime.timedelta(minutes=5)) == "ValidationError"
    assert code(cw.get_metric_data, MetricDataQueries=[queries[0], queries[0]], StartTime=at,
                EndTime=at + datetime.timedelta(minutes=5)) == "ValidationError"


def test_refusals(cw):
    at = minute_ago(1)
    one = {"MetricName": "M", "Timestamp": at, "Value": 1.0}
    for bad, expected in (
            ({"Namespace": "AWS/EC2", "MetricData": [one]}, "InvalidParameterValue"),
            ({"Namespace": "N", "MetricData": [{**one, "Values": [1.0]}]}, "InvalidParameterCombination"),
            ({"Namespace": "N", "MetricData": [{"MetricName": "M"}]}, "InvalidParameterCombination"),
            ({"Namespace": "N", "MetricData": [{"MetricName": "M", "Values": [1.0, 2.0], "Counts": [1.0]}]},
             "InvalidParameterValue"),
            ({"Namespace": "N", "MetricData": [{**one, "Value": float("nan")}]}, "InvalidParameterValue"),
            ({"Namespace": "N", "MetricData": [{**one, "StorageResolution": 5}]}, "InvalidParameterValue"),
            ({"Namespace": "N", "MetricData": [{**one, "Timestamp": at - datetime.timedelta(days=15)}]},
             "InvalidParameterValue"),
            ({"Namespace": "N", "MetricData": [{**one, "Timestamp": at + datetime.timedelta(hours=3)}]},
             "InvalidParameterValue"),
            ({"Namespace": "N", "MetricData": [{**one, "Dimensions": [{"Name": "a", "Value": "1"}] * 2}]},
             "InvalidParameterValue"),
            ({"Namespace": "N", "MetricData": [one] * 1001}, "InvalidParameterValue")):
        assert code(cw.put_metric_data, **bad) == expected, bad
    assert cw.list_metrics(Namespace="N")["Metrics"] == []  # nothing of a refused request kept
    ask = dict(Namespace="N", MetricName="M", StartTime=at, EndTime=at + datetime.timedelta(minutes=1), Period=60)
    assert code(cw.get_metric_statistics, **ask) == "MissingParameter"
    assert code(cw.get_metric_statistics, **ask, Statistics=["Sum"], ExtendedStatistics=["p9"]) == \
        "InvalidParameterCombination"
    assert code(cw.get_metric_statistics, **ask, ExtendedStatistics=["p101"]) == "InvalidParameterValue"
    assert code(cw.get_metric_statistics, **{**ask, "EndTime": at}, Statistics=["Sum"]) == "InvalidParameterValue"
    assert code(cw.get_metric_statistics, **{**ask, "Period": 1, "EndTime": at + datetime.timedelta(hours=1)},
                Statistics=["Sum"]) == "InvalidParameterCombination"  # 3,600 datapoints > 1,440


def test_protocols_cli_and_accounts(server, cw, tmp_path):
    at = minute_ago(2)
    for protocol, value in (("smithy-rpc-v2-cbor", 2.0), ("query", 3.0)):
        other = client_speaking(server, protocol, tmp_path)
        sent = []
        other.meta.events.register("before-send", lambda request, **_: sent.append(request.headers["Content-Type"]))
        other.put_metric_data(Namespace="Wire", MetricData=[{"MetricName": "Hits", "Timestamp": at, "Value": value,
                                                             "Dimensions": [{"Name": "By", "Value": protocol}]}])
        got = other.get_metric_statistics(Namespace="Wire", MetricName="Hits", StartTime=at, Period=60,
                                          EndTime=at + datetime.timedelta(minutes=1), Statistics=["Maximum"],
                                          Dimensions=[{"Name": "By", "Value": protocol}])
        assert [p["Maximum"] for p in got["Datapoints"]] == [value], protocol
        assert (b"cbor" if "cbor" in protocol else b"form-urlencoded") in sent[0]
        assert code(other.put_metric_data, Namespace="AWS/X", MetricData=[{"MetricName": "M", "Value": 1.0}]) == \
            "InvalidParameterValue", protocol
    server.aws("cloudwatch", "put-metric-data", "--namespace", "Wire", "--metric-name", "Orders", "--value", "3",
               "--unit", "Count", "--timestamp", at.isoformat())
    printed = json.loads(server.aws(
        "cloudwatch", "get-metric-statistics", "--namespace", "Wire", "--metric-name", "Orders", "--start-time",
        at.isoformat(), "--end-time", (at + datetime.timedelta(minutes=1)).isoformat(), "--period", "60",
        "--statistics", "Sum").stdout)
    assert [(p["Sum"], p["Unit"]) for p in printed["Datapoints"]] == [(3.0, "Count")]
    listed = json.loads(server.aws("cloudwatch", "list-metrics", "--namespace", "Wire").stdout)["Metrics"]
    assert sorted(m["MetricName"] for m in listed) == ["Hits", "Hits", "Orders"]
    key, secret = server.new_account("metrics-neighbour")
    neighbour = server.client("cloudwatch", key=key, secret=secret)
    assert neighbour.list_metrics(Namespace="Wire")["Metrics"] == []
    assert neighbour.get_metric_statistics(Namespace="Wire", MetricName="Orders", StartTime=at, Period=60,
                                           EndTime=at + datetime.timedelta(minutes=1),
                                           Statistics=["Sum"])["Datapoints"] == []
    assert server.client("cloudwatch", region="eu-west-1").list_metrics(Namespace="Wire")["Metrics"] == []


def test_compressed_bodies_are_bounded(server, tmp_path):
    """botocore gzips PutMetricData bodies from 10 KiB (test_list_metrics_filters_and_pages sends
    one); a signed body that inflates past 16 times the operation's limit, or is not gzip, is
    refused without being held whole."""
    cw = server.client("cloudwatch")
    body = {}
    cw.meta.events.register("before-sign.cloudwatch.PutMetricData", lambda request, **_: (
        request.headers.__setitem__("Content-Encoding", "gzip"), setattr(request, "data", body["now"])))
    body["now"] = gzip.compress(b" " * (17 << 20))
    assert code(cw.put_metric_data, Namespace="Bomb", MetricData=[{"MetricName": "M", "Value": 1.0}]) == \
        "RequestEntityTooLargeException"
    body["now"] = b"\x1f\x8b\x08\x00not gzip at all"
    assert code(cw.put_metric_data, Namespace="Bomb", MetricData=[{"MetricName": "M", "Value": 1.0}]) == \
        "SerializationException"
    body["now"] = gzip.compress(b'{"Namespace": "Bomb", "MetricData": [{"MetricName": "M", "Value": 1}]}')[:-4]
    assert code(cw.put_metric_data, Namespace="Bomb", MetricData=[{"MetricName": "M", "Value": 1.0}]) == \
        "SerializationException"  # cut short
    body["now"] = gzip.compress(b'{"Namespace": "Bomb", "MetricData": [{"MetricName": "M", "Value": 1}]}')
    cw.put_metric_data(Namespace="Bomb", MetricData=[{"MetricName": "M", "Value": 1.0}])
    assert [m["MetricName"] for m in cw.list_metrics(Namespace="Bomb")["Metrics"]] == ["M"]
