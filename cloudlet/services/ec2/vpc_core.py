"""The VPC core API in one mixin for the provider: VPCs, subnets, internet gateways, route
tables and their routes, network ACLs and their entries (a module each)."""

from .internet_gateways import InternetGateways
from .network_acls import NetworkAcls
from .route_tables import RouteTables
from .routes import Routes
from .subnets import Subnets
from .vpcs import Vpcs


class VpcCore(Vpcs, Subnets, InternetGateways, RouteTables, Routes, NetworkAcls):
    pass
