"""AWS/ApplicationELB metrics from a real ALB's HAProxy: the ALB of test_elb_traffic.py (three
FARGATE tasks behind it), requests sent through it counted once each in RequestCount, by
LoadBalancer and by LoadBalancer+TargetGroup, and its healthy targets in HealthyHostCount, all
read back with GetMetricStatistics; another account sees none of them."""

import time
from datetime import datetime, timezone

import pytest

from tests.integration.ecs_fixtures import module_cloud
from tests.integration.elb_fixtures import get, health, until
from tests.integration.test_elb_traffic import alb, public_addresses  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]
cloud = module_cloud("elb-metrics", "10.244.0.0/14", "--metrics-interval", "1")
N = 25


def statistics(cw, name: str, dims: dict, since: float, statistic: str = "Sum") -> list[dict]:
    points = cw.get_metric_statistics(
        Namespace="AWS/ApplicationELB", MetricName=name, Statistics=[statistic], Period=1,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=datetime.fromtimestamp(since, timezone.utc),
        EndTime=datetime.fromtimestamp(time.time() + 60, timezone.utc))["Datapoints"]
    return sorted(points, key=lambda p: p["Timestamp"])


def test_requests_through_the_alb_are_counted_and_its_healthy_targets_reported(cloud, alb):
    elb, cw = alb["elb"], cloud.client("cloudwatch")
    elb.get_waiter("load_balancer_available").wait(LoadBalancerArns=[alb["arn"]],
                                                   WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    until(lambda: {s for s, _ in health(elb, alb["group"]).values()} == {"healthy"}, timeout=60)
    lb_dims = {"LoadBalancer": alb["arn"].split(":loadbalancer/")[1]}
    both = lb_dims | {"TargetGroup": alb["group"].rsplit(":", 1)[1]}
    assert lb_dims["LoadBalancer"].startswith("app/shop/") and both["TargetGroup"].startswith("targetgroup/web/")
    began = time.time() - 5
    # always reported once two readings of the proxy's counters exist: spans have begun
    until(lambda: statistics(cw, "RequestCountPerTarget", {"TargetGroup": both["TargetGroup"]}, began), timeout=20)
    address = public_addresses(alb)[0]
    answers = [get(address) for _ in range(N)]
    assert set(answers) == {"one", "two", "three"}, answers

    def total(name, dims):
        return sum(p["Sum"] for p in statistics(cw, name, dims, began))
    until(lambda: total("RequestCount", lb_dims) >= N, timeout=20)
    time.sleep(3)  # a few more rounds: nothing counted twice
    assert total("RequestCount", lb_dims) == N
    assert total("RequestCount", both) == N and total("HTTPCode_Target_2XX_Count", both) == N
    assert total("RequestCountPerTarget", {"TargetGroup": both["TargetGroup"]}) == pytest.approx(N / 3)
    assert total("NewConnectionCount", lb_dims) >= N  # a connection a request, each side
    timings = statistics(cw, "TargetResponseTime", lb_dims, began, "Average")
    assert timings and all(0 <= p["Average"] < 3 and p["Unit"] == "Seconds" for p in timings)
    healthy = statistics(cw, "HealthyHostCount", both, began, "Maximum")
    assert healthy and healthy[-1]["Maximum"] == 3 and healthy[-1]["Unit"] == "Count"
    assert statistics(cw, "UnHealthyHostCount", both, began, "Maximum")[-1]["Maximum"] == 0

    key, secret = cloud.new_account("elsewhere")
    other = cloud.client("cloudwatch", key=key, secret=secret)
    assert other.list_metrics(Namespace="AWS/ApplicationELB")["Metrics"] == []
