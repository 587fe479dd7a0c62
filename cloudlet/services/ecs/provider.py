"""The ECS provider: clusters, task definitions and tasks, one method per operation. Its task
controller (cloudlet/control/tasks.py) runs the tasks on this host."""

from cloudlet.agent.engine import Engine
from cloudlet.control.ecs_metrics import ECSMetrics
from cloudlet.control.services import ServiceController
from cloudlet.control.tasks import TaskController
from cloudlet.edge.errors import AWSError
from cloudlet.registry import open_registry
from cloudlet.services.common.tags import ArnTagging
from cloudlet.store.parameters import Parameters
from cloudlet.store.schema import ecs_clusters, ecs_services, ecs_task_definitions, ecs_tasks

from .clusters import Clusters
from .instances import ContainerInstances
from .services import Services
from .taskdefs import TaskDefinitions
from .task_metadata import TaskMetadata
from .tasks import Tasks


class ECS(Clusters, TaskDefinitions, Tasks, Services, ContainerInstances, ArnTagging):
    def __init__(self, config, store):
        self.config = config
        self.store = store
        self.controller = TaskController(store, Engine(config.engine_dir), open_registry(store, config.data_dir),
                                         Parameters(config.data_dir), public_pool=config.public_pool,
                                         network_changed=lambda: config.network_changed())
        self.service_controller = ServiceController(store, self.controller.wake)
        self.metrics = ECSMetrics(store, self.controller.engine.runtime, config.metrics_interval)
        self.task_metadata = TaskMetadata(store, self.controller.container_address, self.controller.container_stats,
                                          self.controller.engine.networks.routers.by_host_address)

    def wake_controller(self) -> None:
        self.service_controller.wake()
        self.controller.wake()

    def tagged_resource_type(self, db, arn: str) -> str:
        kinds = (("cluster", ecs_clusters, ecs_clusters.c.arn), ("task-definition", ecs_task_definitions,
                                                                 ecs_task_definitions.c.arn))
        for kind, table, column in kinds:
            if db.one(table, column == arn):
                return kind
        if ":service/" in arn and db.one(ecs_services, ecs_services.c.name == arn.rsplit("/", 1)[-1]):
            return "service"
        if ":task/" in arn and db.one(ecs_tasks, ecs_tasks.c.task_id == arn.rsplit("/", 1)[-1]):
            return "task"
        raise AWSError("InvalidParameterException", "The specified resource is not valid.")
