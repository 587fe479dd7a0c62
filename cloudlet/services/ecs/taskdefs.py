"""ECS task definitions: families of numbered revisions, registered, described, listed,
deregistered (INACTIVE: still described, no longer run) and deleted."""

import json

from sqlalchemy import func, select

from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.services.common import pagination, tags
from cloudlet.store.schema import ecs_task_definitions as table

from . import validation
from .common import client_error


# A family has up to 255 characters, so a longer prefix names none: refused as ECS refuses a family
# that long.
_MAX_FAMILY = 255


def _family_prefix(request) -> str:
    prefix = request.get("familyPrefix") or ""
    if len(prefix) > _MAX_FAMILY:
        raise client_error(f"familyPrefix is too long: a task definition family has up to {_MAX_FAMILY} letters "
                           "(uppercase and lowercase), numbers, hyphens and underscores.")
    return prefix


def parse_ref(ref: str) -> tuple[str, int | None]:
    """family, family:revision or a task definition ARN -> (family, revision or None)."""
    if ref.startswith("arn:"):
        ref = ref.split(":task-definition/", 1)[-1]
    family, sep, revision = ref.partition(":")
    if sep and not revision.isdigit():
        raise client_error(f"Invalid revision number. Number: {revision}")
    return family, int(revision) if sep else None


def find(db, ref: str, *, active_only: bool = False) -> dict:
    """A revision's row; without a revision, the family's latest ACTIVE one."""
    family, revision = parse_ref(ref)
    if revision is None:
        rows = db.select(table, table.c.family == family, table.c.status == "ACTIVE", order_by=table.c.revision.desc(),
                         limit=1)
        row = rows[0] if rows else None
    else:
        row = db.one(table, table.c.family == family, table.c.revision == revision)
    if row is None or row["status"] == "DELETE_IN_PROGRESS" or (active_only and row["status"] != "ACTIVE"):
        raise client_error("Unable to describe task definition." if not active_only else
                           f"TaskDefinition is inactive or does not exist: {ref}")
    return row


class TaskDefinitions:
    def register_task_definition(self, ctx, request):
        body = validation.check(request)
        pairs = tags.from_pairs(request.get("tags"), "key", "value")
        with ctx.write() as db:
            latest = db.conn.execute(select(func.max(table.c.revision)).where(
                table.c.account_id == ctx.account_id, table.c.region == ctx.region,
                table.c.family == body["family"])).scalar() or 0
            revision = latest + 1
            arn = ctx.arn("ecs", f"task-definition/{body['family']}:{revision}")
            body.update(taskDefinitionArn=arn, revision=revision, status="ACTIVE", registeredAt=now(),
                        registeredBy=ctx.caller_arn)
            db.insert(table, family=body["family"], revision=revision, arn=arn, status="ACTIVE", body=json.dumps(body))
            if pairs:
                tags.put(db, arn, "task-definition", pairs)
        return {"taskDefinition": body, "tags": tags.to_pairs(pairs, "key", "value")}

    def describe_task_definition(self, ctx, request):
        with ctx.read() as db:
            row = find(db, request["taskDefinition"])
            out = {"taskDefinition": json.loads(row["body"])}
            if "TAGS" in (request.get("include") or []):
                out["tags"] = tags.to_pairs(tags.get(db, row["arn"]), "key", "value")
        return out

    def list_task_definitions(self, ctx, request):
        status = request.get("status") or "ACTIVE"
        where = [table.c.status == status]
        family = _family_prefix(request)
        if family:  # despite its name, ListTaskDefinitions' familyPrefix is a whole family name, as ECS has it
            where.append(table.c.family == family)
        with ctx.read() as db:
            rows = db.select(table, *where)
        descending = request.get("sort") == "DESC"
        key = (lambda r: (r["family"], -r["revision"])) if descending else (lambda r: (r["family"], r["revision"]))
        page, token = pagination.page(rows, key, request.get("nextToken"), request.get("maxResults"), default=100,
                                      maximum=100)
        return {"taskDefinitionArns": [r["arn"] for r in page], "nextToken": token}

    def list_task_definition_families(self, ctx, request):
        status = request.get("status") or "ACTIVE"
        prefix = _family_prefix(request)
        with ctx.read() as db:
            rows = db.select(table)
        families = {}
        for r in rows:
            families.setdefault(r["family"], set()).add(r["status"])
        names = [f for f, states in families.items()
                 if (status == "ALL" or status in states) and f.startswith(prefix)]
        page, token = pagination.page(names, lambda f: f, request.get("nextToken"), request.get("maxResults"),
                                      default=100, maximum=100)
        return {"families": page, "nextToken": token}

    def _set_status(self, db, row: dict, status: str, stamp: str) -> dict:
        body = {**json.loads(row["body"]), "status": status, stamp: now()}
        db.update(table, table.c.family == row["family"], table.c.revision == row["revision"], status=status,
                  body=json.dumps(body))
        return body

    def deregister_task_definition(self, ctx, request):
        family, revision = parse_ref(request["taskDefinition"])
        if revision is None:
            raise client_error("Invalid revision number. A revision is required to deregister a task definition.")
        with ctx.write() as db:
            row = find(db, request["taskDefinition"])
            body = json.loads(row["body"]) if row["status"] == "INACTIVE" else \
                self._set_status(db, row, "INACTIVE", "deregisteredAt")
        return {"taskDefinition": body}

    def delete_task_definitions(self, ctx, request):
        deleted, failures = [], []
        with ctx.write() as db:
            for ref in request["taskDefinitions"]:
                try:
                    row = find(db, ref)
                    if parse_ref(ref)[1] is None:
                        raise client_error("A revision is required.")
                except AWSError as e:
                    failures.append({"arn": ref, "reason": e.message})
                    continue
                if row["status"] == "ACTIVE":
                    failures.append({"arn": row["arn"], "reason": "The specified task definition is still in "
                                     "ACTIVE status. Please deregister the target and try again."})
                    continue
                deleted.append(self._set_status(db, row, "DELETE_IN_PROGRESS", "deleteRequestedAt"))
        return {"taskDefinitions": deleted, "failures": failures}
