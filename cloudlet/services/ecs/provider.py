"""The ECS provider: clusters, capacity providers, task definitions, tasks, services and account
settings, one method per operation. Its task controller (cloudlet/control/tasks.py) runs the tasks
on this host."""

from cloudlet.agent.engine import Engine
from cloudlet.control.ecs_metrics import ECSMetrics
from cloudlet.control.services import ServiceController
from cloudlet.control.tasks import TaskController
from cloudlet.registry import open_registry
from cloudlet.services.common.tags import ArnTagging
from cloudlet.store.parameters import Parameters

from .account_settings import AccountSettings
from .capacity_providers import CapacityProviders
from .clusters import Clusters
from .instances import ContainerInstances
from .services import Services
from .task_sets import TaskSets
from .tagging import tagged_resource_type
from .taskdefs import TaskDefinitions
from .task_metadata import TaskMetadata
from .tasks import Tasks


NETWORK_SETTLES = 20.0  # seconds a new task waits for its routes and rules before it goes on anyway


class ECS(Clusters, CapacityProviders, TaskDefinitions, Tasks, Services, TaskSets, ContainerInstances, AccountSettings,
          ArnTagging):
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

    def use_providers(self, providers) -> None:
        # EC2's network controller routes the tasks' interfaces: made first if need be
        self.controller.network_settled = lambda: providers("ec2").network_controller.settled(NETWORK_SETTLES)

    def wake_controller(self) -> None:
        self.service_controller.wake()
        self.controller.wake()

    def tagged_resource_type(self, db, arn: str) -> str:
        return tagged_resource_type(db, arn)
