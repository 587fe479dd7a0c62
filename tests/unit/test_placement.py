"""Placement of EC2 tasks: resources, constraints, strategies, and ECS's failure reasons."""

import pytest

from cloudlet.control.placement import Instance, Need, PlacementError, member_of, place


def fleet():
    return [Instance(f"arn:ci/{n}", f"i-{n}", cpu, mem, set(), {"ecs.availability-zone": zone,
                                                                "ecs.instance-type": kind})
            for n, cpu, mem, zone, kind in [("a", 2048, 4096, "us-east-1a", "t3.medium"),
                                            ("b", 1024, 1024, "us-east-1b", "t3.micro"),
                                            ("c", 4096, 8192, "us-east-1a", "t3.large")]]


def ids(chosen):
    return [i.ec2_instance_id for i in chosen]


def test_binpack_on_memory_fills_the_fullest_first():
    chosen, failures = place(fleet(), Need(256, 512, set(), "g"), 3, [{"type": "binpack", "field": "memory"}], [])
    assert ids(chosen) == ["i-b", "i-b", "i-a"] and failures == []


def test_spread_over_instances_and_zones():
    chosen, _ = place(fleet(), Need(128, 128, set(), "g"), 3, [{"type": "spread", "field": "instanceId"}], [])
    assert sorted(ids(chosen)) == ["i-a", "i-b", "i-c"]
    chosen, _ = place(fleet(), Need(128, 128, set(), "g"), 2,
                      [{"type": "spread", "field": "attribute:ecs.availability-zone"}], [])
    zones = [i.attributes["ecs.availability-zone"] for i in chosen]
    assert sorted(zones) == ["us-east-1a", "us-east-1b"]


def test_constraints():
    chosen, failures = place(fleet(), Need(128, 128, set(), "g"), 4, [], [{"type": "distinctInstance"}])
    assert len(chosen) == 3 and {f["reason"] for f in failures} == {"DistinctInstance placement constraint unsatisfied."}
    only_a = {"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1a and "
                                                "attribute:ecs.instance-type in [t3.medium, t3.micro]"}
    chosen, _ = place(fleet(), Need(128, 128, set(), "g"), 2, [], [only_a])
    assert ids(chosen) == ["i-a", "i-a"]
    assert member_of("ec2InstanceId != i-a or attribute:missing exists")(fleet()[1])
    with pytest.raises(PlacementError):
        member_of("attribute:x ~= y")


def test_failures_name_the_missing_resource():
    _, failures = place(fleet(), Need(8192, 128, set(), "g"), 1, [], [])
    assert {f["reason"] for f in failures} == {"RESOURCE:CPU"}
    _, failures = place(fleet()[1:2], Need(128, 2048, set(), "g"), 1, [], [])
    assert failures == [{"arn": "arn:ci/b", "reason": "RESOURCE:MEMORY"}]
    busy = fleet()[:1]
    chosen, failures = place(busy, Need(128, 128, {80}, "g"), 2, [], [])
    assert len(chosen) == 1 and failures == [{"arn": "arn:ci/a", "reason": "RESOURCE:PORTS"}]
