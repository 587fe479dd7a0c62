"""The instance metadata service, as guests see it at 169.254.169.254 (their VPC's router DNATs
it to this listener, at the host's end of its uplink): the instance is known by the VPC it
asks through (the host address its request arrives at tells the router, so VPCs with the
same addresses are told apart) and the address it asks from. IMDSv2's session
tokens (PUT /latest/api/token) are signed, and a request that presents one must present a
valid one; IMDSv1 requests are answered too, as by default on AWS's older AMIs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from cloudlet.services.common import tags
from cloudlet.store.schema import ec2_instances, key_pairs

MAX_TTL = 21600
log = logging.getLogger("cloudlet.metadata")
DEFAULT_OPTIONS = {"State": "applied", "HttpTokens": "optional", "HttpPutResponseHopLimit": 1,
                   "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled", "InstanceMetadataTags": "disabled"}


def options_of(body: dict) -> dict:
    return body.get("MetadataOptions") or DEFAULT_OPTIONS


class Metadata:
    def __init__(self, store, router_of):
        """router_of(host address) -> the VPC whose router's uplink ends there, or None."""
        self.store = store
        self.router_of = router_of
        self._key = secrets.token_bytes(32)  # tokens live as long as this server does, as IMDS's own

    def _instance(self, address: str | None, vpc: str | None) -> tuple[dict, dict] | None:
        if vpc is None:
            return None  # not through a VPC's router: from a bridge, or the host itself
        with self.store.begin(write=False) as conn:
            # pending too: the guest's init asks while the instance is still booting
            for row in conn.execute(select(ec2_instances).where(ec2_instances.c.state.in_(("pending", "running")))):
                body = json.loads(row.body)
                if body.get("PrivateIpAddress") == address and body.get("VpcId") == vpc:
                    return dict(row._mapping), body
        return None

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def _token_ok(self, token: str, instance_id: str) -> bool:
        expiry, _, signature = token.partition(".")
        return expiry.isdigit() and int(expiry) > time.time() and \
            hmac.compare_digest(signature, self._sign(f"{instance_id}.{expiry}"))

    def handle(self, request: Request) -> Response:
        # not async: Starlette runs a plain function off the event loop, and this one reads the store
        response = self._answer(request)
        if response.status_code >= 400 and response.status_code != 404:
            log.warning("metadata: %s %s from %s refused (%d)", request.method, request.url.path,
                        request.client.host if request.client else None, response.status_code)
        return response

    def _answer(self, request: Request) -> Response:
        local = (request.scope.get("server") or ("", 0))[0]
        found = self._instance(request.client.host if request.client else None, self.router_of(local))
        if found is None:
            return PlainTextResponse("Not Found", 404)
        row, body = found
        options = options_of(body)
        if options["HttpEndpoint"] == "disabled":
            return PlainTextResponse("Forbidden", 403)
        path = request.path_params["path"]
        if request.method == "PUT":
            if path != "api/token":
                return PlainTextResponse("Forbidden", 403)
            ttl = request.headers.get("x-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TTL:
                return PlainTextResponse("Bad Request", 400)
            expiry = int(time.time()) + int(ttl)
            signature = self._sign(f"{row['instance_id']}.{expiry}")
            token = f"{expiry}.{signature}"
            return PlainTextResponse(token, headers={"x-aws-ec2-metadata-token-ttl-seconds": ttl})
        token = request.headers.get("x-aws-ec2-metadata-token")
        if token is None and options["HttpTokens"] == "required" or \
                token is not None and not self._token_ok(token, row["instance_id"]):
            return PlainTextResponse("Unauthorized", 401)
        value = self._lookup(path, row, body)
        return PlainTextResponse("Not Found", 404) if value is None else PlainTextResponse(value)

    def _lookup(self, path: str, row: dict, body: dict) -> str | None:
        if path == "user-data":
            data = body["_run"].get("user_data")
            return base64.b64decode(data).decode(errors="replace") if data else None
        # the name DescribeInstances gives once it runs; the guest asks while it is pending
        hostname = f"ip-{body['PrivateIpAddress'].replace('.', '-')}.{row['region']}.compute.internal"
        values = {
            "instance-id": row["instance_id"], "ami-id": body["ImageId"], "instance-type": body["InstanceType"],
            "local-ipv4": body.get("PrivateIpAddress"), "hostname": hostname, "local-hostname": hostname,
            "placement/availability-zone":
                body["Placement"]["AvailabilityZone"], "placement/region": row["region"],
            "reservation-id": body["_run"]["reservation"], "ami-launch-index": str(body["AmiLaunchIndex"]),
        }
        key = self._public_key(row, body)
        if key:
            values["public-keys/0/openssh-key"] = key
            values["public-keys/"] = f"0={body['KeyName']}"
        if options_of(body)["InstanceMetadataTags"] == "enabled":
            instance_tags = self._tags(row)
            values["tags/instance"] = "\n".join(sorted(instance_tags))
            values.update({f"tags/instance/{k}": v for k, v in instance_tags.items()})
        if path.startswith("meta-data/"):
            name = path[len("meta-data/"):]
            if name == "":
                return "\n".join(sorted({k.split("/")[0] + ("/" if "/" in k else "") for k in values}))
            return values.get(name)
        if path == "dynamic/instance-identity/document":
            return json.dumps({"accountId": row["account_id"], "region": row["region"],
                               "instanceId": row["instance_id"], "imageId": body["ImageId"],
                               "instanceType": body["InstanceType"], "privateIp": body.get("PrivateIpAddress"),
                               "availabilityZone": body["Placement"]["AvailabilityZone"],
                               "pendingTime": body["LaunchTime"], "architecture": "x86_64"}, indent=2)
        return None

    def _tags(self, row: dict) -> dict[str, str]:
        with self.store.scoped(row["account_id"], row["region"], write=False) as db:
            return tags.get(db, row["instance_id"])

    def _public_key(self, row: dict, body: dict) -> str | None:
        if not body.get("KeyName"):
            return None
        with self.store.scoped(row["account_id"], row["region"], write=False) as db:
            key = db.one(key_pairs, key_pairs.c.key_name == body["KeyName"])
        return key["public_key"] if key else None
