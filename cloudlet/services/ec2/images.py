"""AMIs: the built-in ones this host makes from Debian packages (for now the busybox AMI:
Debian's cloud kernel and a busybox initramfs, the fastest to boot), per region."""

import hashlib

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters

OWNER_ID = "000000000000"  # the built-in AMIs' owner, shown with the alias "amazon"
BUILTIN = {"busybox": "cloudlet busybox: Debian's cloud kernel and a busybox initramfs (boots in about a second)"}


def image_id(region: str, name: str) -> str:
    return "ami-" + hashlib.sha256(f"{region}/{name}".encode()).hexdigest()[:17]


def builtin(region: str) -> dict[str, str]:
    """image id -> built-in AMI name."""
    return {image_id(region, name): name for name in BUILTIN}


def find(region: str, ami: str) -> str:
    """The built-in AMI an image id names, or AWS's error."""
    name = builtin(region).get(ami)
    if name is None:
        if not ami.startswith("ami-"):
            raise AWSError("InvalidAMIID.Malformed", f"Invalid id: \"{ami}\" (expecting \"ami-...\")")
        raise AWSError("InvalidAMIID.NotFound", f"The image id '[{ami}]' does not exist")
    return name


class Images:
    def describe_images(self, ctx, request):
        owners, ids = request.get("Owners") or [], request.get("ImageIds") or []
        for ami in ids:
            find(ctx.region, ami)
        images = [{"ImageId": ami, "Name": f"cloudlet-{name}", "Description": BUILTIN[name], "State": "available",
                   "OwnerId": OWNER_ID, "ImageOwnerAlias": "amazon", "Public": True, "Architecture": "x86_64",
                   "ImageType": "machine", "RootDeviceType": "ebs", "RootDeviceName": "/dev/xvda",
                   "VirtualizationType": "hvm", "Hypervisor": "xen", "EnaSupport": True, "BootMode": "uefi-preferred",
                   "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances",
                   "CreationDate": "2026-11-26T00:00:00.000Z", "ImageLocation": f"amazon/cloudlet-{name}",
                   "BlockDeviceMappings": []}
                  for ami, name in builtin(ctx.region).items()
                  if (not ids or ami in ids) and (not owners or {"amazon", OWNER_ID} & set(owners))]
        getters = {"name": lambda i: i["Name"], "image-id": lambda i: i["ImageId"], "state": lambda i: i["State"],
                   "architecture": lambda i: i["Architecture"], "owner-alias": lambda i: i["ImageOwnerAlias"],
                   "is-public": lambda i: i["Public"]}
        return {"Images": filters.apply(images, request.get("Filters"), getters)}
