"""The ECS provider: clusters, task definitions and tasks, one method per operation."""

from cloudlet.services.common.tags import ArnTagging

from .clusters import Clusters
from .taskdefs import TaskDefinitions


class ECS(Clusters, TaskDefinitions, ArnTagging):
    def __init__(self, config, store):
        self.config = config
        self.store = store
