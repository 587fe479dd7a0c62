"""Where an Auto Scaling group launches and which instance it terminates, as AWS documents it.

Launch: into the Availability Zone of the group's subnets with the fewest of its live
instances (its subnet there with the fewest), so that the zones stay balanced.
Scale in: the zone with the most instances that still has one not protected from scale in,
then the group's termination policies in their order (each narrowing the choice), then the
Default policy's rule: an instance of the oldest launch template first. Default's "closest to
the next billing hour" is left out (cloudlet bills nothing); what remains is told apart by
instance ID, where AWS picks at random."""

from __future__ import annotations

import time
from collections import Counter

LIVE = ("Pending", "Pending:Wait", "Pending:Proceed", "InService")
POLICIES = ("Default", "AllocationStrategy", "OldestInstance", "NewestInstance", "OldestLaunchConfiguration",
            "OldestLaunchTemplate", "ClosestToNextInstanceHour")


def live(instances: list[dict]) -> list[dict]:
    return [i for i in instances if i["LifecycleState"] in LIVE]


def subnet_for_launch(subnets: list[dict], instances: list[dict], planned: list[dict] = ()) -> dict:
    """The subnet ({"SubnetId", "AvailabilityZone"}) the next instance goes to; planned: the
    subnets already chosen in this round, counted as instances."""
    in_zone = Counter(i["AvailabilityZone"] for i in live(instances)) + Counter(p["AvailabilityZone"] for p in planned)
    in_subnet = Counter(i.get("_subnet") for i in live(instances)) + Counter(p["SubnetId"] for p in planned)
    return min(enumerate(subnets), key=lambda e: (in_zone[e[1]["AvailabilityZone"]], in_subnet[e[1]["SubnetId"]],
                                                  e[0]))[1]


def _template_age(instance: dict, current: dict | None) -> tuple:
    """Sorts instances of another template than the group's, then of older versions, first."""
    spec = instance.get("LaunchTemplate") or {}
    same = current is not None and spec.get("LaunchTemplateId") == current.get("LaunchTemplateId")
    try:
        version = int(spec.get("Version", 0))
    except ValueError:
        version = 0
    return (same and str(version) == str(current.get("Version")), version)


def _narrowed(candidates: list[dict], policy: str, current: dict | None, now: float) -> list[dict]:
    if policy == "OldestInstance":
        key = lambda i: i["_launched_at"]  # noqa: E731
    elif policy == "NewestInstance":
        key = lambda i: -i["_launched_at"]  # noqa: E731
    elif policy in ("OldestLaunchTemplate", "Default"):
        key = lambda i: _template_age(i, current)  # noqa: E731
    elif policy == "ClosestToNextInstanceHour":
        key = lambda i: 3600 - (now - i["_launched_at"]) % 3600  # noqa: E731
    else:  # AllocationStrategy and launch configurations: nothing here tells instances apart by them
        return candidates
    best = min(key(i) for i in candidates)
    return [i for i in candidates if key(i) == best]


def victims(instances: list[dict], count: int, policies: list[str], current: dict | None,
            now: float | None = None) -> list[dict]:
    """Up to count live instances to terminate to scale in, one at a time (the zones
    rebalanced after each)."""
    now = time.time() if now is None else now
    remaining = live(instances)
    chosen: list[dict] = []
    while len(chosen) < count:
        free = [i for i in remaining if not i.get("ProtectedFromScaleIn")]
        if not free:
            break
        per_zone = Counter(i["AvailabilityZone"] for i in remaining)
        zone = max({i["AvailabilityZone"] for i in free}, key=lambda z: (per_zone[z], z))
        candidates = [i for i in free if i["AvailabilityZone"] == zone]
        for policy in [*policies, "Default"]:
            candidates = _narrowed(candidates, policy, current, now)
        pick = min(candidates, key=lambda i: i["InstanceId"])
        chosen.append(pick)
        remaining = [i for i in remaining if i is not pick]
    return chosen
