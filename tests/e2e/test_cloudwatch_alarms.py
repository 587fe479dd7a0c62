"""CloudWatch alarms through boto3 and the AWS CLI, evaluated for real by the server's
evaluator: M of N with every TreatMissingData case, metric math, a high-resolution alarm
following live data, AWS's state reasons and history, the API's filters, tags and refusals."""

import datetime
import json
import time

import pytest

from tests.e2e.errors import code

UTC = datetime.timezone.utc


@pytest.fixture(scope="module")
def cw(server):
    return server.client("cloudwatch")


def last_minutes(count: int) -> list[datetime.datetime]:
    """The starts of the last `count` complete minutes, newest first, with time to spare before
    the next minute ends (so that an alarm put now looks at these)."""
    now = time.time()
    if now % 60 > 50:
        time.sleep(61 - now % 60)
        now = time.time()
    end = int(now) - int(now) % 60
    return [datetime.datetime.fromtimestamp(end - 60 * (k + 1), UTC) for k in range(count)]


def settled(cw, name: str, state: str | None = None, seconds: float = 15) -> dict:
    """The alarm once it has been evaluated (its initial reason gone), or in `state`."""
    deadline = time.monotonic() + seconds
    while True:
        alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        done = alarm["StateValue"] == state if state else alarm["StateReason"] != "Unchecked: Initial alarm creation"
        if done:
            return alarm
        assert time.monotonic() < deadline, alarm
        time.sleep(0.3)


def alarm_on(cw, name: str, case: str, treat: str, **extra):
    cw.put_metric_alarm(AlarmName=name, Namespace="Shop", MetricName="CPU", Dimensions=[
        {"Name": "Case", "Value": case}], Statistic="Average", Period=60, EvaluationPeriods=3, DatapointsToAlarm=2,
        Threshold=70, ComparisonOperator="GreaterThanThreshold", TreatMissingData=treat, **extra)


@pytest.mark.parametrize("values, expected", [
    ((80, 90, 10), {"missing": "ALARM", "breaching": "ALARM", "notBreaching": "ALARM", "ignore": "ALARM"}),
    ((10, 20, 30), {"missing": "OK", "breaching": "OK", "notBreaching": "OK", "ignore": "OK"}),
    ((80, None, None), {"missing": "OK", "breaching": "ALARM", "notBreaching": "OK", "ignore": "OK"}),
    ((None, None, None), {"missing": "INSUFFICIENT_DATA", "breaching": "ALARM", "notBreaching": "OK",
                          "ignore": None}),
])
def test_m_of_n_and_missing_data(cw, values, expected):
    case = "-".join(str(v) for v in values)
    minutes = last_minutes(3)
    data = [{"MetricName": "CPU", "Dimensions": [{"Name": "Case", "Value": case}], "Timestamp": at, "Value": float(v)}
            for at, v in zip(minutes, values) if v is not None]
    if data:
        cw.put_metric_data(Namespace="Shop", MetricData=data)
    for treat, state in expected.items():
        alarm_on(cw, f"{case}-{treat}", case, treat)
    for treat, state in expected.items():
        name = f"{case}-{treat}"
        if state is None:  # ignore with nothing to go on: the state it had stays
            time.sleep(2.5)
            alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
            assert (alarm["StateValue"], alarm["StateReason"]) == ("INSUFFICIENT_DATA",
                                                                   "Unchecked: Initial alarm creation")
            continue
        alarm = settled(cw, name)
        assert alarm["StateValue"] == state, (name, alarm["StateReason"])
        reason = json.loads(alarm["StateReasonData"])
        assert (reason["version"], reason["statistic"], reason["period"], reason["threshold"]) == \
            ("1.0", "Average", 60, 70.0)
        assert reason["recentDatapoints"] == [float(v) for v in values if v is not None]
    if values == (80, 90, 10):
        reason = cw.describe_alarms(AlarmNames=[f"{case}-missing"])["MetricAlarms"][0]["StateReason"]
        assert reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints [80.0 (") and reason.endswith(
            "were greater than the threshold (70.0) (minimum 2 datapoints for OK -> ALARM transition).")


def test_metric_math_alarm(cw):
    minutes = last_minutes(2)
    cw.put_metric_data(Namespace="Web", MetricData=[
        *({"MetricName": "Requests", "Timestamp": at, "Value": 100.0} for at in minutes),
        *({"MetricName": "Errors", "Timestamp": at, "Value": v} for at, v in zip(minutes, (9.0, 1.0)))])
    stat = lambda name: {"Metric": {"Namespace": "Web", "MetricName": name}, "Period": 60, "Stat": "Sum"}  # noqa
    cw.put_metric_alarm(AlarmName="error-rate", EvaluationPeriods=2, DatapointsToAlarm=1, Threshold=5,
                        ComparisonOperator="GreaterThanOrEqualToThreshold", Metrics=[
                            {"Id": "e", "MetricStat": stat("Errors"), "ReturnData": False},
                            {"Id": "r", "MetricStat": stat("Requests"), "ReturnData": False},
                            {"Id": "rate", "Expression": "100 * e / r", "Label": "error %"}])
    alarm = settled(cw, "error-rate")
    assert alarm["StateValue"] == "ALARM" and json.loads(alarm["StateReasonData"])["recentDatapoints"] == [9.0, 1.0]
    assert "statistic" not in json.loads(alarm["StateReasonData"]) and alarm["Period"] == 60


def test_a_high_resolution_alarm_follows_live_data(cw):
    cw.put_metric_alarm(AlarmName="fast", Namespace="Live", MetricName="Queue", Statistic="Maximum", Period=10,
                        EvaluationPeriods=1, Threshold=50, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData="notBreaching")
    assert settled(cw, "fast")["StateValue"] == "OK"
    cw.put_metric_data(Namespace="Live", MetricData=[{"MetricName": "Queue", "Value": 90.0, "StorageResolution": 1}])
    assert settled(cw, "fast", "ALARM", seconds=25)["StateReason"].startswith("Threshold Crossed: 1 out of the last 1")
    assert settled(cw, "fast", "OK", seconds=25)  # nothing more came: not breaching
    items = cw.describe_alarm_history(AlarmName="fast", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in items][:2] == ["Alarm updated from ALARM to OK",
                                                        "Alarm updated from OK to ALARM"]  # newest first
    data = json.loads(items[0]["HistoryData"])
    assert (data["oldState"]["stateValue"], data["newState"]["stateValue"]) == ("ALARM", "OK")


def test_alarm_api(server, cw):
    for i in range(3):
        cw.put_metric_alarm(AlarmName=f"api-{i}", Namespace="Api", MetricName="M", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=i, ComparisonOperator="LessThanThreshold",
                            AlarmActions=["arn:aws:automate:us-east-1:ec2:stop"] if i == 0 else [],
                            Dimensions=[{"Name": "N", "Value": str(i)}], Tags=[{"Key": "team", "Value": "shop"}])
    page = cw.describe_alarms(AlarmNamePrefix="api-", MaxRecords=2)
    assert [a["AlarmName"] for a in page["MetricAlarms"]] == ["api-0", "api-1"] and page["CompositeAlarms"] == []
    rest = cw.describe_alarms(AlarmNamePrefix="api-", MaxRecords=2, NextToken=page["NextToken"])
    assert [a["AlarmName"] for a in rest["MetricAlarms"]] == ["api-2"] and "NextToken" not in rest
    first = page["MetricAlarms"][0]
    account = server.client("sts").get_caller_identity()["Account"]
    assert first["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:{account}:alarm:api-0"
    assert (first["ActionsEnabled"], first["OKActions"], first["Threshold"]) == (True, [], 0.0)
    assert [a["AlarmName"] for a in cw.describe_alarms(ActionPrefix="arn:aws:automate:")["MetricAlarms"]] == ["api-0"]
    assert [a["AlarmName"] for a in cw.describe_alarms_for_metric(
        Namespace="Api", MetricName="M", Dimensions=[{"Name": "N", "Value": "1"}])["MetricAlarms"]] == ["api-1"]
    assert cw.describe_alarms(AlarmTypes=["CompositeAlarm"], AlarmNamePrefix="api-")["MetricAlarms"] == []

    cw.set_alarm_state(AlarmName="api-1", StateValue="ALARM", StateReason="testing",
                       StateReasonData=json.dumps({"by": "hand"}))
    alarm = cw.describe_alarms(AlarmNames=["api-1"])["MetricAlarms"][0]
    assert (alarm["StateValue"], alarm["StateReason"], json.loads(alarm["StateReasonData"])) == \
        ("ALARM", "testing", {"by": "hand"})
    assert code(cw.set_alarm_state, AlarmName="nope", StateValue="OK", StateReason="x") == "ResourceNotFound"
    assert code(cw.set_alarm_state, AlarmName="api-1", StateValue="OK", StateReason="x",
                StateReasonData="{not json") == "InvalidFormat"
    assert cw.describe_alarms(AlarmNames=["api-1"], StateValue="ALARM")["MetricAlarms"]

    cw.disable_alarm_actions(AlarmNames=["api-0"])
    assert cw.describe_alarms(AlarmNames=["api-0"])["MetricAlarms"][0]["ActionsEnabled"] is False
    cw.enable_alarm_actions(AlarmNames=["api-0"])
    arn = first["AlarmArn"]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "tier", "Value": "web"}])
    assert sorted((t["Key"], t["Value"]) for t in cw.list_tags_for_resource(ResourceARN=arn)["Tags"]) == \
        [("team", "shop"), ("tier", "web")]
    cw.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "tier", "Value": "web"}]
    assert code(cw.list_tags_for_resource, ResourceARN=arn + "x") == "ResourceNotFoundException"

    created = cw.describe_alarm_history(AlarmName="api-2", HistoryItemType="ConfigurationUpdate")
    assert created["AlarmHistoryItems"][0]["HistorySummary"] == 'Alarm "api-2" created'
    assert code(cw.delete_alarms, AlarmNames=["api-2", "nope"]) == "ResourceNotFound"
    assert cw.describe_alarms(AlarmNames=["api-2"])["MetricAlarms"]  # nothing deleted by a refused call
    cw.delete_alarms(AlarmNames=["api-0", "api-1", "api-2"])
    assert cw.describe_alarms(AlarmNamePrefix="api-")["MetricAlarms"] == []
    assert cw.describe_alarm_history(AlarmName="api-2")["AlarmHistoryItems"] == []


def test_refusals_and_accounts(server, cw):
    ok = dict(AlarmName="bad", Namespace="N", MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=2,
              Threshold=1, ComparisonOperator="GreaterThanThreshold")
    for change, expected in (({"Period": 15}, "ValidationError"),
                             ({"DatapointsToAlarm": 3}, "ValidationError"),
                             ({"ExtendedStatistic": "p99"}, "InvalidParameterCombination"),
                             ({"Period": 3600, "EvaluationPeriods": 25}, "ValidationError"),
                             ({"TreatMissingData": "sometimes"}, "ValidationError"),
                             ({"Threshold": float("inf")}, "ValidationError"),
                             ({"AlarmActions": ["arn:aws:sns:us-east-1:nope"]}, "ValidationError"),
                             ({"ComparisonOperator": "GreaterThanUpperThreshold"}, "ValidationError")):
        assert code(cw.put_metric_alarm, **{**ok, **change}) == expected, change
    math = [{"Id": "a", "Expression": "1"}, {"Id": "b", "Expression": "2"}]
    assert code(cw.put_metric_alarm, AlarmName="bad", EvaluationPeriods=1, Threshold=1,
                ComparisonOperator="GreaterThanThreshold", Metrics=math) == "ValidationError"  # two return data
    assert code(cw.put_metric_alarm, **ok, Metrics=math[:1]) == "InvalidParameterCombination"
    assert cw.describe_alarms(AlarmNames=["bad"])["MetricAlarms"] == []

    server.aws("cloudwatch", "put-metric-alarm", "--alarm-name", "cli-alarm", "--namespace", "AWS/EC2",
               "--metric-name", "CPUUtilization", "--dimensions", "Name=InstanceId,Value=i-0123456789abcdef0",
               "--statistic", "Average", "--period", "300", "--evaluation-periods", "2", "--threshold", "80",
               "--comparison-operator", "GreaterThanThreshold", "--treat-missing-data", "notBreaching")
    printed = json.loads(server.aws("cloudwatch", "describe-alarms", "--alarm-names", "cli-alarm").stdout)
    assert printed["MetricAlarms"][0]["Dimensions"] == [{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}]
    key, secret = server.new_account("alarms-neighbour")
    neighbour = server.client("cloudwatch", key=key, secret=secret)
    assert neighbour.describe_alarms(AlarmNames=["cli-alarm"])["MetricAlarms"] == []
    assert code(neighbour.delete_alarms, AlarmNames=["cli-alarm"]) == "ResourceNotFound"
    assert code(neighbour.list_tags_for_resource, ResourceARN=printed["MetricAlarms"][0]["AlarmArn"]) == \
        "ResourceNotFoundException"
