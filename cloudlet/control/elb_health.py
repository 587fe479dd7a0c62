"""What a proxy's health checks say of its servers, as ELB's target health: a server up is
healthy; one down is unhealthy with the reason AWS gives (the code it answered when that was
not one the matcher takes, a timeout, or else a failed check: refused, reset, no route); one
not yet checked stays initial. Targets draining are left to their draining (set_health never
touches them), as are the targets of groups no listener uses (DescribeTargetHealth shows
those as unused)."""

from __future__ import annotations

from cloudlet.store import elbv2 as records

TIMEOUTS = ("L4TOUT", "L6TOUT", "L7TOUT")


PASSED = ("L4OK", "L6OK", "L7OK")


def target_health(health) -> tuple[str, str | None] | None:
    """(state, reason) of one server's health, or None when there is nothing to say yet."""
    if health.state == "up":
        return records.HEALTHY, None
    if health.state != "down" or health.check in PASSED:
        return None  # init: its first checks are under way; down but passing: on its way up (a
        # new target held down until the threshold, or an unhealthy one recovering); drain, maint
    if health.check == "L7STS" and health.code is not None:
        return records.UNHEALTHY, f"Target.ResponseCodeMismatch:{health.code}"
    if health.check in TIMEOUTS:
        return records.UNHEALTHY, "Target.Timeout"
    return records.UNHEALTHY, "Target.FailedHealthChecks"


def changes(compiled, health: dict) -> list[tuple]:
    """(group ARN, target id, port, state, reason) for each target whose health, as health
    ({(backend, server): ServerHealth}) tells it, is not what the store says: most rounds none,
    so that most rounds write nothing."""
    out = []
    for key, (group, target) in compiled.servers.items():
        found = health.get(key)
        verdict = target_health(found) if found is not None else None
        if verdict is not None and target["state"] != records.DRAINING and \
                verdict != (target["state"], target["reason"]):
            out.append((group, target["id"], target["port"], *verdict))
    return out


def record(db, found: list[tuple]) -> None:
    for change in found:
        records.set_health(db, *change)
