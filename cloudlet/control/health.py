"""ECS container health checks: the healthCheck command run in the container every interval
(CMD runs as given, CMD-SHELL through /bin/sh -c); `retries` failures in a row make it
UNHEALTHY, one success HEALTHY; failures during startPeriod do not count. A task is
UNHEALTHY when an essential container is, HEALTHY when all its checked essential ones are."""

from __future__ import annotations

import time

from cloudlet.agent.runtime import ContainerError

DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}


def _command(check: dict) -> list[str]:
    kind, *rest = check["command"]
    return ["/bin/sh", "-c", " ".join(rest)] if kind == "CMD-SHELL" else rest


def run_checks(runtime, body: dict) -> bool:
    """Run the checks that are due; True if any container's health changed."""
    definitions = {c["name"]: c for c in body["_run"]["definition"]["containerDefinitions"]}
    notes = body["_run"].setdefault("health", {})
    changed = False
    now = time.time()
    for entry in body["containers"]:
        check = definitions[entry["name"]].get("healthCheck")
        if not check or entry["lastStatus"] != "RUNNING" or not entry.get("runtimeId"):
            continue
        settings = {**DEFAULTS, **check}
        note = notes.setdefault(entry["name"], {"started": now, "next": now, "failures": 0})
        if now < note["next"]:
            continue
        note["next"] = now + settings["interval"]
        try:
            ok = runtime.exec(entry["runtimeId"], _command(check), timeout=settings["timeout"]).exit_code == 0
        except ContainerError:  # not running any more, or the check outlived its timeout
            ok = False
        if ok:
            note["failures"], status = 0, "HEALTHY"
        else:
            in_grace = now - note["started"] < settings["startPeriod"]
            note["failures"] += 0 if in_grace else 1
            status = "UNHEALTHY" if note["failures"] >= settings["retries"] else entry.get("healthStatus", "UNKNOWN")
        if entry.get("healthStatus") != status:
            entry["healthStatus"] = status
            changed = True
    if changed:
        body["healthStatus"] = task_health(body)
    return changed


def task_health(body: dict) -> str:
    definitions = {c["name"]: c for c in body["_run"]["definition"]["containerDefinitions"]}
    checked = [e for e in body["containers"] if definitions[e["name"]].get("healthCheck")
               and definitions[e["name"]].get("essential", True)]
    states = {e.get("healthStatus", "UNKNOWN") for e in checked}
    if "UNHEALTHY" in states:
        return "UNHEALTHY"
    return "HEALTHY" if checked and states == {"HEALTHY"} else "UNKNOWN"
