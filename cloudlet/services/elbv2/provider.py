"""The Elastic Load Balancing v2 provider: one method per operation, grouped by concern. What
the operations record, the load balancers' data plane (cloudlet/control/elb.py) makes real."""

from cloudlet.agent.engine import Engine
from cloudlet.control.elb import LoadBalancerController
from cloudlet.control.elb_metrics import ELBMetrics

from .listeners import Listeners
from .load_balancers import LoadBalancers
from .rules import Rules
from .tagging import Tagging
from .target_groups import TargetGroups
from .targets import Targets


class ELBv2(LoadBalancers, TargetGroups, Targets, Listeners, Rules, Tagging):
    def __init__(self, config, store):
        self.config = config
        self.store = store
        self.controller = LoadBalancerController(store, Engine(config.engine_dir).networks.routers, config.data_dir,
                                                 lambda: config.network_changed(), config.hosts_file)
        self.metrics = ELBMetrics(store, self.controller.proxies, config.metrics_interval)

    def wake_controller(self) -> None:
        """What an operation that changed a load balancer calls: its proxy changes at once."""
        self.controller.wake()

    def close(self) -> None:
        self.controller.close()
