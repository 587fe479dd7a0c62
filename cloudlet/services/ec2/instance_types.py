"""Instance types with AWS's vCPU and memory figures (the common families); a VM of a type
gets exactly those vCPUs and that memory. The t2 and m1 families are AWS's Xen ones (one
thread per core, legacy BIOS boot, no ENA); the others are Nitro."""

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
# m1, the previous generation RunInstances still launches when no type is given.
DEFAULT = "m1.small"
TYPES.update({"m1.small": (1, 1740, False), "m1.medium": (1, 3840, False), "m1.large": (2, 7680, False),
              "m1.xlarge": (4, 15360, False)})
_XEN = ("t2", "m1")
_PREVIOUS = ("m1",)
_EBS_OPTIMIZABLE = ("m1.large", "m1.xlarge")  # of the Xen types, at the user's request; Nitro ones always are


# network interfaces per instance and IPv4 addresses per interface, by size, as AWS's t3 and m5
# families have them (the smallest sizes take fewer)
_INTERFACES = {"nano": (2, 2), "micro": (2, 2), "small": (3, 4), "medium": (3, 6), "large": (3, 10),
               "xlarge": (4, 15), "2xlarge": (4, 15)}
_M1_INTERFACES = {"m1.small": (2, 4), "m1.medium": (2, 6), "m1.large": (3, 10), "m1.xlarge": (4, 15)}


def interface_limits(instance_type: str) -> tuple[int, int]:
    """(network interfaces, IPv4 addresses per interface) an instance of the type takes."""
    return _M1_INTERFACES.get(instance_type) or _INTERFACES[instance_type.split(".", 1)[1]]


def check(instance_type: str) -> tuple[int, int]:
    if instance_type not in TYPES:
        raise AWSError("InvalidParameterValue", f"Invalid value '{instance_type}' for InstanceType.")
    vcpus, memory, _ = TYPES[instance_type]
    return vcpus, memory


def is_xen(instance_type: str) -> bool:
    return instance_type.split(".", 1)[0] in _XEN


def cpu(instance_type: str) -> tuple[int, int]:
    """(cores, threads per core) of the type: Xen types have one thread per core."""
    vcpus = TYPES[instance_type][0]
    if is_xen(instance_type) or vcpus == 1:
        return vcpus, 1
    return vcpus // 2, 2


def boot_modes(instance_type: str) -> list[str]:
    return ["legacy-bios"] if is_xen(instance_type) else ["legacy-bios", "uefi"]


def ebs_optimized_support(instance_type: str) -> str:
    if not is_xen(instance_type):
        return "default"
    return "supported" if instance_type in _EBS_OPTIMIZABLE else "unsupported"


def _info(name: str) -> dict:
    vcpus, memory, burstable = TYPES[name]
    cores, threads = cpu(name)
    previous = name.split(".", 1)[0] in _PREVIOUS
    return {"InstanceType": name, "CurrentGeneration": not previous, "FreeTierEligible":
            name in ("t2.micro", "t3.micro"), "SupportedUsageClasses": ["on-demand"],
            "SupportedRootDeviceTypes": ["ebs"], "BareMetal": False,
            "SupportedVirtualizationTypes": ["hvm", "paravirtual"] if previous else ["hvm"],
            "Hypervisor": "xen" if is_xen(name) else "nitro", "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
            "VCpuInfo": {"DefaultVCpus": vcpus, "DefaultCores": cores, "DefaultThreadsPerCore": threads},
            "MemoryInfo": {"SizeInMiB": memory}, "EbsInfo": {"EbsOptimizedSupport": ebs_optimized_support(name)},
            "InstanceStorageSupported": name in STORE_GB, **({"InstanceStorageInfo": {
                "TotalSizeInGB": STORE_GB[name], "Disks": [{"SizeInGB": STORE_GB[name], "Count": 1, "Type": "ssd"}],
                "NvmeSupport": "required"}} if name in STORE_GB else {}),
            "NetworkInfo": {"MaximumNetworkInterfaces": interface_limits(name)[0], "MaximumNetworkCards": 1,
                            "EnaSupport": "unsupported" if is_xen(name) else "required",
                            "Ipv4AddressesPerInterface": interface_limits(name)[1], "Ipv6Supported": False,
                            "NetworkCards": [{"NetworkCardIndex": 0,
                                              "MaximumNetworkInterfaces": interface_limits(name)[0]}]},
            "BurstablePerformanceSupported": burstable,
            "HibernationSupported": False, "SupportedBootModes": boot_modes(name)}


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
