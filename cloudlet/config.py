"""Server settings: where state lives, where to listen, which regions exist."""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Real AWS regions and the zone-ID prefixes AWS gives them (use1-az1, ...).
KNOWN_REGIONS = {
    "us-east-1": "use1", "us-east-2": "use2", "us-west-1": "usw1", "us-west-2": "usw2",
    "ca-central-1": "cac1", "eu-west-1": "euw1", "eu-west-2": "euw2", "eu-west-3": "euw3",
    "eu-central-1": "euc1", "eu-north-1": "eun1", "ap-south-1": "aps1", "ap-northeast-1": "apne1",
    "ap-northeast-2": "apne2", "ap-southeast-1": "apse1", "ap-southeast-2": "apse2", "sa-east-1": "sae1",
}
DEFAULT_REGIONS = tuple(KNOWN_REGIONS)
ZONES_PER_REGION = 3


def default_data_dir() -> Path:
    if env := os.environ.get("CLOUDLET_DATA_DIR"):
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/cloudlet")
    return Path.home() / ".local/share/cloudlet"


def boot_dir(data_dir: Path) -> Path:
    """What VMs boot: the kernel, its initramfs and the built-in AMIs' root disks."""
    return Path(data_dir) / "boot"


def engine_dir(data_dir: Path) -> Path:
    """The container engine's state: images (with the content store the registry shares),
    containers, networks."""
    return Path(data_dir) / "engine"


@dataclass
class Config:
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 4566
    regions: tuple[str, ...] = DEFAULT_REGIONS
    lifecycle_interval: float = 600.0  # seconds between applications of ECR lifecycle policies
    # seconds between the samples cloudlet publishes of what runs (AWS/ECS, AWS/EC2, ...): AWS
    # samples ECS every 20 s into 1-minute data; tests shorten it
    metrics_interval: float = 20.0
    vpc_pool: str = "172.16.0.0/12"  # default VPCs take /16s of it (services/ec2/vpcs.py)
    public_pool: str = "198.18.0.0/16"  # Elastic IPs and public IPs at launch (store/enis.py)
    public_interface: str | None = None  # a LAN the public pool is part of (agent/network/public.py)
    # The guests' metadata services' own listeners on 127.0.0.1 (0: not served), which
    # 169.254.169.254 and 169.254.170.2 are DNAT'd to: never the API port.
    imds_port: int = 0
    task_metadata_port: int = 0
    hosts_file: Path | None = None  # where load balancers' DNS names are kept (control/elb.py)
    # what the API calls when traffic's rules changed: the network reconciler wakes up
    network_changed: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)

    def __post_init__(self):
        self.data_dir = Path(self.data_dir)  # the CLI hands over plain strings

    @property
    def db_path(self) -> Path:
        return self.data_dir / "state.db"

    @property
    def engine_dir(self) -> Path:
        return engine_dir(self.data_dir)

    @property
    def endpoint(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"


def private_dir(path: Path) -> Path:
    """The data dir, made if need be, for its owner alone: it holds every account's state."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def zone_id_prefix(region: str) -> str:
    if region in KNOWN_REGIONS:
        return KNOWN_REGIONS[region]
    # A region of our own naming: initials of its words plus its number (xx-foo-1 -> xf1).
    parts = region.split("-")
    return "".join(p[0] for p in parts[:-1]) + parts[-1]


def zones(region: str) -> list[dict]:
    prefix = zone_id_prefix(region)
    return [
        {"ZoneName": f"{region}{letter}", "ZoneId": f"{prefix}-az{n}"}
        for n, letter in enumerate("abcdef"[:ZONES_PER_REGION], start=1)
    ]
