"""`cloudlet ecs register-task-definition FILE`: task definitions as the ECS console's JSON
editor writes them, numbers in quotes included, which the stock AWS CLI refuses before
sending. Each string is turned into a number exactly where ECS's model wants an integer
(and each number into a string where it wants one, as task-level cpu and memory), then the
definition is registered through the API like any client would."""

import json
import re

import click

from cloudlet.cli import aws

_INTEGER = re.compile(r"^-?\d+$")


def coerce(shape, value):
    """value, with numeric strings and numbers swapped where the botocore shape says so."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: coerce(shape.members[k], v) if k in shape.members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [coerce(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: coerce(shape.value, v) for k, v in value.items()}
    if kind in ("integer", "long") and isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value)
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def register(path, profile: str | None, region: str | None, endpoint_url: str | None) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        document = json.load(path)
    except ValueError as e:
        raise click.UsageError(f"{path.name} is not JSON: {e}") from None
    document = document.get("taskDefinition", document)  # `describe-task-definition` output, too
    client = aws.client("ecs", profile, region, endpoint_url)
    shape = client.meta.service_model.operation_model("RegisterTaskDefinition").input_shape
    wanted = {k: v for k, v in document.items() if k in shape.members}  # drop read-only fields
    try:
        result = client.register_task_definition(**coerce(shape, wanted))
    except (ClientError, BotoCoreError) as e:
        click.echo(f"cloudlet: {e}", err=True)
        raise SystemExit(254) from None
    result.pop("ResponseMetadata", None)
    click.echo(json.dumps(result, indent=4, default=str))
