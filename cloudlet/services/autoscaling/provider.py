"""The EC2 Auto Scaling provider: one method per operation, grouped by concern. Its group
controller (cloudlet/control/autoscaling.py) launches and replaces the groups' instances
through EC2's own operations; the edge starts it (start()) with the providers it calls."""

from cloudlet.control.autoscaling import GroupController

from .activities import Activities
from .catalog import Catalog
from .groups import Groups
from .hooks import Hooks
from .instances import GroupInstances
from .launching import Launcher
from .policies import Policies
from .processes import Processes
from .refresh import Refreshes
from .scheduled import ScheduledActions
from .tagging import Tagging
from .traffic import Traffic


class AutoScaling(Groups, GroupInstances, Policies, Hooks, ScheduledActions, Activities, Refreshes, Tagging,
                  Catalog, Processes, Traffic):
    def __init__(self, config, store):
        self.config = config
        self.store = store
        self.controller = None

    def use_providers(self, providers) -> None:
        """Start the group controller; providers(service) gives the provider it launches through."""
        self.controller = GroupController(self.store, Launcher(self.config, self.store, providers))

    def wake(self) -> None:
        if self.controller is not None:
            self.controller.wake()
