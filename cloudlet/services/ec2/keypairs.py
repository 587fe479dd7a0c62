"""EC2 key pairs. The private half is returned once by CreateKeyPair and never stored."""

from datetime import datetime, timezone

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters, tags
from cloudlet.services.ec2 import keymaterial
from cloudlet.store.schema import key_pairs as table

RESOURCE_TYPE = "key-pair"


def _exists(db, key_pair_id: str) -> bool:
    return db.one(table, table.c.key_pair_id == key_pair_id) is not None


tags.register(tags.ResourceKind("key", RESOURCE_TYPE, _exists, "InvalidKeyPairId.NotFound"))


def _check_name(name: str) -> None:
    # AWS: up to 255 ASCII characters.
    if not name or len(name) > 255 or not name.isascii():
        raise AWSError("InvalidParameterValue", f"Value ({name}) for parameter keyName is invalid. "
                       "Expecting up to 255 ASCII characters.")


class KeyPairs:
    def _store_key(self, ctx, request, key_type: str, fingerprint: str, public_key: str) -> dict:
        name = request["KeyName"]
        _check_name(name)
        key_id = ids.resource_id("key")
        with ctx.write() as db:
            if db.one(table, table.c.key_name == name):
                raise AWSError("InvalidKeyPair.Duplicate", f"The keypair '{name}' already exists.")
            db.insert(table, key_name=name, key_pair_id=key_id, key_type=key_type, fingerprint=fingerprint,
                      public_key=public_key, created_at=datetime.now(timezone.utc).isoformat())
            applied = tags.apply_specifications(db, request.get("TagSpecifications"), RESOURCE_TYPE, key_id,
                                                allowed=(RESOURCE_TYPE,))
        return {"KeyName": name, "KeyPairId": key_id, "KeyFingerprint": fingerprint,
                "Tags": tags.to_pairs(applied) or None}

    def create_key_pair(self, ctx, request):
        new = keymaterial.create(request.get("KeyType") or "rsa", request.get("KeyFormat") or "pem")
        result = self._store_key(ctx, request, new.key_type, new.fingerprint, new.public_openssh)
        return {**result, "KeyMaterial": new.private_material}

    def import_key_pair(self, ctx, request):
        public, fingerprint, key_type = keymaterial.import_public(request["PublicKeyMaterial"])
        return self._store_key(ctx, request, key_type, fingerprint, public)

    def describe_key_pairs(self, ctx, request):
        names, key_ids = request.get("KeyNames") or [], request.get("KeyPairIds") or []
        with ctx.read() as db:
            rows = db.select(table, order_by=table.c.key_name)
            tag_map = tags.get_many(db, [r["key_pair_id"] for r in rows])
        for wanted, field, what in ((names, "key_name", "key pair"), (key_ids, "key_pair_id", "key pair ID")):
            known = {r[field] for r in rows}
            missing = [w for w in wanted if w not in known]
            if missing:
                code = "InvalidKeyPair.NotFound"
                raise AWSError(code, f"The {what} '{missing[0]}' does not exist")
            if wanted:
                rows = [r for r in rows if r[field] in wanted]
        getters = {
            "key-pair-id": lambda r: r["key_pair_id"],
            "key-name": lambda r: r["key_name"],
            "fingerprint": lambda r: r["fingerprint"],
            "key-type": lambda r: r["key_type"],
        }
        rows = filters.apply(rows, request.get("Filters"), getters, lambda r: tag_map[r["key_pair_id"]])
        include_public = bool(request.get("IncludePublicKey"))
        return {"KeyPairs": [
            {
                "KeyPairId": r["key_pair_id"],
                "KeyName": r["key_name"],
                "KeyFingerprint": r["fingerprint"],
                "KeyType": r["key_type"],
                "Tags": tags.to_pairs(tag_map[r["key_pair_id"]]),
                "CreateTime": datetime.fromisoformat(r["created_at"]),
                # AWS hands the key back with the key pair's name as its OpenSSH comment.
                "PublicKey": f"{r['public_key']} {r['key_name']}" if include_public else None,
            }
            for r in rows
        ]}

    def delete_key_pair(self, ctx, request):
        name, key_id = request.get("KeyName"), request.get("KeyPairId")
        if not name and not key_id:
            raise AWSError("MissingParameter", "The request must contain the parameter KeyName or KeyPairId")
        with ctx.write() as db:
            where = table.c.key_name == name if name else table.c.key_pair_id == key_id
            row = db.one(table, where)
            if row is None and key_id:
                # Deleting by a name that does not exist succeeds on AWS; by an unknown ID it does not.
                raise AWSError("InvalidKeyPair.NotFound", f"The key pair ID '{key_id}' does not exist")
            if row:
                db.delete(table, table.c.key_pair_id == row["key_pair_id"])
                tags.drop_resource(db, row["key_pair_id"])
        return {"Return": True, "KeyPairId": row["key_pair_id"] if row else None}
