"""What RunInstances records of how an instance was launched, beyond its network and disks,
as AWS's DescribeInstances shows it: its client token (and AWS's idempotent retries of it),
what it takes from its image (boot mode, platform, ENA), what its type decides (CPU options,
the boot mode it boots in) and the options the request set. An option that asks for what
cloudlet does not do is refused rather than ignored, so that what is shown is true."""

from __future__ import annotations

import hashlib
import json
import uuid

from cloudlet.edge.errors import AWSError

from . import instance_types

MAX_TOKEN = 64  # AWS: "Constraints: Maximum 64 ASCII characters"


def client_token(request: dict) -> str:
    """The request's ClientToken, or a random one (AWS's, when none is given)."""
    token = request.get("ClientToken")
    if not token:
        return str(uuid.uuid4())
    if len(token) > MAX_TOKEN or not token.isascii():
        raise AWSError("InvalidParameterValue", f"Value for parameter clientToken is invalid. A client token is at "
                       f"most {MAX_TOKEN} ASCII characters.")
    return token


def digest(request: dict) -> str:
    """What a retry with the same client token must ask for again."""
    asked = {k: v for k, v in request.items() if k not in ("ClientToken", "DryRun") and v is not None}
    return hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()


def retried(rows: list[dict], token: str, asked: str) -> list[str]:
    """The instances an earlier RunInstances with this client token launched (none: a new
    request); IdempotentParameterMismatch when that one asked for something else."""
    earlier = [(r["instance_id"], body["_run"].get("request_digest")) for r in rows
               for body in [json.loads(r["body"])] if body.get("ClientToken") == token]
    if any(d != asked for _, d in earlier):
        raise AWSError("IdempotentParameterMismatch", "Arguments on this idempotent request are inconsistent with "
                       "arguments used in previous request(s).")
    return [instance_id for instance_id, _ in earlier]


def _refuse_unoffered(request: dict, kind: str) -> None:
    cores, threads = instance_types.cpu(kind)
    asked = request.get("CpuOptions") or {}
    if (asked.get("CoreCount") or cores, asked.get("ThreadsPerCore") or threads) != (cores, threads) or \
            "enabled" in (asked.get("AmdSevSnp"), asked.get("NestedVirtualization")):
        raise AWSError("UnsupportedOperation", f"cloudlet runs a {kind} with its type's CPU options: {cores} "
                       f"core(s), {threads} thread(s) per core, no AMD SEV-SNP or nested virtualization.")
    if (request.get("HibernationOptions") or {}).get("Configured"):
        raise AWSError("UnsupportedHibernationConfiguration", f"The instance type {kind} does not support "
                       "hibernation.")
    if (request.get("EnclaveOptions") or {}).get("Enabled"):
        raise AWSError("UnsupportedOperation", "cloudlet does not run Nitro Enclaves.")
    reservations = request.get("CapacityReservationSpecification") or {}
    if reservations.get("CapacityReservationTarget") or \
            reservations.get("CapacityReservationPreference") == "capacity-reservations-only":
        raise AWSError("UnsupportedOperation", "cloudlet has no Capacity Reservations to launch into.")
    names = request.get("PrivateDnsNameOptions") or {}
    if names.get("HostnameType") not in (None, "ip-name") or names.get("EnableResourceNameDnsARecord") or \
            names.get("EnableResourceNameDnsAAAARecord"):
        raise AWSError("UnsupportedOperation", "cloudlet names instances by their private IP address (ip-name) "
                       "only.")
    if request.get("EbsOptimized") and instance_types.ebs_optimized_support(kind) == "unsupported":
        raise AWSError("Unsupported", "EBS-optimized instances are not supported for your requested configuration.")


def of_type(kind: str, image_mode: str | None) -> dict:
    """What the instance type decides (at launch, and again when ModifyInstanceAttribute changes
    it): its CPU options, and the boot mode an image of this boot mode boots in on it."""
    cores, threads = instance_types.cpu(kind)
    uefi = image_mode in ("uefi", "uefi-preferred") and "uefi" in instance_types.boot_modes(kind)
    return {"CpuOptions": {"CoreCount": cores, "ThreadsPerCore": threads},
            "CurrentInstanceBootMode": "uefi" if uefi else "legacy-bios"}


def fields(request: dict, kind: str, image: dict, launched: str) -> dict:
    """The instance's launch fields of DescribeInstances, from its request, type and image."""
    _refuse_unoffered(request, kind)
    image_mode = image.get("BootMode")
    preference = (request.get("CapacityReservationSpecification") or {}).get("CapacityReservationPreference")
    return {
        "EbsOptimized": bool(request.get("EbsOptimized")), "EnaSupport": bool(image.get("EnaSupport")),
        **({"BootMode": image_mode} if image_mode else {}), **of_type(kind, image_mode),
        "PlatformDetails": image["PlatformDetails"], "UsageOperation": image["UsageOperation"],
        "UsageOperationUpdateTime": launched,
        "HibernationOptions": {"Configured": False}, "EnclaveOptions": {"Enabled": False},
        "MaintenanceOptions": {"AutoRecovery": (request.get("MaintenanceOptions") or {}).get("AutoRecovery")
                               or "default"},
        "CapacityReservationSpecification": {"CapacityReservationPreference": preference or "open"},
        "PrivateDnsNameOptions": {"HostnameType": "ip-name", "EnableResourceNameDnsARecord": False,
                                  "EnableResourceNameDnsAAAARecord": False},
    }
