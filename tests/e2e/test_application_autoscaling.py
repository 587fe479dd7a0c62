"""Application Auto Scaling's API for ECS services through boto3: scalable targets, policies
(target tracking's own alarms in CloudWatch), scheduled actions, AWS's refusals, accounts."""

import datetime

import pytest
from botocore.exceptions import ClientError

NS, DIM = "ecs", "ecs:service:DesiredCount"


def refused(call, **kw) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call(**kw)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def aas(server):
    ecs = server.client("ecs")
    ecs.create_cluster(clusterName="scale")
    definition = ecs.register_task_definition(family="scaled", containerDefinitions=[
        {"name": "x", "image": "busybox", "memory": 64}])["taskDefinition"]["taskDefinitionArn"]
    for name in ("web", "api"):
        ecs.create_service(cluster="scale", serviceName=name, taskDefinition=definition, desiredCount=0,
                           launchType="EC2")
    return server.client("application-autoscaling")


def target(aas, resource="service/scale/web", **kw):
    return aas.register_scalable_target(ServiceNamespace=NS, ResourceId=resource, ScalableDimension=DIM, **kw)


def test_scalable_targets(aas):
    arn = target(aas, MinCapacity=0, MaxCapacity=4)["ScalableTargetARN"]
    assert arn.startswith("arn:aws:application-autoscaling:us-east-1:") and ":scalable-target/" in arn
    assert target(aas, MaxCapacity=6)["ScalableTargetARN"] == arn  # an update keeps the target
    target(aas, "service/scale/api", MinCapacity=0, MaxCapacity=2, SuspendedState={"DynamicScalingInSuspended": True})
    got = aas.describe_scalable_targets(ServiceNamespace=NS)["ScalableTargets"]
    web = next(t for t in got if t["ResourceId"] == "service/scale/web")
    assert (web["MinCapacity"], web["MaxCapacity"], web["ScalableDimension"]) == (0, 6, DIM)
    assert web["SuspendedState"] == {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                                     "ScheduledScalingSuspended": False}
    assert ":role/aws-service-role/ecs.application-autoscaling.amazonaws.com/" in web["RoleARN"]
    both = ["service/scale/api", "service/scale/web"]  # the session's server has others' targets too
    first = aas.describe_scalable_targets(ServiceNamespace=NS, ResourceIds=both, MaxResults=1)
    second = aas.describe_scalable_targets(ServiceNamespace=NS, ResourceIds=both, MaxResults=1,
                                           NextToken=first["NextToken"])
    assert {first["ScalableTargets"][0]["ResourceId"], second["ScalableTargets"][0]["ResourceId"]} == {
        "service/scale/api", "service/scale/web"} and "NextToken" not in second
    assert aas.describe_scalable_targets(ServiceNamespace=NS, ResourceIds=["service/scale/api"])[
        "ScalableTargets"][0]["SuspendedState"]["DynamicScalingInSuspended"] is True
    aas.tag_resource(ResourceARN=arn, Tags={"team": "shop"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "shop"}


def test_target_refusals(server, aas):
    assert refused(target, aas=aas, resource="service/scale/nope", MinCapacity=0, MaxCapacity=1) == (
        "ValidationException", "ECS service doesn't exist: service/scale/nope")
    code, message = refused(aas.register_scalable_target, ServiceNamespace="dynamodb", ResourceId="table/t",
                            ScalableDimension="dynamodb:table:ReadCapacityUnits", MinCapacity=1, MaxCapacity=2)
    assert code == "ValidationException" and "Unsupported service namespace" in message
    assert refused(target, aas=aas, resource="service/scale", MinCapacity=0, MaxCapacity=1)[0] == "ValidationException"
    assert refused(target, aas=aas, resource="service/scale/api", MinCapacity=3, MaxCapacity=1)[0] == \
        "ValidationException"
    server.client("ecs").create_service(cluster="scale", serviceName="fresh", taskDefinition="scaled",
                                        desiredCount=0, launchType="EC2")
    assert refused(target, aas=aas, resource="service/scale/fresh", MaxCapacity=3)[0] == "ValidationException"
    assert refused(aas.deregister_scalable_target, ServiceNamespace=NS, ResourceId="service/scale/fresh",
                   ScalableDimension=DIM)[0] == "ObjectNotFoundException"
    assert refused(aas.list_tags_for_resource, ResourceARN="arn:aws:application-autoscaling:us-east-1:"
                                                           "000000000000:scalable-target/x")[0] == \
        "ResourceNotFoundException"
    assert refused(aas.describe_scalable_targets, ServiceNamespace=NS, NextToken="bogus")[0] == \
        "InvalidNextTokenException"


def test_policies_and_their_alarms(server, aas):
    target(aas, MinCapacity=0, MaxCapacity=6)
    cw = server.client("cloudwatch")
    put = aas.put_scaling_policy(
        PolicyName="cpu50", ServiceNamespace=NS, ResourceId="service/scale/web", ScalableDimension=DIM,
        PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    arn = put["PolicyARN"]
    assert ":scalingPolicy:" in arn and arn.endswith(":resource/ecs/service/scale/web:policyName/cpu50")
    names = sorted(a["AlarmName"] for a in put["Alarms"])
    assert names[0].startswith("TargetTracking-service/scale/web-AlarmHigh-")
    assert names[1].startswith("TargetTracking-service/scale/web-AlarmLow-")
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNames=names)["MetricAlarms"]}
    high, low = alarms[names[0]], alarms[names[1]]
    assert (high["ComparisonOperator"], high["Threshold"], high["EvaluationPeriods"], high["Period"]) == (
        "GreaterThanThreshold", 50.0, 3, 60)
    assert (low["ComparisonOperator"], low["Threshold"], low["EvaluationPeriods"]) == ("LessThanThreshold", 45.0, 15)
    assert high["AlarmActions"] == [arn] and high["MetricName"] == "CPUUtilization" and \
        {d["Name"]: d["Value"] for d in high["Dimensions"]} == {"ClusterName": "scale", "ServiceName": "web"}

    # replaced: the same ARN, new alarms (no low one without scale-in), the old ones gone
    again = aas.put_scaling_policy(
        PolicyName="cpu50", ServiceNamespace=NS, ResourceId="service/scale/web", ScalableDimension=DIM,
        PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0, "DisableScaleIn": True, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilizationHighResolution"}})
    assert again["PolicyARN"] == arn and len(again["Alarms"]) == 1
    assert cw.describe_alarms(AlarmNames=names)["MetricAlarms"] == []
    assert cw.describe_alarms(AlarmNames=[again["Alarms"][0]["AlarmName"]])["MetricAlarms"][0]["Period"] == 20

    step = aas.put_scaling_policy(
        PolicyName="steps", ServiceNamespace=NS, ResourceId="service/scale/web", ScalableDimension=DIM,
        PolicyType="StepScaling", StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "Cooldown": 0, "StepAdjustments": [
                {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}]})
    assert "Alarms" not in step
    listed = aas.describe_scaling_policies(ServiceNamespace=NS, ResourceId="service/scale/web")["ScalingPolicies"]
    assert sorted(p["PolicyName"] for p in listed) == ["cpu50", "steps"]
    aas.delete_scaling_policy(PolicyName="cpu50", ServiceNamespace=NS, ResourceId="service/scale/web",
                              ScalableDimension=DIM)
    assert cw.describe_alarms(AlarmNames=[again["Alarms"][0]["AlarmName"]])["MetricAlarms"] == []
    aas.deregister_scalable_target(ServiceNamespace=NS, ResourceId="service/scale/web", ScalableDimension=DIM)
    assert aas.describe_scaling_policies(ServiceNamespace=NS, ResourceId="service/scale/web")[
        "ScalingPolicies"] == []


@pytest.mark.parametrize("config, fragment", [
    ({"AdjustmentType": "ChangeInCapacity", "StepAdjustments": []}, "step adjustment"),
    ({"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
        {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20, "ScalingAdjustment": 1},
        {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 2}]}, "overlap"),
    ({"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
        {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
        {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}]}, "gap"),
    ({"AdjustmentType": "ChangeInCapacity", "MinAdjustmentMagnitude": 2, "StepAdjustments": [
        {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}, "MinAdjustmentMagnitude"),
])
def test_step_policy_refusals(aas, config, fragment):
    target(aas, "service/scale/api", MinCapacity=0, MaxCapacity=2)
    code, message = refused(aas.put_scaling_policy, PolicyName="bad", ServiceNamespace=NS,
                            ResourceId="service/scale/api", ScalableDimension=DIM, PolicyType="StepScaling",
                            StepScalingPolicyConfiguration=config)
    assert code == "ValidationException" and fragment in message


def test_policy_refusals(aas):
    target(aas, "service/scale/api", MinCapacity=0, MaxCapacity=2)
    base = dict(PolicyName="p", ServiceNamespace=NS, ResourceId="service/scale/api", ScalableDimension=DIM)
    assert refused(aas.put_scaling_policy, **{**base, "ResourceId": "service/scale/none"},
                   PolicyType="StepScaling", StepScalingPolicyConfiguration={
                       "StepAdjustments": [{"ScalingAdjustment": 1}]})[0] == "ObjectNotFoundException"
    assert refused(aas.put_scaling_policy, **base, PolicyType="TargetTrackingScaling")[0] == "ValidationException"
    for spec in ({}, {"PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"}},
                 {"PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
                  "CustomizedMetricSpecification": {"MetricName": "m", "Namespace": "n", "Statistic": "Average"}}):
        assert refused(aas.put_scaling_policy, **base, PolicyType="TargetTrackingScaling",
                       TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0, **spec})[0] == \
            "ValidationException"
    assert refused(aas.delete_scaling_policy, **base)[0] == "ObjectNotFoundException"


def test_scheduled_actions(aas):
    target(aas, "service/scale/api", MinCapacity=0, MaxCapacity=2)
    base = dict(ServiceNamespace=NS, ResourceId="service/scale/api", ScalableDimension=DIM)
    for schedule in ("cron(0 9 * * ? *)", "rate(5 minutes)", "at(2030-01-01T00:00:00)"):
        aas.put_scheduled_action(ScheduledActionName=schedule[:4], Schedule=schedule, Timezone="Europe/Paris",
                                 ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 3}, **base)
    got = aas.describe_scheduled_actions(**{k: base[k] for k in ("ServiceNamespace", "ResourceId")})
    assert sorted(a["ScheduledActionName"] for a in got["ScheduledActions"]) == ["at(2", "cron", "rate"]
    assert all(":scheduledAction:" in a["ScheduledActionARN"] for a in got["ScheduledActions"])
    for schedule in ("cron(0 9 * * * *)", "cron(61 9 ? * * *)", "rate(0 minutes)", "rate(2 minute)", "every day",
                     "at(2030-02-30T00:00:00)", "cron(" + "1," * 300 + "1 * ? * * *)"):
        assert refused(aas.put_scheduled_action, ScheduledActionName="bad", Schedule=schedule,
                       ScalableTargetAction={"MinCapacity": 1}, **base)[0] == "ValidationException", schedule
    assert refused(aas.put_scheduled_action, ScheduledActionName="tz", Schedule="rate(1 hour)", Timezone="Mars/Base",
                   ScalableTargetAction={"MinCapacity": 1}, **base)[0] == "ValidationException"
    now = datetime.datetime.now(datetime.timezone.utc)
    assert refused(aas.put_scheduled_action, ScheduledActionName="span", Schedule="rate(1 hour)",
                   StartTime=now, EndTime=now - datetime.timedelta(hours=1),
                   ScalableTargetAction={"MinCapacity": 1}, **base)[0] == "ValidationException"
    aas.delete_scheduled_action(ScheduledActionName="cron", **base)
    assert refused(aas.delete_scheduled_action, ScheduledActionName="cron", **base)[0] == "ObjectNotFoundException"


def test_accounts_do_not_see_each_other(server, aas):
    target(aas, "service/scale/api", MinCapacity=0, MaxCapacity=2)
    key, secret = server.new_account("scaling-other")
    other = server.client("application-autoscaling", key=key, secret=secret)
    assert other.describe_scalable_targets(ServiceNamespace=NS)["ScalableTargets"] == []
    assert refused(other.register_scalable_target, ServiceNamespace=NS, ResourceId="service/scale/api",
                   ScalableDimension=DIM, MinCapacity=0, MaxCapacity=9)[0] == "ValidationException"
    assert refused(other.put_scaling_policy, PolicyName="p", ServiceNamespace=NS, ResourceId="service/scale/api",
                   ScalableDimension=DIM, PolicyType="StepScaling", StepScalingPolicyConfiguration={
                       "StepAdjustments": [{"ScalingAdjustment": 1}]})[0] == "ObjectNotFoundException"
