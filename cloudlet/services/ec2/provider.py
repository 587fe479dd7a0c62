"""The EC2 provider: one method per implemented operation, grouped by area."""

from cloudlet.services.ec2.keypairs import KeyPairs
from cloudlet.services.ec2.regions import Regions
from cloudlet.services.ec2.tagging import Tagging
from cloudlet.services.ec2.vpcs import Vpcs


class EC2(Regions, KeyPairs, Tagging, Vpcs):
    def __init__(self, config, store):
        self.config = config
        self.store = store
