"""ECR's registry-wide settings (one registry per account and region): its policy, its
replication configuration (which Replication follows on push) and its
scanning configuration (which Scans honours on push)."""

import json

from cloudlet.edge.errors import AWSError
from cloudlet.store.schema import ecr_registry_settings as table

from .policy_text import check_policy
from .registry_rules import check_replication, check_scanning

POLICY, REPLICATION, SCANNING = "policy", "replication", "scanning"
DEFAULTS = {REPLICATION: {"rules": []}, SCANNING: {"scanType": "BASIC", "rules": []}}


def setting(db, kind: str):
    """The registry's policy text (None without one), or its replication or scanning configuration."""
    row = db.one(table, table.c.kind == kind)
    if kind == POLICY:
        return row and row["body"]
    return json.loads(row["body"]) if row else DEFAULTS[kind]


def _put(db, kind: str, body: str) -> None:
    db.delete(table, table.c.kind == kind)
    db.insert(table, kind=kind, body=body)


class RegistrySettings:
    def _registry_policy(self, ctx, *, delete: bool = False) -> dict:
        with (ctx.write() if delete else ctx.read()) as db:
            text = setting(db, POLICY)
            if text is None:
                raise AWSError("RegistryPolicyNotFoundException", f"Registry policy does not exist in the registry "
                               f"with id '{ctx.account_id}'")
            if delete:
                db.delete(table, table.c.kind == POLICY)
        return {"registryId": ctx.account_id, "policyText": text}

    def put_registry_policy(self, ctx, request):
        text = request["policyText"]
        check_policy(text, "registry")
        with ctx.write() as db:
            _put(db, POLICY, text)
        return {"registryId": ctx.account_id, "policyText": text}

    def get_registry_policy(self, ctx, request):
        return self._registry_policy(ctx)

    def delete_registry_policy(self, ctx, request):
        return self._registry_policy(ctx, delete=True)

    def describe_registry(self, ctx, request):
        with ctx.read() as db:
            return {"registryId": ctx.account_id, "replicationConfiguration": setting(db, REPLICATION)}

    def put_replication_configuration(self, ctx, request):
        config = request["replicationConfiguration"]
        check_replication(ctx, config)
        with ctx.write() as db:
            _put(db, REPLICATION, json.dumps(config))
        return {"replicationConfiguration": config}

    def put_registry_scanning_configuration(self, ctx, request):
        config = {"scanType": request.get("scanType") or "BASIC", "rules": request.get("rules") or []}
        check_scanning(config["scanType"], config["rules"])
        with ctx.write() as db:
            _put(db, SCANNING, json.dumps(config))
        return {"registryScanningConfiguration": config}

    def get_registry_scanning_configuration(self, ctx, request):
        with ctx.read() as db:
            return {"registryId": ctx.account_id, "scanningConfiguration": setting(db, SCANNING)}
