"""Instance types with AWS's vCPU and memory figures (the common families); a VM of a type
gets exactly those vCPUs and that memory."""

from cloudlet.config import zones
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters, pagination

_SIZES = {  # size -> (vCPUs, MiB) for the general-purpose families; c and r scale memory
    "nano": (2, 512), "micro": (2, 1024), "small": (2, 2048), "medium": (2, 4096), "large": (2, 8192),
    "xlarge": (4, 16384), "2xlarge": (8, 32768),
}


def _family(name: str, sizes: list[str], memory_factor: float = 1.0, burstable: bool = False) -> dict:
    return {f"{name}.{size}": (_SIZES[size][0], int(_SIZES[size][1] * memory_factor), burstable) for size in sizes}


TYPES: dict[str, tuple[int, int, bool]] = {
    **_family("t2", ["nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"], burstable=True),
    **_family("t3", ["nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"], burstable=True),
    **_family("t3a", ["nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"], burstable=True),
    **_family("m5", ["large", "xlarge", "2xlarge"]),
    **_family("c5", ["large", "xlarge", "2xlarge"], memory_factor=0.5),
    **_family("r5", ["large", "xlarge", "2xlarge"], memory_factor=2.0),
}
# The "d" families: the same, with NVMe instance store (GB, one disk), wiped at every stop.
STORE_GB = {f"{family}.{size}": gb * factor for family, gb in (("m5d", 75), ("c5d", 50), ("r5d", 75))
            for size, factor in (("large", 1), ("xlarge", 2), ("2xlarge", 4))}
TYPES.update({**_family("m5d", ["large", "xlarge", "2xlarge"]),
              **_family("c5d", ["large", "xlarge", "2xlarge"], memory_factor=0.5),
              **_family("r5d", ["large", "xlarge", "2xlarge"], memory_factor=2.0)})
# AWS's own exceptions to the pattern above.
TYPES.update({"t2.nano": (1, 512, True), "t2.micro": (1, 1024, True), "t2.small": (1, 2048, True),
              "t2.medium": (2, 4096, True), "t2.large": (2, 8192, True)})


# network interfaces per instance and IPv4 addresses per interface, by size, as AWS's t3 and m5
# families have them (the smallest sizes take fewer)
_INTERFACES = {"nano": (2, 2), "micro": (2, 2), "small": (3, 4), "medium": (3, 6), "large": (3, 10),
               "xlarge": (4, 15), "2xlarge": (4, 15)}


def interface_limits(instance_type: str) -> tuple[int, int]:
    """(network interfaces, IPv4 addresses per interface) an instance of the type takes."""
    return _INTERFACES[instance_type.split(".", 1)[1]]


def check(instance_type: str) -> tuple[int, int]:
    if instance_type not in TYPES:
        raise AWSError("InvalidParameterValue", f"Invalid value '{instance_type}' for InstanceType.")
    vcpus, memory, _ = TYPES[instance_type]
    return vcpus, memory


def _info(name: str) -> dict:
    vcpus, memory, burstable = TYPES[name]
    return {"InstanceType": name, "CurrentGeneration": not name.startswith("t2"), "FreeTierEligible":
            name in ("t2.micro", "t3.micro"), "SupportedUsageClasses": ["on-demand"],
            "SupportedRootDeviceTypes": ["ebs"], "SupportedVirtualizationTypes": ["hvm"], "BareMetal": False,
            "Hypervisor": "nitro", "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
            "VCpuInfo": {"DefaultVCpus": vcpus, "DefaultCores": max(1, vcpus // 2), "DefaultThreadsPerCore":
                         2 if vcpus > 1 else 1}, "MemoryInfo": {"SizeInMiB": memory},
            "InstanceStorageSupported": name in STORE_GB, **({"InstanceStorageInfo": {
                "TotalSizeInGB": STORE_GB[name], "Disks": [{"SizeInGB": STORE_GB[name], "Count": 1, "Type": "ssd"}],
                "NvmeSupport": "required"}} if name in STORE_GB else {}),
            "NetworkInfo": {"MaximumNetworkInterfaces": interface_limits(name)[0], "MaximumNetworkCards": 1,
                            "Ipv4AddressesPerInterface": interface_limits(name)[1], "Ipv6Supported": False,
                            "NetworkCards": [{"NetworkCardIndex": 0,
                                              "MaximumNetworkInterfaces": interface_limits(name)[0]}]},
            "BurstablePerformanceSupported": burstable,
            "HibernationSupported": False, "SupportedBootModes": ["legacy-bios", "uefi"]}


class InstanceTypes:
    def describe_instance_types(self, ctx, request):
        wanted = request.get("InstanceTypes")
        for name in wanted or []:
            if name not in TYPES:
                raise AWSError("InvalidInstanceType", f"The following supplied instance types do not exist: [{name}]")
        infos = [_info(n) for n in sorted(TYPES) if not wanted or n in wanted]
        getters = {"instance-type": lambda i: i["InstanceType"], "current-generation": lambda i: i["CurrentGeneration"],
                   "vcpu-info.default-vcpus": lambda i: i["VCpuInfo"]["DefaultVCpus"],
                   "memory-info.size-in-mib": lambda i: i["MemoryInfo"]["SizeInMiB"]}
        infos = filters.apply(infos, request.get("Filters"), getters)
        page, token = pagination.page(infos, lambda i: i["InstanceType"], request.get("NextToken"),
                                      request.get("MaxResults"), default=100, minimum=5, maximum=100)
        return {"InstanceTypes": page, "NextToken": token}

    def describe_instance_type_offerings(self, ctx, request):
        kind = request.get("LocationType") or "region"
        locations = [ctx.region] if kind == "region" else [
            z["ZoneName" if kind == "availability-zone" else "ZoneId"] for z in zones(ctx.region)]
        offers = [{"InstanceType": t, "LocationType": kind, "Location": loc} for t in sorted(TYPES) for loc in locations]
        getters = {"instance-type": lambda o: o["InstanceType"], "location": lambda o: o["Location"]}
        offers = filters.apply(offers, request.get("Filters"), getters)
        page, token = pagination.page(offers, lambda o: (o["InstanceType"], o["Location"]), request.get("NextToken"),
                                      request.get("MaxResults"), default=1000, minimum=5, maximum=1000)
        return {"InstanceTypeOfferings": page, "NextToken": token}
