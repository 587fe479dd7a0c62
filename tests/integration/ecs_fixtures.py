"""What the ECS integration tests share: a `cloudlet up` whose engine shares its data dir (as
under `cloudlet up`), with a cluster "shop" and a VPC pool of its own per module (two
servers bridging the same subnet at once would fight over the host's routes), and the
steps of running FARGATE tasks."""

import time

import pytest
from engine_fixtures import busybox_home

from tests.e2e.server import Server

HTTPD = ["httpd", "-f", "-p", "80", "-h", "/etc"]


def module_cloud(name: str, pool: str, *args: str):
    """A module's `cloud` fixture (pool: its VPC pool; a cloudlet under `make up` or a bench
    may have 172.31 bridged; args: more of `cloudlet up`'s)."""
    @pytest.fixture(scope="module")
    def cloud(tmp_path_factory):
        with busybox_home("nft", "ip") as home:
            server = Server(tmp_path_factory.mktemp(name), args=("--vpc-pool", pool, *args))
            server.data_dir = home.data_dir
            server.start()
            try:
                server.ecs, server.home_ = server.client("ecs"), home
                server.ecs.create_cluster(clusterName="shop")
                server.subnet = server.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
                yield server
            finally:
                server.stop()
        assert not list(home.data_dir.glob("engine/rt/containers/*"))  # destroy() removed every container

    return cloud


def register(cloud, family: str, *containers: dict, memory: str = "512") -> str:
    defs = [{"essential": True, "stopTimeout": 2, **c} for c in containers]
    return cloud.ecs.register_task_definition(family=family, containerDefinitions=defs, networkMode="awsvpc",
                                              requiresCompatibilities=["FARGATE"], cpu="256",
                                              memory=memory)["taskDefinition"]["taskDefinitionArn"]


def run(cloud, definition: str) -> str:
    tasks = cloud.ecs.run_task(cluster="shop", taskDefinition=definition, launchType="FARGATE",
                               networkConfiguration={"awsvpcConfiguration": {"subnets": [cloud.subnet]}})["tasks"]
    assert tasks[0]["lastStatus"] == "PROVISIONING" and tasks[0]["desiredStatus"] == "RUNNING"
    return tasks[0]["taskArn"]


def wait(cloud, arn: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = cloud.ecs.describe_tasks(cluster="shop", tasks=[arn])["tasks"][0]
        if task["lastStatus"] == status or time.monotonic() > deadline:
            assert task["lastStatus"] == status, task
            return task
        time.sleep(0.2)


def address(task: dict) -> str:
    return next(d["value"] for d in task["attachments"][0]["details"] if d["name"] == "privateIPv4Address")


def service(cloud, name: str) -> dict:
    return cloud.ecs.describe_services(cluster="shop", services=[name])["services"][0]
