"""The ECS task metadata endpoint (versions 4 and 3), as tasks see it at 169.254.170.2 (their
bridges DNAT it to a listener of its own): each container's ECS_CONTAINER_METADATA_URI_V4
is http://169.254.170.2/v4/<task id>-<container name> (control/container_options.py), and under it

    (nothing)    the container's metadata      /task         the task's, with its containers
    /stats       the container's Docker stats  /task/stats   every container's, by Docker id

A request is answered only from an address of that task (its ENI, or for bridge tasks its
containers' own), so a task reads nothing of another's, whatever ids it guesses."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from cloudlet.store.schema import ecs_tasks

_PATH = re.compile(r"^/v(?P<version>[34])/(?P<task>[0-9a-f]{32})-(?P<name>[A-Za-z0-9_-]{1,255})"
                   r"(?P<task_wide>/task)?(?P<stats>/stats)?/?$")


class TaskMetadata:
    def __init__(self, store, addresses, stats, router_of):
        """addresses(runtime id) -> the container's own IPv4 address (bridge tasks) or None;
        stats(runtime id) -> the engine's Stats of a running container; router_of(host
        address) -> the VPC whose router's uplink ends there (awsvpc tasks ask through it)."""
        self.store = store
        self.addresses = addresses
        self.stats = stats
        self.router_of = router_of

    async def handle(self, request: Request) -> Response:
        local = (request.scope.get("server") or ("", 0))[0]
        return await run_in_threadpool(self._answer, request.url.path, request.client.host if request.client else "",
                                       local)

    def _answer(self, path: str, client: str, local: str) -> Response:
        m = _PATH.match(path)
        if m is None:
            return PlainTextResponse("404 page not found", 404)
        body = self._task(m["task"])
        if body is None or client not in self._addresses_of(body) or \
                body["_run"]["network"].get("vpc") != self.router_of(local):
            return PlainTextResponse("404 page not found", 404)
        container = next((c for c in body["containers"] if c["name"] == m["name"]), None)
        if container is None:
            return PlainTextResponse("404 page not found", 404)
        if m["stats"]:
            wanted = body["containers"] if m["task_wide"] else [container]
            found = {c["runtimeId"]: self._docker_stats(c) for c in wanted if c.get("runtimeId")}
            return JSONResponse(found if m["task_wide"] else found.get(container.get("runtimeId")))
        if m["task_wide"]:
            return JSONResponse(self._task_document(body, m["version"]))
        return JSONResponse(self._container_document(body, container, m["version"]))

    def _task(self, task_id: str) -> dict | None:
        with self.store.begin(write=False) as conn:
            row = conn.execute(select(ecs_tasks.c.body).where(ecs_tasks.c.task_id == task_id)).first()
        return json.loads(row.body) if row else None

    def _addresses_of(self, body: dict) -> set[str]:
        network = body["_run"]["network"]
        if network.get("ip"):
            return {network["ip"]}
        return {self.addresses(c["runtimeId"]) for c in body["containers"] if c.get("runtimeId")} - {None}

    def _container_document(self, body: dict, c: dict, version: str) -> dict:
        definition = next(d for d in body["_run"]["definition"]["containerDefinitions"] if d["name"] == c["name"])
        doc = {"DockerId": c.get("runtimeId", ""), "Name": c["name"], "DockerName": f"ecs-{c['name']}",
               "Image": c["image"], "ImageID": c.get("imageDigest", ""), "Labels": {
                   "com.amazonaws.ecs.cluster": body["clusterArn"], "com.amazonaws.ecs.container-name": c["name"],
                   "com.amazonaws.ecs.task-arn": body["taskArn"],
                   "com.amazonaws.ecs.task-definition-family": body["_run"]["definition"]["family"],
                   "com.amazonaws.ecs.task-definition-version": str(body["_run"]["definition"]["revision"])},
               "DesiredStatus": body["desiredStatus"], "KnownStatus": c["lastStatus"],
               "Limits": {"CPU": int(c.get("cpu") or 0), "Memory": int(c.get("memory") or 0)},
               "CreatedAt": body.get("createdAt"), "StartedAt": body.get("startedAt"), "Type": "NORMAL",
               "Networks": self._networks(body, c)}
        if version == "4":
            doc["ContainerARN"] = c["containerArn"]
            log = definition.get("logConfiguration") or {}
            if log:
                doc.update(LogDriver=log.get("logDriver"), LogOptions=log.get("options") or {})
        return {k: v for k, v in doc.items() if v is not None}

    def _networks(self, body: dict, c: dict) -> list[dict]:
        network = body["_run"]["network"]
        address = network.get("ip") or (self.addresses(c["runtimeId"]) if c.get("runtimeId") else None)
        out = {"NetworkMode": network["mode"], "IPv4Addresses": [address] if address else []}
        if network["mode"] == "awsvpc":
            out.update(AttachmentIndex=0, IPv4SubnetCIDRBlock=network["cidr"],
                       PrivateDNSName=f"ip-{address.replace('.', '-')}.ec2.internal" if address else None)
        return [{k: v for k, v in out.items() if v is not None}]

    def _task_document(self, body: dict, version: str) -> dict:
        definition = body["_run"]["definition"]
        limits = {}
        if body.get("cpu"):
            limits["CPU"] = int(body["cpu"]) / 1024
        if body.get("memory"):
            limits["Memory"] = int(body["memory"])
        doc = {"Cluster": body["clusterArn"], "TaskARN": body["taskArn"], "Family": definition["family"],
               "Revision": str(definition["revision"]), "DesiredStatus": body["desiredStatus"],
               "KnownStatus": body["lastStatus"], "Limits": limits, "PullStartedAt": body.get("pullStartedAt"),
               "PullStoppedAt": body.get("pullStoppedAt"), "AvailabilityZone": body.get("availabilityZone"),
               "Containers": [self._container_document(body, c, version) for c in body["containers"]]}
        if version == "4":
            doc["LaunchType"] = body["launchType"]
            if body["group"].startswith("service:"):
                doc["ServiceName"] = body["group"].split(":", 1)[1]
        return {k: v for k, v in doc.items() if v is not None}

    def _docker_stats(self, c: dict) -> dict | None:
        """The container's figures in the shape of Docker's stats API, which is what the
        endpoint returns (None for a container not running)."""
        try:
            s = self.stats(c["runtimeId"])
        except Exception:  # not running (any more): as the agent, no figures
            return None
        return {"read": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"), "name": f"/ecs-{c['name']}",
                "id": c["runtimeId"], "pids_stats": {"current": s.pids},
                "cpu_stats": {"cpu_usage": {"total_usage": s.cpu_usage_ns}},
                "memory_stats": {"usage": s.memory_usage, "limit": s.memory_limit},
                "networks": {"eth0": {"rx_bytes": s.net_rx_bytes, "tx_bytes": s.net_tx_bytes}}}
