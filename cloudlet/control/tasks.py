"""The task controller: moves each ECS task from what the store says it should be to what
runs on this host, through the container engine, and writes back what happened.

    PROVISIONING  its network: for awsvpc, a namespace and an address on its subnet's bridge
    PENDING       its images (from ECR, or the bootstrap images by their names), between
                  pullStartedAt (written before the first is looked for) and pullStoppedAt, and
                  its containers, created and started in dependsOn order, all in that namespace
    RUNNING       watched: an essential container that exits stops the task
    DEACTIVATING  left running: the service controller holds a task so while its load
                  balancers' targets drain, then lets it go as STOPPING (service_targets.py)
    STOPPED       containers stopped (stop signal, stopTimeout, then SIGKILL) and removed,
                  the namespace released; exit codes and reasons kept on the task

Everything it needs is in the task's row (its "_run" notes) and in names it can find again
(containers are named after the task), so a controller that restarts picks up each task
where it was, without running anything twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import or_, select, update

from cloudlet.agent.engine import Engine, EngineError, OptionError
from cloudlet.agent.images import ImageError
from cloudlet.agent.network import NetworkError
from cloudlet.agent.runtime import ContainerError
from cloudlet.store.enis import AddressError
from cloudlet.store.schema import ecs_container_instances, ecs_tasks

from . import awslogs, task_enis
from .container_options import TASK_LABEL, run_options, task_volume
from .health import run_checks
from .loop import Loop
from .privileges import PRIVILEGED, reaches_host
from .records import TaskFailed, now
from .sources import Sources

log = logging.getLogger("cloudlet.control.tasks")
POLL = 0.5  # seconds between looks at running tasks when nothing wakes the controller
WORKERS = 4
SWEEP = 30.0  # seconds between sweeps for containers whose task is over (and once at start)
# What the API owns on a task: StopTask may change these while a step runs.
_API_FIELDS = ("desiredStatus", "stopCode", "stoppedReason", "stoppingAt")


class TaskController(Loop):
    def __init__(self, store, engine: Engine, registry=None, parameters=None, public_pool: str = "",
                 network_changed=lambda: None):
        self.store = store
        self.engine = engine
        self.public_pool = public_pool  # where assignPublicIp's addresses come from
        self.network_changed = network_changed  # the network controller enforces a new port's groups
        # the same, waiting until it has (the ECS provider gives the network controller's own):
        # a task runs only once its routes and rules are in place, as AWS starts it once its ENI is
        self.network_settled = network_changed
        self.sources = Sources(store, engine, registry, parameters)
        self._busy: set[tuple] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="task")
        self._next_sweep = 0.0
        self.start("task-controller", POLL)

    def round(self) -> None:
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP
            try:
                self._sweep()
            except Exception:  # orphans wait for the next sweep; the tasks must not
                log.exception("sweeping orphans")
        for key in self._active():
            with self._lock:
                if key in self._busy:
                    continue
                self._busy.add(key)
            self._pool.submit(self._step, key)

    def _sweep(self) -> None:
        """Remove containers and task namespaces of tasks that are over or unknown: what a
        controller killed between making something and writing it down leaves behind."""
        with self.store.begin(write=False) as conn:
            live = {r.task_id for r in conn.execute(select(ecs_tasks.c.task_id).where(
                ecs_tasks.c.last_status != "STOPPED"))}
            known = {r.task_id for r in conn.execute(select(ecs_tasks.c.task_id))}
        with self._lock:
            busy = {key[2] for key in self._busy}
        for container in self.engine.list():
            arn = container.state.labels.get(TASK_LABEL)
            task_id = arn.rsplit("/", 1)[1] if arn else None
            if task_id and task_id not in live and task_id not in busy:
                log.info("removing container %s of task %s, which %s", container.name, task_id,
                         "has stopped" if task_id in known else "does not exist")
                self.engine.remove(container.id, force=True)
        self.engine.runtime.remove_half_made()
        for task_id in self.engine.networks.endpoints():
            if task_id in known and task_id not in live and task_id not in busy:
                self.engine.networks.disconnect(task_id)

    def _active(self) -> list[tuple]:
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(ecs_tasks.c.account_id, ecs_tasks.c.region, ecs_tasks.c.task_id).where(
                or_(ecs_tasks.c.desired_status == "RUNNING", ecs_tasks.c.last_status != "STOPPED")))
            return [tuple(r) for r in rows]

    # -- one task, one step ---------------------------------------------------------------

    def _step(self, key: tuple) -> None:
        try:
            body = self._load(key)
            if body is None:
                return
            if body["desiredStatus"] == "RUNNING":
                if body["lastStatus"] == "PROVISIONING":
                    self._provision(key, body)
                    body = self._save(key, body)
                if body["desiredStatus"] == "RUNNING" and body["lastStatus"] == "PENDING":
                    self._start(key, body)
                    body = self._save(key, body)
                if body["desiredStatus"] == "RUNNING" and body["lastStatus"] == "RUNNING":
                    if self._watch(key, body):
                        body = self._save(key, body)
            if body["desiredStatus"] == "STOPPED" and body["lastStatus"] not in ("STOPPED", "DEACTIVATING"):
                self._stop(key, body)
                self._save(key, body)
        except Exception:
            log.exception("task %s", key[2])
        finally:
            with self._lock:
                self._busy.discard(key)
            self.wake()  # a step may have made work for the next one

    def _load(self, key: tuple) -> dict | None:
        with self.store.scoped(key[0], key[1], write=False) as db:
            row = db.one(ecs_tasks, ecs_tasks.c.task_id == key[2])
        return json.loads(row["body"]) if row else None

    def _save(self, key: tuple, body: dict) -> dict:
        """Write the controller's view back; a stop asked for meanwhile wins over RUNNING."""
        with self.store.scoped(key[0], key[1]) as db:
            current = json.loads(db.one(ecs_tasks, ecs_tasks.c.task_id == key[2])["body"])
            if current["desiredStatus"] == "STOPPED" and body["desiredStatus"] != "STOPPED":
                body.update({k: current[k] for k in _API_FIELDS if k in current})
                if current["lastStatus"] == "DEACTIVATING" and body["lastStatus"] == "RUNNING":
                    body["lastStatus"] = "DEACTIVATING"  # held while it drains: the service controller lets it go
            body["version"] = current["version"] + 1
            db.conn.execute(update(ecs_tasks).where(
                ecs_tasks.c.account_id == key[0], ecs_tasks.c.region == key[1], ecs_tasks.c.task_id == key[2]
            ).values(desired_status=body["desiredStatus"], last_status=body["lastStatus"], body=json.dumps(body),
                     updated_at=now()))
        return body

    # -- PROVISIONING -----------------------------------------------------------------------

    def _provision(self, key: tuple, body: dict) -> None:
        net = body["_run"]["network"]
        if net["mode"] == "awsvpc":
            task_id = body["taskArn"].rsplit("/", 1)[1]
            # in the task's user namespace, which its containers join (container_options.py)
            userns = None if reaches_host(body["_run"]["definition"]) else \
                self.engine.runtime.user_namespace(task_id)
            try:
                eni, _ = task_enis.provision(self.store, key, body, self.engine.networks.routers, self.public_pool,
                                             userns)
            except (NetworkError, AddressError) as e:
                self._fail(body, f"ResourceInitializationError: the task's network could not be set up: {e}")
                return
            self.network_settled()
            address = eni["PrivateIpAddress"]
            net.update(ip=address, eni=eni["NetworkInterfaceId"], vpc=eni["VpcId"])
            attachment = body["attachments"][0]
            attachment["status"] = "ATTACHED"
            attachment["details"] = [{"name": "subnetId", "value": eni["SubnetId"]},
                                     {"name": "networkInterfaceId", "value": eni["NetworkInterfaceId"]},
                                     {"name": "macAddress", "value": eni["MacAddress"]},
                                     {"name": "privateDnsName", "value": eni["PrivateDnsName"]},
                                     {"name": "privateIPv4Address", "value": address}]
            for c in body["containers"]:
                c["networkInterfaces"] = [{"attachmentId": attachment["id"], "privateIpv4Address": address}]
        body["lastStatus"] = "PENDING"

    # -- PENDING ------------------------------------------------------------------------------

    def _start(self, key: tuple, body: dict) -> None:
        definition = body["_run"]["definition"]
        reaching = reaches_host(definition)
        if reaching and not self._allows_privileged(key, body):
            # placement sees to it; a task recorded before the rules were, or a forged row, stops here
            self._fail(body, f"CannotStartContainerError: {', '.join(reaching)} need a container instance with "
                             f"the attribute {PRIVILEGED} (cloudlet up --cluster NAME --allow-privileged)")
            return
        overrides = {o["name"]: o for o in body["overrides"]["containerOverrides"]}
        if "pullStartedAt" not in body:  # shown at once: an image built on first use takes minutes
            body["pullStartedAt"] = now()
            self._save(key, body)
            if body["desiredStatus"] == "STOPPED":  # stopped meanwhile
                return
        try:
            awslogs.prepare(self.store, key, body)
            secrets_ = {c["name"]: self.sources.secrets(key, c) for c in definition["containerDefinitions"]}
            images = {c["name"]: self.sources.image(c["image"], key) for c in definition["containerDefinitions"]}
        except TaskFailed as e:
            body["pullStoppedAt"] = now()  # as ECS's agent: the pull ended, if not well
            self._fail(body, e.reason, e.container)
            return
        body["pullStoppedAt"] = now()
        pending = list(definition["containerDefinitions"])
        while pending:
            ready = [c for c in pending if self._dependencies_met(body, c)]
            if not ready:
                if self._dependency_failed(body, pending):
                    return
                run_checks(self.engine.runtime, body)  # a HEALTHY dependency needs its checks run
                time.sleep(0.2)
                continue
            for c in ready:
                pending.remove(c)
                try:
                    self._run_container(body, c, images[c["name"]], overrides.get(c["name"], {}), secrets_[c["name"]])
                except (EngineError, OptionError, ImageError, ContainerError, NetworkError) as e:
                    self._fail(body, "CannotStartContainerError: " + str(e), c["name"])
                    return
        body.update(lastStatus="RUNNING", startedAt=now(), connectivity="CONNECTED", connectivityAt=now())

    def container_address(self, runtime_id: str) -> str | None:
        return self.engine.networks.endpoints().get(runtime_id, (None, []))[0]

    def container_stats(self, runtime_id: str):
        return self.engine.runtime.stats(runtime_id, interval=0.05)

    def _allows_privileged(self, key: tuple, body: dict) -> bool:
        arn = body.get("containerInstanceArn")
        if body.get("launchType") != "EC2" or not arn:
            return False
        with self.store.scoped(key[0], key[1], write=False) as db:
            row = db.one(ecs_container_instances, ecs_container_instances.c.instance_id == arn.rsplit("/", 1)[1])
        attributes = json.loads(row["body"])["attributes"] if row else []
        return any(a["name"] == PRIVILEGED for a in attributes)

    @staticmethod
    def _container(body: dict, name: str) -> dict:
        return next(c for c in body["containers"] if c["name"] == name)

    def _dependencies_met(self, body: dict, c: dict) -> bool:
        for dep in c.get("dependsOn") or []:
            other = self._container(body, dep["containerName"])
            if dep["condition"] == "START":
                if other["lastStatus"] not in ("RUNNING", "STOPPED"):
                    return False
            elif dep["condition"] == "HEALTHY":
                if other.get("healthStatus") != "HEALTHY":
                    return False
            else:
                self._refresh(body, other)
                if other["lastStatus"] != "STOPPED":
                    return False
        return True

    def _dependency_failed(self, body: dict, pending: list[dict]) -> bool:
        for c in pending:
            for dep in c.get("dependsOn") or []:
                other = self._container(body, dep["containerName"])
                if dep["condition"] == "SUCCESS" and other["lastStatus"] == "STOPPED" and other.get("exitCode"):
                    self._fail(body, f"CannotStartContainerError: dependency {other['name']} exited "
                               f"{other['exitCode']}, {c['name']} needs it to succeed", c["name"])
                    return True
        return False

    def _run_container(self, body: dict, c: dict, image: str, override: dict, secrets_env: dict) -> None:
        task_id = body["taskArn"].rsplit("/", 1)[1]
        run, entry = body["_run"], self._container(body, c["name"])
        name = f"ecs-{task_id[:12]}-{c['name']}"
        try:
            container = self.engine.get(name)  # a restarted controller finds what it made
        except EngineError:
            container = None
        if container is None:
            mode = run["network"]["mode"]
            attachment = self.engine.networks.port_attachment(run["network"]["eni"]) if mode == "awsvpc" else None
            container = self.engine.create(run_options(body, c, image, override, name, secrets_env), attachment)
        if container.state.status == "created":
            self.engine.start(container.id)
            container = self.engine.get(container.id)
        run["containers"][c["name"]] = container.id
        entry.update(runtimeId=container.id, lastStatus="RUNNING")
        if run["network"]["mode"] == "bridge":
            entry["networkBindings"] = [{"bindIP": p.host_ip, "containerPort": p.container_port,
                                         "hostPort": p.host_port, "protocol": p.protocol} for p in container.ports]
        elif run["network"]["mode"] == "host":
            entry["networkBindings"] = [{"bindIP": "0.0.0.0", "containerPort": p["containerPort"],
                                         "hostPort": p["hostPort"], "protocol": p["protocol"]}
                                        for p in c.get("portMappings") or []]

    def _ship(self, key: tuple, body: dict) -> bool:
        return awslogs.ship(self.store, self.engine.runtime.containers, key, body)

    # -- RUNNING ------------------------------------------------------------------------------

    def _refresh(self, body: dict, entry: dict) -> bool:
        """Bring a container's entry up to date with the engine; True if it just stopped."""
        cid = entry.get("runtimeId")
        if not cid or entry["lastStatus"] == "STOPPED":
            return False
        try:
            state = self.engine.get(cid).state
        except EngineError:
            entry.update(lastStatus="STOPPED", reason="The container was removed from the host")
            return True
        if state.status != "exited":
            return False
        entry.update(lastStatus="STOPPED", exitCode=state.exit_code)
        if state.oom_killed:
            entry["reason"] = "OutOfMemoryError: Container killed due to memory usage"
        return True

    def _watch(self, key: tuple, body: dict) -> bool:
        changed = self._ship(key, body) | run_checks(self.engine.runtime, body)
        definition = {c["name"]: c for c in body["_run"]["definition"]["containerDefinitions"]}
        for entry in body["containers"]:
            if self._refresh(body, entry):
                changed = True
                if definition[entry["name"]].get("essential", True) and body["desiredStatus"] == "RUNNING":
                    body.update(desiredStatus="STOPPED", stopCode="EssentialContainerExited", stoppingAt=now(),
                                stoppedReason="Essential container in task exited")
        return changed

    # -- STOPPED ------------------------------------------------------------------------------

    def _stop(self, key: tuple, body: dict) -> None:
        task_id = body["taskArn"].rsplit("/", 1)[1]
        definition = {c["name"]: c for c in body["_run"]["definition"]["containerDefinitions"]}
        body["lastStatus"] = "DEPROVISIONING"
        for entry in body["containers"]:
            cid = entry.get("runtimeId")
            if cid and entry["lastStatus"] != "STOPPED":
                try:
                    self.engine.stop(cid, float(definition[entry["name"]].get("stopTimeout") or 30))
                except EngineError:
                    pass  # gone already
                self._refresh(body, entry)
            entry["lastStatus"] = "STOPPED"
        self._ship(key, body)  # the last words, before the log files go with the containers
        for entry in body["containers"]:
            cid = entry.get("runtimeId")
            if cid:
                try:
                    self.engine.remove(cid, force=True)
                except EngineError:
                    pass
        if body["_run"]["network"]["mode"] == "awsvpc":
            task_enis.release(self.store, key, body, self.engine.networks.routers)
            self.network_changed()
        self.engine.runtime.release_user_namespace(task_id)
        for volume in body["_run"]["definition"].get("volumes") or []:
            if not (volume.get("host") or {}).get("sourcePath") and \
                    (volume.get("dockerVolumeConfiguration") or {}).get("scope") != "shared":
                self.engine.runtime.remove_volume(task_volume(body, volume["name"]))
        for eni in body.get("attachments") or []:
            eni["status"] = "DELETED"
        stamp = now()
        body.update(lastStatus="STOPPED", stoppedAt=stamp, executionStoppedAt=stamp, connectivity="DISCONNECTED")
        body.setdefault("stoppingAt", stamp)

    def _fail(self, body: dict, reason: str, container: str | None = None) -> None:
        """The task cannot go on starting: it stops, saying why (as ECS's TaskFailedToStart)."""
        body.update(desiredStatus="STOPPED", stopCode="TaskFailedToStart", stoppedReason=reason, stoppingAt=now())
        if container:
            self._container(body, container)["reason"] = reason
