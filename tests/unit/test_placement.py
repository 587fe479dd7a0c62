"""Placement of EC2 tasks: resources, constraints, strategies, and ECS's failure reasons."""

import random

import pytest

from cloudlet.control.placement import Instance, Need, PlacementError, _scan, member_of, place


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


def random_fleet(rng, n: int) -> list[Instance]:
    return [Instance(f"arn:ci/{k}", f"i-{k}", rng.choice([512, 1024, 2048]), rng.choice([512, 1024, 4096]),
                     {80} if rng.random() < 0.2 else set(),
                     {"ecs.availability-zone": f"us-east-1{rng.choice('abc')}", "ecs.instance-type": rng.choice(
                         ["t3.nano", "t3.small", "m5.large"]), **({"rack": str(rng.randrange(3))} if k % 5 else {})},
                     {"g": rng.randrange(3)} if rng.random() < 0.3 else {})
            for k in range(n)]


STRATEGIES = [[], [{"type": "binpack", "field": "memory"}], [{"type": "binpack", "field": "cpu"}],
              [{"type": "spread", "field": "instanceId"}],
              [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
              [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}],
              [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "spread", "field": "host"}],
              [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "spread", "field":
                                                                                 "attribute:rack"},
               {"type": "binpack", "field": "cpu"}, {"type": "spread", "field": "instanceId"}]]
CONSTRAINTS = [[], [{"type": "distinctInstance"}],
               [{"type": "memberOf", "expression": "attribute:ecs.instance-type != t3.nano"}]]


@pytest.mark.parametrize("seed", range(40))
def test_the_indexed_placement_chooses_what_looking_at_every_instance_does(seed):
    """place() keeps its instances in order as it goes (placement._Index); _scan looks at every
    instance for every task: the two choose the same instances, in the same order, and fail
    with the same reasons."""
    rng = random.Random(seed)
    strategies, constraints = rng.choice(STRATEGIES), rng.choice(CONSTRAINTS)
    need = Need(rng.choice([128, 256, 512]), rng.choice([128, 256, 1024]), {80} if rng.random() < 0.3 else set(), "g")
    count = rng.randrange(1, 60)
    a, b = random_fleet(random.Random(seed), 30), random_fleet(random.Random(seed), 30)
    indexed = place(a, need, count, strategies, constraints)
    members = [member_of(c["expression"]) for c in constraints if c["type"] == "memberOf"]
    scanned = _scan(b, need, count, strategies, any(c["type"] == "distinctInstance" for c in constraints), members)
    assert ids(indexed[0]) == ids(scanned[0]) and indexed[1] == scanned[1]


def test_orders_the_index_cannot_keep_are_scanned():
    # a spread over an attribute after a binpack, and random ones, rank every instance anew each time
    chosen, _ = place(fleet(), Need(128, 128, set(), "g"), 3, [{"type": "binpack", "field": "memory"}, {
        "type": "spread", "field": "attribute:ecs.availability-zone"}], [])
    assert ids(chosen) == ["i-b", "i-b", "i-b"]
    chosen, _ = place(fleet(), Need(128, 128, set(), "g"), 20, [{"type": "random"}], [])
    assert len(chosen) == 20
    with pytest.raises(PlacementError):
        place(fleet(), Need(128, 128, set(), "g"), 1, [{"type": "pack"}], [])
