"""CloudWatch Logs Insights through boto3: StartQuery over the events of its log groups and time
range, the query language's fields, filter (comparisons, like /regex/, and/or/not, JSON fields),
stats with bin() and by, sort, limit and parse; GetQueryResults' rows, @ptr and statistics;
DescribeQueries and StopQuery; MalformedQueryException with its compile error; hostile
regexes bounded; another account sees none of the queries."""

import json
import time

import pytest

from tests.e2e.errors import code

NOW = int(time.time())


@pytest.fixture(scope="module")
def logs(server):
    client = server.client("logs")
    for group, stream, messages in (
            ("/insights/app", "web-1", [json.dumps({"level": "error", "latency": 250, "path": "/a", "user": {"id": 7}}),
                                        json.dumps({"level": "info", "latency": 12, "path": "/b"}),
                                        "user=alice action=login took 30ms"]),
            ("/insights/app", "web-2", [json.dumps({"level": "error", "latency": 90, "path": "/a"}),
                                        "user=bob action=logout took 5ms", "Timeout talking to db"]),
            ("/insights/other", "s", ["ERROR elsewhere"])):
        if not client.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            client.create_log_group(logGroupName=group)
        client.create_log_stream(logGroupName=group, logStreamName=stream)
        client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": (NOW - 60) * 1000 + i, "message": m} for i, m in enumerate(messages)])
    return client


def query(logs, text, groups=("/insights/app",), **kw):
    kw.setdefault("startTime", NOW - 3600)
    kw.setdefault("endTime", NOW + 60)
    query_id = logs.start_query(logGroupNames=list(groups), queryString=text, **kw)["queryId"]
    got = logs.get_query_results(queryId=query_id)
    assert got["status"] == "Complete"
    return query_id, got


def rows(got) -> list[dict]:
    return [{f["field"]: f["value"] for f in row if f["field"] != "@ptr"} for row in got["results"]]


def test_fields_filter_sort_limit(logs):
    _, got = query(logs, 'fields @timestamp, @message, latency | filter level = "error" | sort latency desc')
    assert [r["latency"] for r in rows(got)] == ["250", "90"]
    assert all(any(f["field"] == "@ptr" and f["value"] for f in row) for row in got["results"])
    assert set(rows(got)[0]) == {"@timestamp", "@message", "latency"}
    assert rows(got)[0]["@timestamp"].count(":") == 2 and "." in rows(got)[0]["@timestamp"]
    stats = got["statistics"]
    assert (stats["recordsMatched"], stats["recordsScanned"]) == (2, 6) and stats["bytesScanned"] > 0
    _, got = query(logs, "fields latency | filter latency > 50 and latency < 300 | sort latency asc | limit 1")
    assert rows(got) == [{"latency": "90"}] and got["statistics"]["recordsMatched"] == 2
    _, got = query(logs, 'filter @message like /(?i)timeout|LOGOUT/ or user.id = 7 | fields @logStream, @message '
                         '| sort @message')
    assert [(r["@logStream"], r["@message"][:4]) for r in rows(got)] == \
        [("web-2", "Time"), ("web-2", "user"), ("web-1", '{"le')]  # by Unicode: T < u < {
    _, got = query(logs, 'filter not @message like "user=" and level != "error" | fields @message')
    # a record without the field compared (the plain-text lines) does not match, != included
    assert [r["@message"] for r in rows(got)] == [json.dumps({"level": "info", "latency": 12, "path": "/b"})]
    _, got = query(logs, "filter @logStream = 'web-1' | fields @log | limit 1")
    assert rows(got)[0]["@log"].endswith(":/insights/app")


def test_stats_and_parse(logs):
    _, got = query(logs, "stats count(*) as n, avg(latency), sum(latency), min(latency), max(latency) by level "
                         "| sort n desc")
    by_level = {r.get("level"): r for r in rows(got)}
    assert by_level["error"] == {"level": "error", "n": "2", "avg(latency)": "170", "sum(latency)": "340",
                                 "min(latency)": "90", "max(latency)": "250"}
    assert by_level[None]["n"] == "3" and "avg(latency)" not in by_level[None]
    assert all(f["field"] != "@ptr" for row in got["results"] for f in row)
    _, got = query(logs, 'parse @message "user=* action=* took *ms" as who, what, ms | filter ispresent_ms > 0 '
                         'or ms >= 5 | stats sum(ms) as total, count(who) by what | sort what')
    assert rows(got) == [{"what": "login", "total": "30", "count(who)": "1"},
                         {"what": "logout", "total": "5", "count(who)": "1"}]
    _, got = query(logs, "stats count(*) by bin(5m)", groups=("/insights/app", "/insights/other"))
    assert sum(int(r["count(*)"]) for r in rows(got)) == 7
    assert all(r["bin(5m)"].endswith(":00.000") for r in rows(got))


def test_time_range_and_limit(logs):
    _, got = query(logs, "fields @message", startTime=NOW + 10, endTime=NOW + 60)
    assert got["results"] == [] and got["statistics"]["recordsScanned"] == 0
    _, got = query(logs, "fields @message", limit=2)
    assert len(got["results"]) == 2 and got["statistics"]["recordsMatched"] == 6
    _, got = query(logs, "")
    assert len(got["results"]) == 6 and {"@message", "@timestamp", "@logStream"} <= set(rows(got)[0])
    query_id, _ = query(logs, "fields @message")
    first = logs.get_query_results(queryId=query_id, maxItems=4)
    rest = logs.get_query_results(queryId=query_id, nextToken=first["nextToken"])
    assert len(first["results"]) == 4 and len(rest["results"]) == 2 and "nextToken" not in rest


def test_describe_and_stop(logs):
    query_id, _ = query(logs, "fields @message | limit 1", groups=("/insights/other",))
    listed = logs.describe_queries(logGroupName="/insights/other")["queries"]
    mine = [q for q in listed if q["queryId"] == query_id][0]
    assert (mine["status"], mine["queryString"], mine["logGroupName"]) == \
        ("Complete", "fields @message | limit 1", "/insights/other")
    assert all(q["status"] == "Complete" for q in logs.describe_queries(status="Complete")["queries"])
    assert not [q for q in logs.describe_queries(status="Running")["queries"] if q["queryId"] == query_id]
    assert code(logs.stop_query, queryId=query_id) == "InvalidParameterException"
    assert code(logs.stop_query, queryId="nope") == "ResourceNotFoundException"
    assert code(logs.get_query_results, queryId="nope") == "ResourceNotFoundException"


@pytest.mark.parametrize("text", ["fields", "bogus @message", "filter latency >", "stats median(x)", "limit 0",
                                  "sort latency |", "filter @message like /(/", 'parse @message "a * b" as x, y',
                                  "filter " + "(" * 40 + "a = 1" + ")" * 40, "filter a like /x", 'filter a = "x'])
def test_malformed_queries(logs, text):
    with pytest.raises(logs.exceptions.MalformedQueryException) as err:
        logs.start_query(logGroupName="/insights/app", startTime=NOW - 60, endTime=NOW, queryString=text)
    compile_error = err.value.response["queryCompileError"]
    assert compile_error["message"] == err.value.response["Error"]["Message"]
    location = compile_error["location"]
    assert 0 <= location["startCharOffset"] <= location["endCharOffset"] <= len(text)


def test_refused_requests(server, logs):
    start = {"startTime": NOW - 60, "endTime": NOW, "queryString": "fields @message"}
    assert code(logs.start_query, **start) == "InvalidParameterException"  # no group
    assert code(logs.start_query, logGroupName="/insights/app", logGroupNames=["/insights/app"], **start) == \
        "InvalidParameterException"
    assert code(logs.start_query, logGroupName="/insights/none", **start) == "ResourceNotFoundException"
    assert code(logs.start_query, logGroupNames=[f"/g{i}" for i in range(51)], **start) == \
        "InvalidParameterException"
    assert code(logs.start_query, logGroupName="/insights/app", startTime=NOW, endTime=NOW - 60,
                queryString="fields @message") == "InvalidParameterException"
    assert code(logs.start_query, logGroupName="/insights/app", queryLanguage="SQL", **start) == \
        "InvalidParameterException"
    unchecked = server.client("logs", validate=False)
    assert code(unchecked.start_query, logGroupName="/insights/app", limit=0, **start) == \
        "InvalidParameterException"
    assert code(unchecked.start_query, logGroupName="/insights/app", startTime=NOW - 60, endTime=NOW,
                queryString="x" * 10_001) == "InvalidParameterException"


def test_hostile_regex_is_linear(logs):
    logs.create_log_group(logGroupName="/insights/hostile")
    logs.create_log_stream(logGroupName="/insights/hostile", logStreamName="s")
    logs.put_log_events(logGroupName="/insights/hostile", logStreamName="s", logEvents=[
        {"timestamp": NOW * 1000 - i, "message": "a" * 20_000 + "!"} for i in range(5)][::-1])
    began = time.monotonic()
    _, got = query(logs, "filter @message like /(a+)+$/ or @message like /(a|aa)*c/ | stats count(*)",
                   groups=("/insights/hostile",))
    assert time.monotonic() - began < 20  # backtracking would take longer than the age of the universe
    assert got["results"] == [] and got["statistics"]["recordsScanned"] == 5
    _, got = query(logs, "filter @message like /a{3}!$/ | stats count(*) as n", groups=("/insights/hostile",))
    assert rows(got) == [{"n": "5"}]


def test_another_account_sees_no_queries(server, logs):
    query_id, _ = query(logs, "fields @message")
    key, secret = server.new_account("insights-other")
    other = server.client("logs", key=key, secret=secret)
    assert code(other.get_query_results, queryId=query_id) == "ResourceNotFoundException"
    assert not [q for q in other.describe_queries()["queries"] if q["queryId"] == query_id]
    assert code(other.start_query, logGroupName="/insights/app", startTime=NOW - 3600, endTime=NOW + 60,
                queryString="fields @message") == "ResourceNotFoundException"
    account = logs.describe_log_groups(logGroupNamePrefix="/insights/app")["logGroups"][0]["logGroupArn"]
    assert code(other.start_query, logGroupIdentifiers=[account], startTime=NOW - 3600, endTime=NOW + 60,
                queryString="fields @message") == "ResourceNotFoundException"
