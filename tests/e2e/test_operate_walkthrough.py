"""The operate loop's walkthrough with the stock AWS CLI: custom metrics and their statistics,
an alarm notifying an SNS topic, an ECS service's scalable target with a target tracking
policy, a launch template and an Auto Scaling group (kept at 0 instances here: the real VMs
and tasks are in tests/integration/test_autoscaling.py and test_ecs_scaling.py)."""

import datetime
import json


def cli(server, *args: str) -> dict:
    out = server.aws(*args).stdout
    return json.loads(out) if out.strip() else {}


def test_metrics_alarms_and_scaling_with_the_aws_cli(server):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    for value in ("3", "5"):
        cli(server, "cloudwatch", "put-metric-data", "--namespace", "ShopWalk", "--metric-name", "Orders",
            "--value", value, "--unit", "Count")
    stats = cli(server, "cloudwatch", "get-metric-statistics", "--namespace", "ShopWalk", "--metric-name", "Orders",
                "--start-time", (now - datetime.timedelta(minutes=5)).isoformat(),
                "--end-time", (now + datetime.timedelta(minutes=2)).isoformat(), "--period", "60",
                "--statistics", "Sum", "Maximum", "SampleCount")
    assert sum(p["Sum"] for p in stats["Datapoints"]) == 8 and sum(p["SampleCount"] for p in stats["Datapoints"]) == 2
    assert [m["MetricName"] for m in cli(server, "cloudwatch", "list-metrics", "--namespace", "ShopWalk")["Metrics"]] == [
        "Orders"]

    topic = cli(server, "sns", "create-topic", "--name", "walk-ops")["TopicArn"]
    cli(server, "cloudwatch", "put-metric-alarm", "--alarm-name", "orders-high", "--namespace", "ShopWalk",
        "--metric-name", "Orders", "--statistic", "Sum", "--period", "60", "--evaluation-periods", "3",
        "--datapoints-to-alarm", "2", "--threshold", "70", "--comparison-operator", "GreaterThanThreshold",
        "--treat-missing-data", "notBreaching", "--alarm-actions", topic)
    alarm = cli(server, "cloudwatch", "describe-alarms", "--alarm-names", "orders-high")["MetricAlarms"][0]
    assert alarm["AlarmActions"] == [topic] and alarm["TreatMissingData"] == "notBreaching"

    cli(server, "ecs", "create-cluster", "--cluster-name", "walk")
    cli(server, "ecs", "register-task-definition", "--family", "walk-web", "--container-definitions",
        '[{"name": "web", "image": "busybox", "memory": 64}]')
    cli(server, "ecs", "create-service", "--cluster", "walk", "--service-name", "web", "--task-definition", "walk-web",
        "--desired-count", "0", "--launch-type", "EC2")
    cli(server, "application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
        "--resource-id", "service/walk/web", "--scalable-dimension", "ecs:service:DesiredCount",
        "--min-capacity", "0", "--max-capacity", "10")
    policy = cli(server, "application-autoscaling", "put-scaling-policy", "--service-namespace", "ecs",
                 "--resource-id", "service/walk/web", "--scalable-dimension", "ecs:service:DesiredCount",
                 "--policy-name", "cpu50", "--policy-type", "TargetTrackingScaling",
                 "--target-tracking-scaling-policy-configuration",
                 '{"TargetValue":50,"PredefinedMetricSpecification":'
                 '{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}}')
    assert len(policy["Alarms"]) == 2
    activities = cli(server, "application-autoscaling", "describe-scaling-activities", "--service-namespace", "ecs",
                     "--resource-id", "service/walk/web")
    assert activities["ScalingActivities"] == []  # nothing scaled yet: the service is within its bounds

    ami = cli(server, "ec2", "describe-images", "--owners", "amazon", "--filters",
              "Name=name,Values=cloudlet-busybox")["Images"][0]["ImageId"]
    template = cli(server, "ec2", "create-launch-template", "--launch-template-name", "walk",
                   "--launch-template-data", json.dumps({"ImageId": ami, "InstanceType": "t3.micro"}))
    assert template["LaunchTemplate"]["LatestVersionNumber"] == 1
    subnets = [s["SubnetId"] for s in cli(server, "ec2", "describe-subnets")["Subnets"][:2]]
    cli(server, "autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "walk",
        "--launch-template", "LaunchTemplateName=walk", "--min-size", "0", "--max-size", "4",
        "--desired-capacity", "0", "--vpc-zone-identifier", ",".join(subnets))
    group = cli(server, "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "walk")[
        "AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 4, 0)
    assert group["LaunchTemplate"]["LaunchTemplateName"] == "walk"
    assert "Activities" in cli(server, "autoscaling", "describe-scaling-activities", "--auto-scaling-group-name",
                               "walk")
    cli(server, "autoscaling", "delete-auto-scaling-group", "--auto-scaling-group-name", "walk", "--force-delete")
