"""CloudWatch Logs through boto3 and the AWS CLI: groups and streams, events in and out in
time order with paging tokens, filter patterns (terms, phrases, ?or, -not, JSON), retention
and AWS's errors."""

import json
import time

import pytest

from tests.e2e.errors import code


@pytest.fixture(scope="module")
def logs(server):
    return server.client("logs")


def test_groups_streams_and_events(server, logs):
    logs.create_log_group(logGroupName="/ecs/api-test", tags={"team": "shop"})
    assert code(logs.create_log_group, logGroupName="/ecs/api-test") == "ResourceAlreadyExistsException"
    logs.create_log_stream(logGroupName="/ecs/api-test", logStreamName="web/1")
    now = int(time.time() * 1000)
    events = [{"timestamp": now - 3000 + i, "message": f"line {i}"} for i in range(5)]
    assert "rejectedLogEventsInfo" not in logs.put_log_events(logGroupName="/ecs/api-test", logStreamName="web/1",
                                                              logEvents=events)
    got = logs.get_log_events(logGroupName="/ecs/api-test", logStreamName="web/1", startFromHead=True, limit=3)
    assert [e["message"] for e in got["events"]] == ["line 0", "line 1", "line 2"]
    rest = logs.get_log_events(logGroupName="/ecs/api-test", logStreamName="web/1", nextToken=got["nextForwardToken"])
    assert [e["message"] for e in rest["events"]] == ["line 3", "line 4"]
    latest = logs.get_log_events(logGroupName="/ecs/api-test", logStreamName="web/1", limit=2)
    assert [e["message"] for e in latest["events"]] == ["line 3", "line 4"]  # from the tail by default
    printed = json.loads(server.aws("logs", "get-log-events", "--log-group-name", "/ecs/api-test",
                                    "--log-stream-name", "web/1").stdout)
    assert len(printed["events"]) == 5
    group = logs.describe_log_groups(logGroupNamePrefix="/ecs/api")["logGroups"][0]
    assert group["logGroupName"] == "/ecs/api-test" and group["storedBytes"] > 0
    stream = logs.describe_log_streams(logGroupName="/ecs/api-test")["logStreams"][0]
    assert (stream["firstEventTimestamp"], stream["lastEventTimestamp"]) == (now - 3000, now - 2996)
    assert logs.list_tags_log_group(logGroupName="/ecs/api-test")["tags"] == {"team": "shop"}


def test_rejected_and_refused_events(logs):
    logs.create_log_group(logGroupName="/ecs/rejects")
    logs.create_log_stream(logGroupName="/ecs/rejects", logStreamName="s")
    now = int(time.time() * 1000)
    old, future = now - 15 * 86400 * 1000, now + 3 * 3600 * 1000
    answer = logs.put_log_events(logGroupName="/ecs/rejects", logStreamName="s", logEvents=[
        {"timestamp": old, "message": "too old"}, {"timestamp": now, "message": "fine"},
        {"timestamp": future, "message": "too new"}])
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0, "tooNewLogEventStartIndex": 2}
    assert [e["message"] for e in logs.get_log_events(logGroupName="/ecs/rejects", logStreamName="s")["events"]] \
        == ["fine"]
    assert code(logs.put_log_events, logGroupName="/ecs/rejects", logStreamName="s", logEvents=[
        {"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}]) == "InvalidParameterException"
    assert code(logs.put_log_events, logGroupName="/ecs/none", logStreamName="s", logEvents=[
        {"timestamp": now, "message": "x"}]) == "ResourceNotFoundException"
    assert code(logs.get_log_events, logGroupName="/ecs/rejects", logStreamName="nope") == "ResourceNotFoundException"
    assert code(logs.put_retention_policy, logGroupName="/ecs/rejects", retentionInDays=2) == \
        "InvalidParameterException"


@pytest.mark.parametrize("pattern, expected", [
    ("ERROR", ["ERROR disk full", "ERROR: Out of memory", '{"level": "error", "latency": 250, "msg": "ERROR"}']),
    ('"Out of memory"', ["ERROR: Out of memory"]),
    ("?WARN ?disk", ["ERROR disk full", "WARN slow"]),
    ("ERROR -disk", ["ERROR: Out of memory", '{"level": "error", "latency": 250, "msg": "ERROR"}']),
    ('{ $.level = "error" && $.latency > 200 }', ['{"level": "error", "latency": 250, "msg": "ERROR"}']),
    ('{ $.latency < 200 }', ['{"level": "info", "latency": 12}']),
    ("", ["ERROR disk full", "WARN slow", "ERROR: Out of memory", '{"level": "info", "latency": 12}',
          '{"level": "error", "latency": 250, "msg": "ERROR"}']),
])
def test_filter_patterns(logs, pattern, expected):
    group = "/ecs/filters"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
        now = int(time.time() * 1000)
        messages = ["ERROR disk full", "WARN slow", "ERROR: Out of memory", '{"level": "info", "latency": 12}',
                    '{"level": "error", "latency": 250, "msg": "ERROR"}']
        for i, stream in enumerate(("a", "b")):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
                {"timestamp": now + j, "message": m} for j, m in enumerate(messages) if j % 2 == i])
    found = logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
    assert [e["message"] for e in found] == expected


def test_retention_hides_old_events_and_groups_go(logs):
    logs.create_log_group(logGroupName="/ecs/short")
    logs.create_log_stream(logGroupName="/ecs/short", logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/ecs/short", logStreamName="s", logEvents=[
        {"timestamp": now - 3 * 86400 * 1000, "message": "three days ago"}, {"timestamp": now, "message": "now"}])
    logs.put_retention_policy(logGroupName="/ecs/short", retentionInDays=1)
    assert logs.describe_log_groups(logGroupNamePrefix="/ecs/short")["logGroups"][0]["retentionInDays"] == 1
    assert [e["message"] for e in logs.get_log_events(logGroupName="/ecs/short", logStreamName="s")["events"]] == \
        ["now"]
    logs.delete_log_group(logGroupName="/ecs/short")
    assert code(logs.describe_log_streams, logGroupName="/ecs/short") == "ResourceNotFoundException"
