"""The EC2 provider: one method per implemented operation, grouped by area. Its instance
controller (cloudlet/control/instances.py) runs the VMs behind the instances, the volume
controller (cloudlet/control/volumes.py) their disks, and the network controller
(cloudlet/control/vpcnet.py) what VPCs let through, and the metrics publisher
(cloudlet/control/ec2_metrics.py) what the VMs do, as AWS/EC2 and AWS/EBS metrics."""

from cloudlet.control.ec2_metrics import EC2Metrics
from cloudlet.control.instances import InstanceController
from cloudlet.control.vpcnet import NetworkController
from cloudlet.services.ec2.addresses import Addresses
from cloudlet.services.ec2.eni_attributes import EniAttributes
from cloudlet.services.ec2.images import Images
from cloudlet.services.ec2.instance_attributes import InstanceAttributes
from cloudlet.services.ec2.instance_monitoring import InstanceMonitoring
from cloudlet.services.ec2.instance_types import InstanceTypes
from cloudlet.services.ec2.instances import Instances
from cloudlet.services.ec2.keypairs import KeyPairs
from cloudlet.services.ec2.launch_template_versions import LaunchTemplateVersions
from cloudlet.services.ec2.launch_templates import LaunchTemplates
from cloudlet.services.ec2.network_interfaces import NetworkInterfaces
from cloudlet.services.ec2.regions import Regions
from cloudlet.services.ec2.security_groups import SecurityGroups
from cloudlet.services.ec2.sg_rules import SecurityGroupRules
from cloudlet.services.ec2.snapshots import Snapshots
from cloudlet.services.ec2.tagging import Tagging
from cloudlet.services.ec2.volumes import Volumes
from cloudlet.services.ec2.vpc_core import VpcCore


class EC2(Regions, KeyPairs, Tagging, VpcCore, SecurityGroups, SecurityGroupRules, Images, InstanceTypes, Instances,
          InstanceAttributes, InstanceMonitoring, Volumes, Snapshots, NetworkInterfaces, EniAttributes, Addresses,
          LaunchTemplates, LaunchTemplateVersions):
    def __init__(self, config, store):
        self.config = config
        self.store = store
        self.controller = InstanceController(store, config.data_dir, network_changed=lambda: config.network_changed())
        self.volume_controller = self.controller.volumes
        self.network_controller = NetworkController(store, self.controller.engine.networks, config.public_pool,
                                                    config.imds_port, config.task_metadata_port,
                                                    config.public_interface)
        config.network_changed = self.network_controller.wake
        # and once now, for what was plugged before anyone could wake it: a task that an ECS
        # request started while this provider was being made would wait for the next poll
        # for its routes (the host's to it among them: meanwhile, traffic to it left by the
        # default route)
        self.network_controller.wake()
        self.metrics = EC2Metrics(store, self.controller.vms, config.metrics_interval)
