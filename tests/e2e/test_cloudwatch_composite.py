"""CloudWatch composite alarms through boto3: rules over alarms moved by hand and by real
data, composites of composites, AWS's state reasons and triggering alarms, the DescribeAlarms
filters and history of both types, deletion rules, cycles (which AWS lets be made), actions
suppression, another account's alarms out of reach, and hostile rules answered at once."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.e2e.errors import code

BOTH = ["MetricAlarm", "CompositeAlarm"]


@pytest.fixture(scope="module")
def cw(server):
    return server.client("cloudwatch")


@pytest.fixture(scope="module")
def account(server):
    return server.client("sts").get_caller_identity()["Account"]


def child(cw, name: str, **extra) -> None:
    """A metric alarm that keeps whatever state it is set to (no data, missing data ignored)."""
    cw.put_metric_alarm(AlarmName=name, Namespace="Composite", MetricName="Unused", Statistic="Sum", Period=3600,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData="ignore", **extra)


def set_to(cw, name: str, state: str) -> None:
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="by the test")


def composite(cw, name: str) -> dict:
    return cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]


def state(cw, name: str) -> str:
    return cw.describe_alarms(AlarmNames=[name], AlarmTypes=BOTH)["CompositeAlarms"][0]["StateValue"]


def refusal(call, **kw) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as err:
        call(**kw)
    error = err.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_rules_follow_their_alarms_at_once(cw, account):
    for name in ("cpu", "disk", "deploy"):
        child(cw, name)
    cw.put_composite_alarm(AlarmName="both", AlarmRule="ALARM(cpu) AND ALARM(\"disk\")", AlarmDescription="d",
                           Tags=[{"Key": "team", "Value": "ops"}])
    cw.put_composite_alarm(AlarmName="either", AlarmRule="ALARM(cpu) OR ALARM(disk)")
    cw.put_composite_alarm(AlarmName="calm", AlarmRule=f"NOT ALARM(arn:aws:cloudwatch:us-east-1:{account}:alarm:cpu)")
    cw.put_composite_alarm(AlarmName="unknown", AlarmRule="INSUFFICIENT_DATA(deploy) AND NOT OK(deploy)")
    got = composite(cw, "both")  # evaluated as it was put: never left in INSUFFICIENT_DATA
    assert (got["StateValue"], got["AlarmRule"], got["AlarmDescription"], got["ActionsEnabled"]) == \
        ("OK", 'ALARM(cpu) AND ALARM("disk")', "d", True)
    assert got["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:{account}:alarm:both"
    assert {"StateTransitionedTimestamp", "AlarmConfigurationUpdatedTimestamp"} <= got.keys()
    assert [state(cw, n) for n in ("either", "calm", "unknown")] == ["OK", "ALARM", "ALARM"]
    data = json.loads(got["StateReasonData"])  # a false AND: every alarm keeping it false
    assert sorted(t["arn"].rsplit(":", 1)[1] for t in data["triggeringAlarms"]) == ["cpu", "disk"]
    assert {t["state"]["value"] for t in data["triggeringAlarms"]} == {"INSUFFICIENT_DATA"}

    set_to(cw, "cpu", "ALARM")  # the composites moved in the same call
    assert [state(cw, n) for n in ("both", "either", "calm")] == ["OK", "ALARM", "OK"]
    either = composite(cw, "either")
    cpu_arn = f"arn:aws:cloudwatch:us-east-1:{account}:alarm:cpu"
    assert either["StateReason"].startswith(f"{cpu_arn} transitioned to ALARM at ")
    assert either["StateReason"].endswith(" UTC")
    reason = json.loads(either["StateReasonData"])  # a true OR: the alarms making it true
    assert [(t["arn"], t["state"]["value"]) for t in reason["triggeringAlarms"]] == [(cpu_arn, "ALARM")]
    assert reason["triggeringAlarms"][0]["state"]["timestamp"].endswith("+0000")

    set_to(cw, "disk", "ALARM")
    both = composite(cw, "both")
    assert both["StateValue"] == "ALARM" and both["StateReason"].startswith(
        f"arn:aws:cloudwatch:us-east-1:{account}:alarm:disk transitioned to ALARM at ")
    assert [t["arn"].rsplit(":", 1)[1] for t in json.loads(both["StateReasonData"])["triggeringAlarms"]] == \
        ["disk", "cpu"]  # newest first
    set_to(cw, "cpu", "OK")
    assert [state(cw, n) for n in ("both", "either", "calm")] == ["OK", "ALARM", "ALARM"]

    history = cw.describe_alarm_history(AlarmName="both", AlarmTypes=["CompositeAlarm"])["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in history if i["HistoryItemType"] == "StateUpdate"] == [
        "Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM",
        "Alarm updated from INSUFFICIENT_DATA to OK"]
    assert {i["AlarmType"] for i in history} == {"CompositeAlarm"}
    assert history[-1]["HistorySummary"] == 'Alarm "both" created'
    assert cw.describe_alarm_history(AlarmName="both")["AlarmHistoryItems"] == []  # metric alarms' only, by default
    assert {i["AlarmType"] for i in cw.describe_alarm_history(AlarmTypes=BOTH)["AlarmHistoryItems"]} == set(BOTH)

    set_to(cw, "both", "ALARM")  # by hand: stays until one of its alarms moves, or it is put again
    assert state(cw, "both") == "ALARM"
    cw.put_composite_alarm(AlarmName="both", AlarmRule="ALARM(cpu) AND ALARM(disk)")
    assert state(cw, "both") == "OK"
    arn = composite(cw, "both")["AlarmArn"]
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "ops"}]  # kept
    cw.disable_alarm_actions(AlarmNames=["both"])
    assert composite(cw, "both")["ActionsEnabled"] is False
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "tier", "Value": "1"}])
    assert len(cw.list_tags_for_resource(ResourceARN=arn)["Tags"]) == 2


def test_composites_of_composites_and_real_data(cw):
    cw.put_metric_alarm(AlarmName="queue-fast", Namespace="CompositeLive", MetricName="Depth", Statistic="Maximum",
                        Period=10, EvaluationPeriods=1, Threshold=50, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData="notBreaching")
    child(cw, "maintenance")
    cw.put_composite_alarm(AlarmName="queue-inner", AlarmRule="ALARM(queue-fast) OR FALSE")
    cw.put_composite_alarm(AlarmName="queue-outer", AlarmRule="ALARM(queue-inner) AND NOT ALARM(maintenance)")
    deadline = time.monotonic() + 25
    while cw.describe_alarms(AlarmNames=["queue-fast"])["MetricAlarms"][0]["StateValue"] != "OK":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert [state(cw, n) for n in ("queue-inner", "queue-outer")] == ["OK", "OK"]
    cw.put_metric_data(Namespace="CompositeLive", MetricData=[{"MetricName": "Depth", "Value": 90.0,
                                                               "StorageResolution": 1}])
    deadline = time.monotonic() + 25
    while state(cw, "queue-outer") != "ALARM":  # the evaluator moved the metric alarm, and with it both
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert cw.describe_alarms(AlarmNames=["queue-fast"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    outer = composite(cw, "queue-outer")
    assert ":alarm:queue-inner transitioned to ALARM at " in outer["StateReason"]
    set_to(cw, "maintenance", "ALARM")
    assert state(cw, "queue-outer") == "OK" and state(cw, "queue-inner") == "ALARM"


def test_bad_rules(server, cw, account):
    child(cw, "present")
    bad = {
        "ALARM(present) AND": ("ValidationError", "Error in AlarmRule [Unexpected end of rule at char 18, must be: "
                                                  "'(', 'NOT', TRUE or FALSE, ALARM, OK, or INSUFFICIENT_DATA]"),
        "ALARM(my alarm)": ("ValidationError", "Error in AlarmRule [Unsupported token 'alarm' at char 9, must be: "
                                               "')']"),
        "ALARM(present) OR ALARM(gone) OR OK(\"also gone\")": (
            "ValidationError", "Could not save the composite alarm as alarms [gone, also gone] in the alarm rule do "
                               "not exist"),
        "ALARM(arn:aws:cloudwatch:us-east-1:000000000000:alarm:present)": (
            "ValidationError", "Could not save the composite alarm as alarms [arn:aws:cloudwatch:us-east-1:"
                               "000000000000:alarm:present] in the alarm rule do not exist"),  # not this account's
        f"ALARM(arn:aws:cloudwatch:eu-west-1:{account}:alarm:present)": (
            "ValidationError", f"Could not save the composite alarm as alarms [arn:aws:cloudwatch:eu-west-1:{account}:"
                               "alarm:present] in the alarm rule do not exist"),  # nor this region's
        "ALARM(bad-composite)": (
            "ValidationError", "Could not save the composite alarm as alarms [bad-composite] in the alarm rule do "
                               "not exist"),  # itself, before it exists
        " OR ".join(f"ALARM(c{i})" for i in range(101)): (
            "ValidationError", "The AlarmRule can specify as many as 100 children alarms."),
        " AND ".join(["TRUE"] * 501): ("ValidationError", "The AlarmRule can have as many as 500 elements (child "
                                                          "alarms, TRUE or FALSE statements, and parentheses)."),
    }
    for rule, (expected, message) in bad.items():
        assert refusal(cw.put_composite_alarm, AlarmName="bad-composite", AlarmRule=rule) == \
            (expected, message, 400), rule
    raw = server.client("cloudwatch", validate=False)
    too_long = refusal(raw.put_composite_alarm, AlarmName="bad-composite", AlarmRule="TRUE OR " * 1280 + "TRUE")
    assert too_long[0].startswith("Validation") and too_long[1].endswith(  # the model's check, as the edge words it
        "at 'alarmRule' failed to satisfy constraint: Member must have length less than or equal to 10240")
    assert refusal(raw.put_composite_alarm, AlarmName="bad-composite", AlarmRule="")[0].startswith("Validation")
    others = ({"AlarmActions": ["arn:aws:automate:us-east-1:ec2:stop"]}, {"OKActions": ["arn:aws:sns:nope"]},
              {"ActionsSuppressor": "present"}, {"ActionsSuppressorWaitPeriod": 10},
              {"ActionsSuppressor": "gone", "ActionsSuppressorWaitPeriod": 1, "ActionsSuppressorExtensionPeriod": 1},
              {"ActionsSuppressor": "present", "ActionsSuppressorWaitPeriod": -1,
               "ActionsSuppressorExtensionPeriod": 1})
    for extra in others:
        assert code(cw.put_composite_alarm, AlarmName="bad-composite", AlarmRule="TRUE", **extra) == \
            "ValidationError", extra
    listed = cw.describe_alarms(AlarmNames=["bad-composite"], AlarmTypes=BOTH)
    assert (listed["MetricAlarms"], listed["CompositeAlarms"]) == ([], [])  # nothing half-written


def test_describe_filters(server, cw):
    for name in ("fam-a", "fam-b"):
        child(cw, name, AlarmActions=["arn:aws:sns:us-east-1:123456789012:fam-metric"])
    cw.put_composite_alarm(AlarmName="fam-mid", AlarmRule="ALARM(fam-a)")
    cw.put_composite_alarm(AlarmName="fam-top", AlarmRule="ALARM(fam-mid) OR OK(fam-b) OR ALARM(fam-a)",
                           OKActions=["arn:aws:sns:us-east-1:123456789012:pager"])
    plain = cw.describe_alarms(AlarmNamePrefix="fam-")
    assert [a["AlarmName"] for a in plain["MetricAlarms"]] == ["fam-a", "fam-b"] and plain["CompositeAlarms"] == []
    only = cw.describe_alarms(AlarmNamePrefix="fam-", AlarmTypes=["CompositeAlarm"])
    assert only["MetricAlarms"] == [] and [a["AlarmName"] for a in only["CompositeAlarms"]] == ["fam-mid", "fam-top"]
    page = cw.describe_alarms(AlarmNamePrefix="fam-", AlarmTypes=BOTH, MaxRecords=3)
    rest = cw.describe_alarms(AlarmNamePrefix="fam-", AlarmTypes=BOTH, MaxRecords=3, NextToken=page["NextToken"])
    assert ([a["AlarmName"] for a in page["MetricAlarms"] + page["CompositeAlarms"]],
            [a["AlarmName"] for a in rest["CompositeAlarms"]]) == (["fam-a", "fam-b", "fam-mid"], ["fam-top"])
    set_to(cw, "fam-b", "OK")
    in_alarm = cw.describe_alarms(AlarmNamePrefix="fam-", AlarmTypes=BOTH, StateValue="ALARM")
    assert in_alarm["MetricAlarms"] == [] and [a["AlarmName"] for a in in_alarm["CompositeAlarms"]] == ["fam-top"]
    by_action = cw.describe_alarms(ActionPrefix="arn:aws:sns:us-east-1:123456789012:pag", AlarmTypes=BOTH)
    assert [a["AlarmName"] for a in by_action["CompositeAlarms"]] == ["fam-top"] and by_action["MetricAlarms"] == []

    kids = cw.describe_alarms(ChildrenOfAlarmName="fam-top")
    assert [a["AlarmName"] for a in kids["MetricAlarms"]] == ["fam-a", "fam-b"]
    assert [sorted(a) for a in kids["CompositeAlarms"]] == [["AlarmArn", "AlarmName", "StateUpdatedTimestamp",
                                                            "StateValue"]]
    parents = cw.describe_alarms(ParentsOfAlarmName="fam-a")
    assert [a["AlarmName"] for a in parents["CompositeAlarms"]] == ["fam-mid", "fam-top"]
    assert all(sorted(a) == ["AlarmArn", "AlarmName"] for a in parents["CompositeAlarms"])
    assert cw.describe_alarms(ParentsOfAlarmName="fam-top")["CompositeAlarms"] == []
    assert cw.describe_alarms(ChildrenOfAlarmName="fam-a")["MetricAlarms"] == []  # a metric alarm has none
    paged = cw.describe_alarms(ParentsOfAlarmName="fam-a", MaxRecords=1)
    assert [a["AlarmName"] for a in paged["CompositeAlarms"]] == ["fam-mid"] and paged["NextToken"]
    printed = json.loads(server.aws("cloudwatch", "describe-alarms", "--children-of-alarm-name", "fam-top").stdout)
    assert [a["AlarmName"] for a in printed["MetricAlarms"] + printed["CompositeAlarms"]] == \
        ["fam-a", "fam-b", "fam-mid"]
    server.aws("cloudwatch", "put-composite-alarm", "--alarm-name", "fam-cli", "--alarm-rule", 'OK("fam-b")')
    printed = json.loads(server.aws("cloudwatch", "describe-alarms", "--alarm-types", "CompositeAlarm",
                                    "--alarm-names", "fam-cli").stdout)
    assert printed["CompositeAlarms"][0]["StateValue"] == "ALARM"
    for extra in ({"AlarmTypes": BOTH}, {"StateValue": "OK"}, {"AlarmNamePrefix": "fam"},
                  {"ParentsOfAlarmName": "fam-a"}):
        assert code(cw.describe_alarms, ChildrenOfAlarmName="fam-top", **extra) == "ValidationError", extra


def test_deletion_rules(cw):
    child(cw, "del-leaf")
    cw.put_composite_alarm(AlarmName="del-one", AlarmRule="ALARM(del-leaf)")
    cw.put_composite_alarm(AlarmName="del-two", AlarmRule="OK(del-leaf)")
    assert refusal(cw.delete_alarms, AlarmNames=["del-leaf"]) == (
        "ValidationError", "Cannot delete del-leaf as there are composite alarm(s) depending on it.", 400)
    assert refusal(cw.delete_alarms, AlarmNames=["del-one", "del-two"])[:2] == (
        "ValidationError", "You can delete at most one composite alarm in one DeleteAlarms call.")
    cw.put_composite_alarm(AlarmName="del-top", AlarmRule="ALARM(del-one) AND ALARM(del-two)")
    assert refusal(cw.delete_alarms, AlarmNames=["del-one", "del-leaf"])[1] == (
        "Cannot delete del-leaf,del-one as there are composite alarm(s) depending on them.")
    listed = cw.describe_alarms(AlarmNamePrefix="del-", AlarmTypes=BOTH)
    assert len(listed["MetricAlarms"] + listed["CompositeAlarms"]) == 4  # a refused call deleted nothing
    cw.delete_alarms(AlarmNames=["del-top"])
    cw.delete_alarms(AlarmNames=["del-two"])
    cw.delete_alarms(AlarmNames=["del-one", "del-leaf"])  # the composite and the alarm only it named, together
    listed = cw.describe_alarms(AlarmNamePrefix="del-", AlarmTypes=BOTH)
    assert listed["MetricAlarms"] == listed["CompositeAlarms"] == []


def test_cycles_are_allowed_and_evaluated_once(cw):
    """AWS's documents: a cycle can be made (by updating a rule), CloudWatch stops evaluating
    where it finds one, and none of its alarms can be deleted until a rule breaks it."""
    child(cw, "loop-x")
    cw.put_composite_alarm(AlarmName="loop-a", AlarmRule="ALARM(loop-x)")
    cw.put_composite_alarm(AlarmName="loop-b", AlarmRule="NOT ALARM(loop-a)")
    cw.put_composite_alarm(AlarmName="loop-a", AlarmRule="ALARM(loop-x) OR ALARM(loop-b)")  # a <-> b
    cw.put_composite_alarm(AlarmName="loop-self", AlarmRule="TRUE")
    cw.put_composite_alarm(AlarmName="loop-self", AlarmRule="NOT ALARM(loop-self)")
    for setting in ("ALARM", "OK", "ALARM", "INSUFFICIENT_DATA"):
        started = time.monotonic()
        set_to(cw, "loop-x", setting)
        assert time.monotonic() - started < 5
        assert {state(cw, n) for n in ("loop-a", "loop-b")} <= {"OK", "ALARM"}
    assert state(cw, "loop-self") in ("OK", "ALARM")
    for name in ("loop-a", "loop-b", "loop-self"):
        assert refusal(cw.delete_alarms, AlarmNames=[name])[1] == (
            f"Cannot delete {name} as there are composite alarm(s) depending on it.")
    cw.put_composite_alarm(AlarmName="loop-a", AlarmRule="FALSE")  # AWS's advice: break it with FALSE
    assert state(cw, "loop-a") == "OK" and state(cw, "loop-b") == "ALARM"
    cw.delete_alarms(AlarmNames=["loop-b"])
    cw.delete_alarms(AlarmNames=["loop-a"])
    cw.put_composite_alarm(AlarmName="loop-self", AlarmRule="FALSE")
    cw.delete_alarms(AlarmNames=["loop-self", "loop-x"])


def test_actions_suppression(server, cw, account):
    topic = f"arn:aws:sns:us-east-1:{account}:composite-alerts"  # its delivery's outcome is each Action item's
    child(cw, "sup-x")
    child(cw, "sup-s")
    cw.put_composite_alarm(AlarmName="sup", AlarmRule="ALARM(sup-x)", AlarmActions=[topic], OKActions=[topic],
                           ActionsSuppressor="sup-s", ActionsSuppressorWaitPeriod=2,
                           ActionsSuppressorExtensionPeriod=2)

    def acted(count: int, seconds: float = 10) -> list[dict]:
        deadline = time.monotonic() + seconds
        while True:
            items = cw.describe_alarm_history(AlarmName="sup", HistoryItemType="Action",
                                              AlarmTypes=["CompositeAlarm"])["AlarmHistoryItems"]
            if len(items) >= count or time.monotonic() > deadline:
                return items
            time.sleep(0.3)

    created = composite(cw, "sup")  # its move to OK waits for the suppressor to go into ALARM, if it does
    assert (created["StateValue"], created["ActionsSuppressedBy"]) == ("OK", "WaitPeriod")
    assert created["ActionsSuppressor"] == "sup-s" and created["ActionsSuppressorWaitPeriod"] == 2
    assert acted(1, seconds=0.5) == []
    assert len(acted(1)) == 1 and "ActionsSuppressedBy" not in composite(cw, "sup")  # the wait ended: OK's ran

    set_to(cw, "sup-s", "ALARM")
    assert composite(cw, "sup")["ActionsSuppressedBy"] == "Alarm"
    set_to(cw, "sup-x", "ALARM")
    assert state(cw, "sup") == "ALARM"
    set_to(cw, "sup-s", "OK")
    assert composite(cw, "sup")["ActionsSuppressedBy"] == "ExtensionPeriod"
    time.sleep(1)
    assert len(acted(2, seconds=0)) == 1  # still held
    assert len(acted(2)) == 2 and "ActionsSuppressedBy" not in composite(cw, "sup")  # then ALARM's ran

    set_to(cw, "sup-s", "ALARM")
    set_to(cw, "sup-x", "OK")
    set_to(cw, "sup-x", "ALARM")  # back where it was when the hold began: nothing held
    set_to(cw, "sup-s", "OK")
    time.sleep(4)
    assert len(acted(3, seconds=0)) == 2 and "ActionsSuppressedBy" not in composite(cw, "sup")


def test_another_account(server, cw):
    child(cw, "mine")
    cw.put_composite_alarm(AlarmName="mine-composite", AlarmRule="ALARM(mine)")
    key, secret = server.new_account("composite-neighbour")
    neighbour = server.client("cloudwatch", key=key, secret=secret)
    assert code(neighbour.put_composite_alarm, AlarmName="theirs", AlarmRule="ALARM(mine)") == "ValidationError"
    arn = composite(cw, "mine-composite")["AlarmArn"]
    assert code(neighbour.put_composite_alarm, AlarmName="theirs",
                AlarmRule=f'ALARM("{arn}")') == "ValidationError"
    assert neighbour.describe_alarms(AlarmTypes=BOTH, AlarmNamePrefix="mine")["CompositeAlarms"] == []
    assert neighbour.describe_alarms(ChildrenOfAlarmName="mine-composite")["MetricAlarms"] == []
    assert neighbour.describe_alarms(ParentsOfAlarmName="mine")["CompositeAlarms"] == []
    child(neighbour, "mine")  # the same name, an alarm of its own
    neighbour.put_composite_alarm(AlarmName="mine-composite", AlarmRule="OK(mine)")
    set_to(neighbour, "mine", "OK")
    assert state(neighbour, "mine-composite") == "ALARM" and state(cw, "mine-composite") == "OK"
    assert code(neighbour.delete_alarms, AlarmNames=["mine"]) == "ValidationError"  # its own composite's
    cw.delete_alarms(AlarmNames=["mine-composite"])
    cw.delete_alarms(AlarmNames=["mine"])  # the neighbour's composite does not hold it


def test_hostile_rules_are_bounded(cw):
    child(cw, "h-base")
    started = time.monotonic()
    cw.put_composite_alarm(AlarmName="h-deep", AlarmRule="(" * 499 + "ALARM(h-base)" + ")" * 499)
    cw.put_composite_alarm(AlarmName="h-nots", AlarmRule="NOT " * 2500 + "TRUE")
    assert code(cw.put_composite_alarm, AlarmName="h-bad", AlarmRule="(" * 10240) == "ValidationError"
    assert code(cw.put_composite_alarm, AlarmName="h-bad", AlarmRule="ALARM(" + "x" * 10234) == "ValidationError"
    assert code(cw.put_composite_alarm, AlarmName="h-bad", AlarmRule='ALARM("' + "'; DROP TABLE x; --" * 500 +
                '")') == "ValidationError"
    for i in range(100):
        child(cw, f"h-{i:03}")
    cw.put_composite_alarm(AlarmName="h-wide", AlarmRule=" AND ".join(f'OK("h-{i:03}")' for i in range(100)))
    # a lattice: each layer names both of the layer below, 2^16 paths from top to bottom
    below = ["h-base", "h-base"]
    for layer in range(16):
        names = [f"h-lattice-{layer}-{k}" for k in (0, 1)]
        for name in names:
            cw.put_composite_alarm(AlarmName=name, AlarmRule=f"ALARM({below[0]}) OR ALARM({below[1]})")
        below = names
    set_to(cw, "h-base", "ALARM")  # climbs all 32, each evaluated once
    assert state(cw, "h-lattice-15-1") == "ALARM" and state(cw, "h-deep") == "ALARM"
    assert state(cw, "h-nots") == "ALARM"
    assert time.monotonic() - started < 60
