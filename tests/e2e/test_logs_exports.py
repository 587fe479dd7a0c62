"""CloudWatch Logs export tasks through boto3: the events of a time range written as AWS lays
out its objects, under the data dir's exports/ (there is no S3), one gzip file per stream;
hostile bucket, prefix and stream names kept inside it; AWS's refusals."""

import gzip
import secrets
import time
from urllib.parse import quote

import pytest

from tests.e2e.errors import code

T0 = (int(time.time()) - 3600) * 1000  # an hour ago: inside any retention


@pytest.fixture(scope="module")
def logs(server):
    return server.client("logs")


@pytest.fixture(scope="module")
def other(server):
    key, secret = server.new_account("logs-exports-other")
    return server.client("logs", key=key, secret=secret)


@pytest.fixture
def group(logs):
    name = f"/exports/{secrets.token_hex(4)}"
    logs.create_log_group(logGroupName=name)
    for stream, events in {"web/1": [(0, "GET /"), (1000, "GET /a"), (5000, "after the range")],
                           "..": [(2000, "dots")], "app/../../../x": [(3000, "climbs")], "db": [(4000, "query")]}.items():
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
        logs.put_log_events(logGroupName=name, logStreamName=stream,
                            logEvents=[{"timestamp": T0 + t, "message": m} for t, m in events])
    yield name
    logs.delete_log_group(logGroupName=name)


def stamp(offset_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime((T0 + offset_ms) / 1000))


def exported(server, logs, task: dict) -> dict[str, list[str]]:
    """Each stream's lines in a finished task's directory."""
    account = logs.describe_log_groups(logGroupNamePrefix=task["logGroupName"])["logGroups"][0]["arn"].split(":")[4]
    top = server.data_dir / "exports" / account / task["destination"]
    where = top.joinpath(*task["destinationPrefix"].split("/"), task["taskId"])
    return {d.name: gzip.decompress((d / "000000.gz").read_bytes()).decode().splitlines() for d in where.iterdir()}


def test_an_export_writes_each_stream_s_events_in_the_range(server, logs, group):
    task_id = logs.create_export_task(taskName="nightly", logGroupName=group, fromTime=T0, to=T0 + 5000,
                                      destination="my-bucket", destinationPrefix="logs/2026")["taskId"]
    [task] = logs.describe_export_tasks(taskId=task_id)["exportTasks"]
    assert task["status"]["code"] == "COMPLETED" and task["taskName"] == "nightly"
    assert (task["from"], task["to"], task["destination"], task["destinationPrefix"]) == \
        (T0, T0 + 5000, "my-bucket", "logs/2026")
    assert task["executionInfo"]["completionTime"] >= task["executionInfo"]["creationTime"]
    files = exported(server, logs, task)
    # the end is left out; a stream name is one directory name, whatever it holds
    assert files[quote("web/1", safe="")] == [f"{stamp(0)} GET /", f"{stamp(1000)} GET /a"]
    assert files["%2E%2E"] == [files["%2E%2E"][0]] and files["%2E%2E"][0].endswith(" dots")
    assert files[quote("app/../../../x", safe="")][0].endswith(" climbs") and len(files) == 4
    assert not (server.data_dir / "x").exists()


def test_a_stream_prefix_and_the_default_prefix(server, logs, group):
    task_id = logs.create_export_task(logGroupName=group, logStreamNamePrefix="web/", fromTime=T0,
                                      to=T0 + 10_000, destination="my-bucket")["taskId"]
    [task] = logs.describe_export_tasks(taskId=task_id)["exportTasks"]
    assert task["destinationPrefix"] == "exportedlogs"
    files = exported(server, logs, task)
    assert list(files) == ["web%2F1"] and len(files["web%2F1"]) == 3


def test_a_hostile_prefix_stays_inside(server, logs, group):
    task_id = logs.create_export_task(logGroupName=group, fromTime=T0, to=T0 + 10_000, destination="my-bucket",
                                      destinationPrefix="../../../../tmp/./..")["taskId"]
    [task] = logs.describe_export_tasks(taskId=task_id)["exportTasks"]
    assert task["destinationPrefix"] == "../../../../tmp/./.."  # shown as given
    exports = server.data_dir / "exports"
    found = [p for p in exports.rglob("000000.gz") if task["taskId"] in p.parts]
    assert len(found) == 4 and all(p.resolve().is_relative_to(exports.resolve()) for p in found)


def test_listing_cancelling_and_another_account(server, logs, other, group):
    first = logs.create_export_task(logGroupName=group, fromTime=T0, to=T0 + 1, destination="a-bucket")["taskId"]
    second = logs.create_export_task(logGroupName=group, fromTime=T0, to=T0 + 1, destination="a-bucket")["taskId"]
    listed = [t["taskId"] for t in logs.describe_export_tasks(statusCode="COMPLETED")["exportTasks"]]
    assert listed.index(second) < listed.index(first)  # newest first
    assert logs.describe_export_tasks(statusCode="RUNNING")["exportTasks"] == []
    one = logs.describe_export_tasks(limit=1)
    assert len(one["exportTasks"]) == 1 and logs.describe_export_tasks(limit=1, nextToken=one["nextToken"])[
        "exportTasks"][0]["taskId"] != one["exportTasks"][0]["taskId"]
    assert code(logs.cancel_export_task, taskId=first) == "InvalidOperationException"
    assert code(logs.cancel_export_task, taskId="00000000-0000-0000-0000-000000000000") == "ResourceNotFoundException"
    assert other.describe_export_tasks(taskId=first)["exportTasks"] == []
    assert code(other.create_export_task, logGroupName=group, fromTime=T0, to=T0 + 1, destination="a-bucket") == \
        "ResourceNotFoundException"


@pytest.mark.parametrize("bucket", ["..", "a", "UPPER", "a/b", "-start", "two..dots", "x" * 64])
def test_bad_buckets_are_refused(logs, group, bucket):
    assert code(logs.create_export_task, logGroupName=group, fromTime=T0, to=T0 + 1, destination=bucket) == \
        "InvalidParameterException"


def test_bad_ranges_and_groups_are_refused(logs, group):
    assert code(logs.create_export_task, logGroupName=group, fromTime=T0 + 1, to=T0, destination="my-bucket") == \
        "InvalidParameterException"
    assert code(logs.create_export_task, logGroupName=group + "-none", fromTime=T0, to=T0 + 1,
                destination="my-bucket") == "ResourceNotFoundException"
    assert code(logs.describe_export_tasks, nextToken="junk") == "InvalidParameterException"
