"""Which ECS resource a tagging ARN names, with ECS's errors when it names none: tags of a
missing cluster are ClusterNotFoundException, of a missing service ServiceNotFoundException, of
anything else missing InvalidParameterException.
An ARN of another account or region names nothing here, whether it exists there or not."""

import json
import re

from cloudlet.edge.errors import AWSError
from cloudlet.store.schema import ecs_task_definitions, ecs_tasks

from .capacity_providers import active
from .common import find_cluster, find_service, invalid

_ARN = re.compile(r"arn:aws:ecs:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):(?P<kind>cluster|service|task|"
                  r"task-definition|capacity-provider|task-set)/(?P<path>[^\s]+)")


def tagged_resource_type(db, arn: str) -> str:
    match = _ARN.fullmatch(arn)
    if match is None:
        raise invalid("The specified resource is not valid.")
    kind, path = match["kind"], match["path"]
    ours = (match["account"], match["region"]) == (db.account_id, db.region)
    if kind == "cluster":
        if not ours:
            raise AWSError("ClusterNotFoundException", "Cluster not found.")
        find_cluster(db, path)
    elif kind == "service":
        cluster, _, name = path.rpartition("/")
        if not ours or not cluster:
            raise AWSError("ServiceNotFoundException", "Service not found.")
        find_service(db, find_cluster(db, cluster)["name"], name)
    elif kind == "task-set":
        cluster, service, set_id = (path.split("/") + ["", "", ""])[:3]
        if not ours or not service:
            raise AWSError("ServiceNotFoundException", "Service not found.")
        body = json.loads(find_service(db, find_cluster(db, cluster)["name"], service)["body"])
        if not any(s["taskSetArn"] == arn for s in body.get("taskSets", [])):
            raise invalid("The specified resource is not valid.")
    elif kind == "capacity-provider":
        if not ours or active(db, path) is None:
            raise invalid("The specified resource is not valid.")
    elif not ours or (db.one(ecs_tasks, ecs_tasks.c.task_id == path.rpartition("/")[2]) if kind == "task" else
                      db.one(ecs_task_definitions, ecs_task_definitions.c.arn == arn)) is None:
        raise invalid("The specified resource is not valid.")
    return kind
