"""`cloudlet ssh INSTANCE [COMMAND]...`: SSH to an instance by its id, with its key pair's
private key (<KeyName>.pem here, by default) as the user its AMI's init names on the
console. Host keys are not recorded: addresses are reused by every new instance.

On the host itself (as root, with the engine's state at hand) ssh runs inside the
instance's VPC router's network namespace, from where every address of the VPC is near,
even in a VPC whose range another VPC of this host has too (the host routes to none of
those); elsewhere it connects to the instance's private address as any client would."""

import os
import re
from pathlib import Path

import click

from cloudlet.cli import aws

_LOGIN = re.compile(r"cloudlet-init: the key pair logs in as (\S+)")


def _fail(message: str):
    click.echo(f"cloudlet: {message}", err=True)
    raise SystemExit(254)


def _router_netns(data_dir, vpc_id: str | None) -> list[str]:
    """The command prefix that runs inside the VPC's router, when this host has it."""
    if os.geteuid() != 0 or not vpc_id:
        return []
    from cloudlet.config import default_data_dir, engine_dir

    net = engine_dir(Path(data_dir) if data_dir else default_data_dir()) / "net"
    if not (net / "settings.json").is_file():
        return []
    from cloudlet.agent.network import Networks

    routers = Networks(net).routers
    index = routers.index(vpc_id)
    path = Path("/run/netns", routers.netns(index)) if index is not None else None
    return ["nsenter", f"--net={path}", "--"] if path and path.exists() else []


def ssh(instance_id: str, key: str | None, login: str | None, command: tuple[str, ...], profile: str | None,
        region: str | None, endpoint_url: str | None, data_dir=None) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    ec2 = aws.client("ec2", profile, region, endpoint_url)
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        instance = reservations[0]["Instances"][0]
        if instance["State"]["Name"] != "running":
            _fail(f"{instance_id} is {instance['State']['Name']}, not running")
        if login is None:
            found = _LOGIN.findall(ec2.get_console_output(InstanceId=instance_id).get("Output", ""))
            if not found:
                _fail(f"{instance_id}'s console does not say who logs in (no key pair?): pass --login")
            login = found[-1]
    except (ClientError, BotoCoreError) as e:
        _fail(str(e))
    if key is None:
        if not instance.get("KeyName"):
            _fail(f"{instance_id} was launched without a key pair: pass --identity")
        key = f"{instance['KeyName']}.pem"
    if not Path(key).is_file():
        _fail(f"no private key at {key}: pass --identity")
    args = [*_router_netns(data_dir, instance.get("VpcId")), "ssh", "-i", key, "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"{login}@{instance['PrivateIpAddress']}",
            *command]
    os.execvp(args[0], args)
