"""The VPC core API in one mixin for the provider: VPCs, subnets, internet and NAT gateways,
route tables and their routes, network ACLs and their entries (a module each)."""

from .internet_gateways import InternetGateways
from .nat_gateways import NatGateways
from .network_acls import NetworkAcls
from .route_tables import RouteTables
from .routes import Routes
from .subnets import Subnets
from .vpcs import Vpcs


class VpcCore(Vpcs, Subnets, InternetGateways, RouteTables, Routes, NatGateways, NetworkAcls):
    pass
