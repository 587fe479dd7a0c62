"""Root in a tenant's container is not root on the host: FARGATE tasks (and `cloudlet run
--userns`) run in a user namespace with a host id range of their own, so the escapes a
stray capability opens (a cgroup v1 release_agent run by the host's kernel as root) fail;
only the operator's `--allow-privileged` container instance runs privileged tasks."""

import secrets
import time
from pathlib import Path

import pytest
from ecs_fixtures import module_cloud, register, run, wait
from engine_fixtures import busybox_home

from cloudlet.agent.engine import Engine
from cloudlet.agent.runtime import idranges
from tests.e2e.server import Server

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]
cloud = module_cloud("tenant-escape", "10.32.0.0/12")
SYS_ADMIN_BIT = 21


def host_uid(engine: Engine, cid: str) -> int:
    """The host's view of the container's first process: its real uid."""
    pid = engine.get(cid).state.pid
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Uid:"))
    return int(line.split()[1])


def in_share(uid: int) -> bool:
    start, count = idranges.share()
    return start <= uid < start + count * idranges.SIZE


def test_root_in_a_fargate_task_is_an_unprivileged_range_of_the_host(cloud):
    task = wait(cloud, run(cloud, register(cloud, "whoami", {"name": "app", "image": "busybox",
                                                             "command": ["sleep", "600"]})), "RUNNING")
    cid = task["containers"][0]["runtimeId"]
    cli = cloud.home_.cli
    assert cli("exec", cid, "id", "-u").stdout == "0\n"
    inside, outside, size = map(int, cli("exec", cid, "cat", "/proc/self/uid_map").stdout.split())
    assert (inside, size) == (0, 65536) and in_share(outside)
    assert host_uid(cloud.home_.engine(), cid) == outside
    # the image's files are the container root's own, shown through idmapped layers
    assert cli("exec", cid, "stat", "-c", "%u:%g", "/bin/busybox").stdout == "0:0\n"
    assert cli("exec", cid, "sh", "-c", "echo x > /etc/mine && cat /etc/mine").stdout == "x\n"
    cloud.ecs.stop_task(cluster="shop", task=task["taskArn"])
    wait(cloud, task["taskArn"], "STOPPED")


ESCAPE = """grep CapEff /proc/self/status
mkdir -p /tmp/cg
if mount -t cgroup -o rdma cgroup /tmp/cg 2>/tmp/err || mount -t cgroup -o memory cgroup /tmp/cg 2>>/tmp/err; then
  upper=$(sed -n 's/.*upperdir=\\([^,]*\\).*/\\1/p' /proc/mounts | head -1)
  printf '#!/bin/sh\\ntouch MARKER\\n' > /escape && chmod +x /escape
  mkdir -p /tmp/cg/x && echo 1 > /tmp/cg/x/notify_on_release
  echo "$upper/escape" > /tmp/cg/release_agent && echo armed
  sh -c 'echo $$ > /tmp/cg/x/cgroup.procs'
else
  echo refused; cat /tmp/err
fi
"""


def test_the_release_agent_escape_fails_even_with_sys_admin_forced_in():
    """The finding: a task with SYS_ADMIN mounts a cgroup v1 hierarchy and points its
    release_agent at a script of its own, which the host's kernel runs as root. Forced
    into a user namespace's container through the engine (the API refuses to ask), the
    capability is there and the mount is not."""
    marker = Path("/tmp") / f"cloudlet-escaped-{secrets.token_hex(6)}"
    with busybox_home("nft", "ip") as home:
        out = home.cli("run", "--rm", "--userns", "--network", "none", "--cap-add", "SYS_ADMIN", "busybox",
                       "sh", "-c", ESCAPE.replace("MARKER", str(marker)), check=False).stdout
        time.sleep(0.5)  # a release agent runs asynchronously, once the cgroup empties
    cap_eff = int(out.splitlines()[0].split()[1], 16)
    assert cap_eff & (1 << SYS_ADMIN_BIT), out  # the capability really was granted
    assert "refused" in out and "armed" not in out, out
    assert not marker.exists()


def test_only_the_operators_instance_runs_privileged_tasks(tmp_path_factory):
    with busybox_home("nft", "ip") as home:
        server = Server(tmp_path_factory.mktemp("privileged"),
                        args=("--vpc-pool", "10.48.0.0/12", "--cluster", "ops", "--allow-privileged"))
        server.data_dir = home.data_dir
        server.start()
        try:
            ecs = server.client("ecs")
            definition = ecs.register_task_definition(family="root", networkMode="none", containerDefinitions=[
                {"name": "app", "image": "busybox", "memory": 64, "privileged": True, "stopTimeout": 1,
                 "command": ["sleep", "600"]}])["taskDefinition"]["taskDefinitionArn"]
            arn = ecs.run_task(cluster="ops", taskDefinition=definition, launchType="EC2")["tasks"][0]["taskArn"]
            deadline = time.monotonic() + 60
            while (task := ecs.describe_tasks(cluster="ops", tasks=[arn])["tasks"][0])["lastStatus"] != "RUNNING":
                assert time.monotonic() < deadline and task["lastStatus"] != "STOPPED", task.get("stoppedReason")
                time.sleep(0.2)
            cid = task["containers"][0]["runtimeId"]
            assert home.cli("exec", cid, "cat", "/proc/self/uid_map").stdout.split() == ["0", "0", "4294967295"]
            assert host_uid(home.engine(), cid) == 0  # the operator asked for it
            ecs.stop_task(cluster="ops", task=arn)
        finally:
            server.stop()
