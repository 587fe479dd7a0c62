"""AWS's public parameters, as this cloud has them: the names scripts look AMIs up by,
resolved read-only, in every account and region, to the built-in AMIs (services/ec2/images.py
and bootstrap/amis.py: `cloudlet-debian`, Debian 12 with OpenSSH and sudo, and
`cloudlet-busybox`, busybox and Dropbear, booting in about a second).

The mapping: a distribution's full image is the Debian AMI, its minimal image the busybox
one. Only x86_64 names are here (cloudlet runs x86_64 guests only); a name not in the
table is ParameterNotFound, as on AWS for a name that does not exist.

    /aws/service/ami-amazon-linux-latest/
        al2023-ami-kernel-{default,6.1,6.12}-x86_64                      debian
        al2023-ami-minimal-kernel-{default,6.1,6.12}-x86_64              busybox
        amzn2-ami-hvm-x86_64-{gp2,ebs}                                   debian
        amzn2-ami-kernel-{default,4.14,5.10}-hvm-x86_64-{gp2,ebs}        debian
        amzn2-ami-minimal-hvm-x86_64-ebs                                 busybox
        amzn2-ami-minimal-kernel-{default,5.10}-hvm-x86_64-gp2           busybox
        amzn2-ami-minimal-kernel-4.14-hvm-x86_64-ebs                     busybox
        amzn-ami-hvm-x86_64-{gp2,ebs}                                    debian
        amzn-ami-minimal-hvm-x86_64-ebs                                  busybox
    /aws/service/ecs/optimized-ami/{amazon-linux-2023,amazon-linux-2,amazon-linux-2/kernel-5.10}/
        recommended              ECS's JSON: image_id, image_name, image_version, os,
                                 ecs_agent_version, ecs_runtime_version, schema_version,
                                 source_image_name (of the Debian AMI, as it is)
        recommended/{image_id,image_name,image_version,source_image_name}
                                                                         debian
    /aws/service/debian/release/{12,bookworm}/latest/amd64               debian
    /aws/service/canonical/ubuntu/server/{20.04,focal,22.04,jammy}/stable/current/amd64/hvm/ebs-gp2/ami-id
    /aws/service/canonical/ubuntu/server/{24.04,noble}/stable/current/amd64/hvm/ebs-gp3/ami-id
                                                                         debian

Each is a String parameter of version 1, its ARN without an account
(arn:aws:ssm:<region>::parameter/aws/service/...), DataType aws:ec2:image where AWS gives
its own (Debian's and Canonical's AMI ids), text elsewhere (Amazon Linux and ECS, as AWS).
"""

from __future__ import annotations

import json

from cloudlet.services.ec2.images import builtin
from cloudlet.services.ecs.instances import AGENT

PUBLISHED = "2026-11-26T00:00:00+00:00"  # the built-in AMIs' CreationDate


def _expand(pattern: str) -> list[str]:
    """"a{b,c}d{e,f}" -> abde, abdf, acde, acdf"""
    head, brace, rest = pattern.partition("{")
    if not brace:
        return [pattern]
    options, _, tail = rest.partition("}")
    return [head + option + more for option in options.split(",") for more in _expand(tail)]


_AL = "/aws/service/ami-amazon-linux-latest/"
_UBUNTU = "/aws/service/canonical/ubuntu/server/"
_AMIS = {  # name pattern -> (built-in AMI, DataType)
    _AL + "al2023-ami-kernel-{default,6.1,6.12}-x86_64": ("debian", "text"),
    _AL + "al2023-ami-minimal-kernel-{default,6.1,6.12}-x86_64": ("busybox", "text"),
    _AL + "amzn2-ami-hvm-x86_64-{gp2,ebs}": ("debian", "text"),
    _AL + "amzn2-ami-kernel-{default,4.14,5.10}-hvm-x86_64-{gp2,ebs}": ("debian", "text"),
    _AL + "amzn2-ami-minimal-hvm-x86_64-ebs": ("busybox", "text"),
    _AL + "amzn2-ami-minimal-kernel-{default,5.10}-hvm-x86_64-gp2": ("busybox", "text"),
    _AL + "amzn2-ami-minimal-kernel-4.14-hvm-x86_64-ebs": ("busybox", "text"),
    _AL + "amzn-ami-hvm-x86_64-{gp2,ebs}": ("debian", "text"),
    _AL + "amzn-ami-minimal-hvm-x86_64-ebs": ("busybox", "text"),
    "/aws/service/debian/release/{12,bookworm}/latest/amd64": ("debian", "aws:ec2:image"),
    _UBUNTU + "{20.04,focal,22.04,jammy}/stable/current/amd64/hvm/ebs-gp2/ami-id": ("debian", "aws:ec2:image"),
    _UBUNTU + "{24.04,noble}/stable/current/amd64/hvm/ebs-gp3/ami-id": ("debian", "aws:ec2:image"),
}
_ECS = "/aws/service/ecs/optimized-ami/{amazon-linux-2023,amazon-linux-2,amazon-linux-2/kernel-5.10}/recommended"
_ECS_FIELDS = ("image_id", "image_name", "image_version", "source_image_name")


def _ecs_metadata(region: str) -> dict:
    ami = {name: image for image, name in builtin(region).items()}["debian"]
    return {"ecs_agent_version": AGENT["agentVersion"], "ecs_runtime_version": AGENT["dockerVersion"],
            "image_id": ami, "image_name": "cloudlet-debian", "image_version": "12", "os": "Debian 12 (bookworm)",
            "schema_version": 1, "source_image_name": "cloudlet-debian"}


def parameters(region: str) -> dict[str, tuple[str, str]]:
    """Every public parameter of a region: name -> (value, DataType)."""
    amis = {name: image for image, name in builtin(region).items()}
    out = {name: (amis[ami], data_type) for pattern, (ami, data_type) in _AMIS.items() for name in _expand(pattern)}
    metadata = _ecs_metadata(region)
    for name in _expand(_ECS):
        out[name] = (json.dumps(metadata, sort_keys=True, separators=(",", ":")), "text")
        out.update({f"{name}/{field}": (str(metadata[field]), "text") for field in _ECS_FIELDS})
    return out


def _version(name: str, value: str, data_type: str) -> dict:
    """A public parameter's version 1, in the shape store.parameters gives versions."""
    return {"name": name, "key": name, "type": "String", "value": value, "version": 1, "modified_at": PUBLISHED,
            "modified_by": None, "data_type": data_type, "tier": "Standard", "labels": [], "description": None,
            "key_id": None, "selector": None}


def find(region: str, name: str) -> dict | None:
    name = "/" + name.strip().lstrip("/")
    found = parameters(region).get(name)
    return _version(name, *found) if found else None


def listing(region: str) -> list[dict]:
    return [_version(name, value, data_type) for name, (value, data_type) in parameters(region).items()]
