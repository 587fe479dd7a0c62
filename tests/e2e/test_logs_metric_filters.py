"""CloudWatch Logs metric filters through boto3 and the AWS CLI: filters put on a group turn the
events PutLogEvents stores into CloudWatch metrics (values from JSON and space-delimited fields,
literal values, defaultValue, dimensions), TestMetricFilter's answers as AWS documents them,
DescribeMetricFilters' filters and pages, every refusal, accounts kept apart, hostile patterns
and messages bounded, and AWS/Logs' IncomingBytes and IncomingLogEvents."""

import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.e2e.errors import code

UTC = datetime.timezone.utc
APACHE = ['127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
          '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
          '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /index.html HTTP/1.0" 404 4355']


@pytest.fixture(scope="module")
def logs(server):
    return server.client("logs")


@pytest.fixture(scope="module")
def cw(server):
    return server.client("cloudwatch")


def refusal(call, **kw) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as err:
        call(**kw)
    r = err.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def group_with_stream(logs, name: str) -> str:
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    return name


def put(logs, group: str, messages: list[str], at_ms: int | None = None) -> dict:
    at_ms = at_ms or int(time.time() * 1000)
    return logs.put_log_events(logGroupName=group, logStreamName="s",
                               logEvents=[{"timestamp": at_ms, "message": m} for m in messages])


def totals(cw, namespace: str, name: str, dimensions=(), minutes: int = 10) -> dict:
    """Sum, SampleCount, Minimum, Maximum and units of a metric over the last minutes."""
    now = datetime.datetime.now(UTC)
    got = cw.get_metric_statistics(Namespace=namespace, MetricName=name, Dimensions=list(dimensions),
                                   StartTime=now - datetime.timedelta(minutes=minutes),
                                   EndTime=now + datetime.timedelta(minutes=2), Period=60,
                                   Statistics=["Sum", "SampleCount", "Minimum", "Maximum"])["Datapoints"]
    if not got:
        return {}
    return {"Sum": sum(p["Sum"] for p in got), "SampleCount": sum(p["SampleCount"] for p in got),
            "Minimum": min(p["Minimum"] for p in got), "Maximum": max(p["Maximum"] for p in got),
            "Units": {p["Unit"] for p in got}}


def metric_filter(logs, group, name, pattern, value="1", **transformation):
    logs.put_metric_filter(logGroupName=group, filterName=name, filterPattern=pattern, metricTransformations=[
        {"metricName": name, "metricNamespace": "MF", "metricValue": value, **transformation}])


def test_json_values_reach_cloudwatch(logs, cw):
    group = group_with_stream(logs, "/mf/json")
    metric_filter(logs, group, "Latency", "{ $.latency = * }", "$.latency", unit="Milliseconds")
    metric_filter(logs, group, "SlowByPath", '{ $.latency > 15 && $.path = "/api/*" }', "$.latency",
                  dimensions={"Path": "$.path"})
    put(logs, group, ['{"latency": 10, "path": "/api/a"}', '{"latency": 20, "path": "/api/b"}', "not json",
                      '{"latency": 30.5, "path": "/api/b"}', '{"latency": "n/a", "path": "/api/a"}', "[[[[[["])
    assert totals(cw, "MF", "Latency") == {"Sum": 60.5, "SampleCount": 3, "Minimum": 10, "Maximum": 30.5,
                                           "Units": {"Milliseconds"}}
    assert totals(cw, "MF", "SlowByPath", [{"Name": "Path", "Value": "/api/b"}])["Sum"] == 50.5
    assert totals(cw, "MF", "SlowByPath", [{"Name": "Path", "Value": "/api/a"}]) == {}
    assert totals(cw, "MF", "SlowByPath") == {}  # only the series with the dimension exists
    listed = cw.list_metrics(Namespace="MF", MetricName="SlowByPath")["Metrics"]
    assert [m["Dimensions"] for m in listed] == [[{"Name": "Path", "Value": "/api/b"}]]


def test_space_delimited_fields_and_defaults(server, logs, cw):
    group = group_with_stream(logs, "/mf/apache")
    metric_filter(logs, group, "Bytes", "[ip, id, user, timestamp, request, status, size]", "$size",
                  dimensions={"Status": "$status"}, unit="Bytes")
    metric_filter(logs, group, "Errors", "[..., status = 5* || status = 4*, size]", "1", defaultValue=0.0)
    metric_filter(logs, group, "Never", "NOTHING-MATCHES-THIS", "1")
    server.aws("logs", "put-metric-filter", "--log-group-name", group, "--filter-name", "Html",
               "--filter-pattern", "[..., request = *.html*, status, size]", "--metric-transformations",
               "metricName=Html,metricNamespace=MF,metricValue=$size")
    put(logs, group, APACHE + ["a line with too few fields"])
    assert totals(cw, "MF", "Bytes", [{"Name": "Status", "Value": "500"}])["Sum"] == 5324
    assert totals(cw, "MF", "Bytes", [{"Name": "Status", "Value": "200"}])["Units"] == {"Bytes"}
    assert totals(cw, "MF", "Errors") == {"Sum": 2, "SampleCount": 4, "Minimum": 0, "Maximum": 1,
                                          "Units": {"None"}}  # the default for each event that did not match
    assert totals(cw, "MF", "Html")["Sum"] == 4355
    assert cw.list_metrics(Namespace="MF", MetricName="Never")["Metrics"] == []  # no match, no default: nothing


def test_system_field_dimensions(logs, cw):
    group = group_with_stream(logs, "/mf/system")
    logs.put_metric_filter(logGroupName=group, filterName="Sys", filterPattern="ERROR", emitSystemFieldDimensions=[
        "@aws.region"], metricTransformations=[{"metricName": "Sys", "metricNamespace": "MF", "metricValue": "2"}])
    put(logs, group, ["ERROR one", "fine"])
    assert totals(cw, "MF", "Sys", [{"Name": "@aws.region", "Value": "us-east-1"}])["Sum"] == 2
    assert logs.describe_metric_filters(logGroupName=group)["metricFilters"][0]["emitSystemFieldDimensions"] == \
        ["@aws.region"]


def test_test_metric_filter_as_documented(logs):
    def test(pattern, messages=APACHE):
        return logs.test_metric_filter(filterPattern=pattern, logEventMessages=messages)["matches"]

    named = test("[ip, identity, user_id, timestamp, request, status_code, size]")
    assert [m["eventNumber"] for m in named] == [0, 1, 2] and named[0]["eventMessage"] == APACHE[0]
    assert named[0]["extractedValues"] == {"$ip": "127.0.0.1", "$identity": "-", "$user_id": "frank",
                                           "$timestamp": "10/Oct/2000:13:25:15 -0700", "$size": "1534",
                                           "$request": "GET /apache_pb.gif HTTP/1.0", "$status_code": "200"}
    assert test("[..., size]")[1]["extractedValues"] == {"$1": "127.0.0.1", "$2": "-", "$3": "frank",
                                                         "$4": "10/Oct/2000:13:35:22 -0700", "$size": "5324",
                                                         "$5": "GET /apache_pb.gif HTTP/1.0", "$6": "500"}
    assert len(test("[]")[2]["extractedValues"]) == 7
    assert [m["eventNumber"] for m in test("[..., status_code=200, size]")] == [0]
    assert [(m["eventNumber"], m["extractedValues"]["$7"]) for m in test("[..., request=*.html*, status_code=4*,]")] \
        == [(2, "4355")]
    errors = ["02 May 2014 00:34:12,525 [INFO] Starting", "02 May 2014 00:34:16,142 [ERROR] Unhandled exception: "
              "InvalidQueryException", "02 May 2014 00:34:16,224 [ERROR] Terminating"]
    assert [(m["eventNumber"], m["extractedValues"]) for m in test('"[ERROR]" Exception', errors)] == [(1, {})]
    assert [m["extractedValues"] for m in test('{ $.a.b[1] = "x*" || $.n >= 2 }', [
        '{"a": {"b": [0, "xy"]}}', '{"n": 1}', '{"n": 2.5, "a": {"b": []}}'])] == [{"$.a.b[1]": "xy"}, {"$.n": "2.5"}]


def test_describe_pages_and_delete(server, logs):
    for group in ("/mf/list-a", "/mf/list-b"):
        logs.create_log_group(logGroupName=group)
    for i in range(5):
        metric_filter(logs, "/mf/list-a", f"f{i}", "", "1")
    metric_filter(logs, "/mf/list-b", "f1", "x", "1", metricName="Other")  # same filter name, other group
    first = logs.describe_metric_filters(logGroupName="/mf/list-a", limit=2)
    assert [f["filterName"] for f in first["metricFilters"]] == ["f0", "f1"]
    rest = logs.describe_metric_filters(logGroupName="/mf/list-a", nextToken=first["nextToken"])
    assert [f["filterName"] for f in rest["metricFilters"]] == ["f2", "f3", "f4"] and "nextToken" not in rest
    f0 = first["metricFilters"][0]
    assert (f0["logGroupName"], f0["filterPattern"], f0["metricTransformations"]) == \
        ("/mf/list-a", "", [{"metricName": "f0", "metricNamespace": "MF", "metricValue": "1"}])
    assert [f["filterName"] for f in logs.describe_metric_filters(logGroupName="/mf/list-a",
                                                                  filterNamePrefix="f3")["metricFilters"]] == ["f3"]
    by_metric = logs.describe_metric_filters(metricName="Other", metricNamespace="MF")["metricFilters"]
    assert [(f["logGroupName"], f["filterName"]) for f in by_metric] == [("/mf/list-b", "f1")]
    assert logs.describe_log_groups(logGroupNamePrefix="/mf/list-a")["logGroups"][0]["metricFilterCount"] == 5
    metric_filter(logs, "/mf/list-a", "f0", "changed", "2")  # put again: replaced, created when first put
    again = logs.describe_metric_filters(logGroupName="/mf/list-a", filterNamePrefix="f0")["metricFilters"][0]
    assert (again["filterPattern"], again["creationTime"]) == ("changed", f0["creationTime"])
    printed = json.loads(server.aws("logs", "describe-metric-filters", "--log-group-name", "/mf/list-b").stdout)
    assert [f["filterName"] for f in printed["metricFilters"]] == ["f1"]
    logs.delete_metric_filter(logGroupName="/mf/list-a", filterName="f4")
    assert refusal(logs.delete_metric_filter, logGroupName="/mf/list-a", filterName="f4") == \
        ("ResourceNotFoundException", "The specified metric filter does not exist.", 400)
    logs.delete_log_group(logGroupName="/mf/list-a")  # its filters go with it
    logs.create_log_group(logGroupName="/mf/list-a")
    assert logs.describe_metric_filters(logGroupName="/mf/list-a")["metricFilters"] == []


def test_limit_of_a_hundred_filters(logs):
    logs.create_log_group(logGroupName="/mf/limit")
    for i in range(100):
        metric_filter(logs, "/mf/limit", f"f{i:03}", "", "1")
    assert refusal(metric_filter, logs=logs, group="/mf/limit", name="one-more", pattern="") == \
        ("LimitExceededException", "Resource limit exceeded.", 400)
    metric_filter(logs, "/mf/limit", "f000", "updated", "1")  # replacing one is not adding one
    assert logs.describe_log_groups(logGroupNamePrefix="/mf/limit")["logGroups"][0]["metricFilterCount"] == 100


NOT_A_NUMBER = "Invalid metric transformation: metric value {} must be a valid number"


@pytest.mark.parametrize("pattern, transformation, extra, expected", [
    ("{ $.a = ", {}, {}, ("InvalidParameterException", "Invalid metric filter pattern")),
    ("%ERROR|WARN%", {}, {}, ("InvalidParameterException", "Invalid metric filter pattern")),
    ("ERROR", {"dimensions": {"A": "$.a"}}, {},
     ("InvalidParameterException", "The specified filter pattern does not support dimensions")),
    ("{ $.a = * }", {"dimensions": {"A": "$.a"}, "defaultValue": 0.0}, {},
     ("InvalidParameterException", "Invalid metric transformation: dimensions and default value are mutually "
                                   "exclusive properties")),
    ("[a, b, c, d]", {"dimensions": {"A": "$a", "B": "$b", "C": "$c", "D": "$d"}}, {},
     ("InvalidParameterException", "Invalid metric transformation: a metric filter can have at most 3 "
                                   "dimensions, system field dimensions included")),
    ("[a, b]", {"dimensions": {"A": "$a", "B": "$b"}}, {"emitSystemFieldDimensions": ["@aws.account",
                                                                                       "@aws.region"]},
     ("InvalidParameterException", "Invalid metric transformation: a metric filter can have at most 3 "
                                   "dimensions, system field dimensions included")),
    ("[a, b]", {"dimensions": {"A": "constant"}}, {},
     ("InvalidParameterException", "Invalid metric transformation: the dimension A must be a field the filter "
                                   "pattern extracts, such as $.field or $field, not constant")),
    ("[a, b]", {"metricValue": "$c"}, {}, ("InvalidParameterException", NOT_A_NUMBER.format("$c"))),
    ("ERROR", {"metricValue": "$.size"}, {}, ("InvalidParameterException", NOT_A_NUMBER.format("$.size"))),
    ("ERROR", {"metricValue": "one"}, {}, ("InvalidParameterException", NOT_A_NUMBER.format("one"))),
    ("ERROR", {"metricValue": "1e999"}, {}, ("InvalidParameterException", NOT_A_NUMBER.format("1e999"))),
    ("ERROR", {"defaultValue": 1e300}, {},
     ("InvalidParameterException", "Invalid metric transformation: default value 1e+300 must be a valid number")),
    ("ERROR", {"metricName": ""}, {},
     ("InvalidParameterException", "Invalid metric transformation: metricName must not be empty")),
    ("ERROR", {"metricNamespace": "AWS/Logs"}, {},
     ("InvalidParameterException", "Invalid metric transformation: the namespace AWS/Logs is reserved for AWS")),
    ("ERROR", {}, {"emitSystemFieldDimensions": ["@aws.secret"]},
     ("InvalidParameterException", "emitSystemFieldDimensions can hold @aws.account and @aws.region, each once.")),
    ("ERROR", {}, {"fieldSelectionCriteria": '@aws.region = "us-east-1"'},
     ("InvalidOperationException", "Field selection criteria are not supported for this log group.")),
])
def test_refused_filters(logs, pattern, transformation, extra, expected):
    if not logs.describe_log_groups(logGroupNamePrefix="/mf/refusals")["logGroups"]:
        logs.create_log_group(logGroupName="/mf/refusals")
    t = {"metricName": "M", "metricNamespace": "MF", "metricValue": "1", **transformation}
    assert refusal(logs.put_metric_filter, logGroupName="/mf/refusals", filterName="bad", filterPattern=pattern,
                   metricTransformations=[t], **extra) == (*expected, 400)
    assert logs.describe_metric_filters(logGroupName="/mf/refusals")["metricFilters"] == []  # nothing half-made


def test_refused_requests(logs):
    missing = ("ResourceNotFoundException", "The specified log group does not exist.", 400)
    t = [{"metricName": "M", "metricNamespace": "MF", "metricValue": "1"}]
    assert refusal(logs.put_metric_filter, logGroupName="/mf/none", filterName="f", filterPattern="",
                   metricTransformations=t) == missing
    assert refusal(logs.describe_metric_filters, logGroupName="/mf/none") == missing
    assert refusal(logs.delete_metric_filter, logGroupName="/mf/none", filterName="f") == missing
    assert refusal(logs.describe_metric_filters, metricName="M") == (
        "InvalidParameterException", "Describe Metric Filters request must contain both MetricName and "
                                     "MetricNamespace", 400)
    assert refusal(logs.describe_metric_filters, nextToken="garbage") == (
        "InvalidParameterException", "The specified nextToken is invalid.", 400)
    assert refusal(logs.test_metric_filter, filterPattern="[a, ..., ...]", logEventMessages=["x"]) == (
        "InvalidParameterException", "Invalid metric filter pattern", 400)
    for name, transformations in (("a:b", t), ("f", t * 2)):  # the model's [^:*]*; one transformation only
        refused = refusal(logs.put_metric_filter, logGroupName="/mf/none", filterName=name, filterPattern="",
                          metricTransformations=transformations)
        assert (refused[0], refused[1].split(":")[0], refused[2]) == \
            ("InvalidParameterException", "1 validation error detected", 400)


def test_accounts_are_apart(server, logs, cw):
    group = group_with_stream(logs, "/mf/mine")
    metric_filter(logs, group, "Mine", "", "1")
    key, secret = server.new_account("metric-filters-neighbour")
    their_logs, their_cw = server.client("logs", key=key, secret=secret), server.client("cloudwatch", key=key,
                                                                                       secret=secret)
    assert their_logs.describe_metric_filters()["metricFilters"] == []
    assert code(their_logs.describe_metric_filters, logGroupName=group) == "ResourceNotFoundException"
    assert code(their_logs.delete_metric_filter, logGroupName=group, filterName="Mine") == \
        "ResourceNotFoundException"
    assert code(their_logs.put_metric_filter, logGroupName=group, filterName="Spy", filterPattern="",
                metricTransformations=[{"metricName": "Spy", "metricNamespace": "MF", "metricValue": "1"}]) == \
        "ResourceNotFoundException"
    group_with_stream(their_logs, group)  # the same name, in their account
    put(their_logs, group, ["theirs"] * 3)
    put(logs, group, ["mine"])
    assert totals(cw, "MF", "Mine")["Sum"] == 1  # their events fed nothing of ours
    assert their_cw.list_metrics(Namespace="MF")["Metrics"] == []
    assert logs.describe_metric_filters(logGroupName=group)["metricFilters"][0]["filterName"] == "Mine"


def test_hostile_patterns_and_messages(logs, cw):
    group = group_with_stream(logs, "/mf/hostile")
    for pattern in ("{ " + "(" * 400 + "$.a = 1" + ")" * 400 + " }", "[" + ", ".join(["..."] * 3) + "]",
                    "%(a+)+$%", "{ $.a = %x+x+y% }", "{ $.a = 1 } }", "[a = %.*%]"):
        started = time.monotonic()
        assert refusal(logs.test_metric_filter, filterPattern=pattern, logEventMessages=["x"])[0] == \
            "InvalidParameterException", pattern
        assert time.monotonic() - started < 5
    assert code(logs.test_metric_filter, filterPattern="x" * 1025, logEventMessages=["x"]) == \
        "InvalidParameterException"  # the model's 1,024 characters
    # Wildcards never backtrack, and messages nested past any parser's depth are just not JSON.
    metric_filter(logs, group, "Stars", "[x = " + "*a" * 40 + "*b]", "1")
    metric_filter(logs, group, "Deep", "{ $.a = * }", "1", defaultValue=0.0)
    started = time.monotonic()
    put(logs, group, ["a" * 200_000, "[" * 200_000, '{"a":' * 50_000, '{"a": "ok"}'])
    assert time.monotonic() - started < 10
    assert totals(cw, "MF", "Deep") == {"Sum": 1, "SampleCount": 4, "Minimum": 0, "Maximum": 1, "Units": {"None"}}
    assert [e["message"] for e in logs.filter_log_events(logGroupName=group, filterPattern="{ $.a = ok }")[
        "events"]] == ['{"a": "ok"}']
    # A filter whose dimension takes a value per event publishes at most 1,000 series per batch.
    metric_filter(logs, group, "PerId", "{ $.id = * }", "1", dimensions={"Id": "$.id"})
    put(logs, group, [json.dumps({"id": f"req-{i}"}) for i in range(1500)])
    series, token = 0, None
    while True:
        page = cw.list_metrics(Namespace="MF", MetricName="PerId", **({"NextToken": token} if token else {}))
        series += len(page["Metrics"])
        token = page.get("NextToken")
        if not token:
            break
    assert series == 1000


def test_aws_logs_incoming_metrics(server):
    key, secret = server.new_account("incoming-logs")  # an account of its own: its totals are exact
    logs, cw = server.client("logs", key=key, secret=secret), server.client("cloudwatch", key=key, secret=secret)
    for group, messages in (("/mf/in-a", ["héllo", "x" * 100]), ("/mf/in-b", ["one", "two", "three"])):
        group_with_stream(logs, group)
        put(logs, group, messages)
    old = put(logs, "/mf/in-b", ["too old"], at_ms=int(time.time() * 1000) - 15 * 86400 * 1000)
    assert old["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0}  # rejected: not counted
    by_group = [{"Name": "LogGroupName", "Value": "/mf/in-a"}]
    assert totals(cw, "AWS/Logs", "IncomingBytes", by_group)["Sum"] == len("héllo".encode()) + 100
    assert totals(cw, "AWS/Logs", "IncomingBytes", by_group)["Units"] == {"Bytes"}
    assert totals(cw, "AWS/Logs", "IncomingLogEvents", [{"Name": "LogGroupName", "Value": "/mf/in-b"}])["Sum"] == 3
    account = totals(cw, "AWS/Logs", "IncomingLogEvents")
    assert (account["Sum"], account["Units"]) == (5, {"Count"})
    assert totals(cw, "AWS/Logs", "IncomingBytes")["Sum"] == 6 + 100 + 3 + 3 + 5
    names = {(m["MetricName"], json.dumps(m["Dimensions"])) for m in cw.list_metrics(Namespace="AWS/Logs")["Metrics"]}
    assert names == {(n, json.dumps(d)) for n in ("IncomingBytes", "IncomingLogEvents")
                     for d in ([], [{"Name": "LogGroupName", "Value": "/mf/in-a"}],
                               [{"Name": "LogGroupName", "Value": "/mf/in-b"}])}
