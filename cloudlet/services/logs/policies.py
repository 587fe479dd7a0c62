"""CloudWatch Logs resource policies: PutResourcePolicy, DescribeResourcePolicies and
DeleteResourcePolicy. An account-scoped policy (no resourceArn) is named, at most 10 to an
account and region; a resource-scoped one is the policy of one log group, changed only by a
caller that names its current revisionId (expectedRevisionId), as AWS guards it against
concurrent writers. Documents are kept as given once they parse as a JSON object.

Nothing here grants anything: cloudlet's principals are its accounts' own users, and no AWS
service delivers logs on another's behalf, so a policy is stored and shown, as AWS shows it."""

from __future__ import annotations

import json
import secrets

from cloudlet.edge.errors import AWSError
from cloudlet.store import log_objects
from cloudlet.store import logs as store_logs
from cloudlet.store.log_objects import POLICY

from .errors import invalid
from .paging import page

MAX_POLICIES = 10  # account-scoped, per account and region
MAX_DOCUMENT = 5120  # characters
MAX_NAME = 255
ACCOUNT = ""  # the log_group of an account-scoped policy


def _document(text: str | None) -> str:
    if not text:
        raise invalid("policyDocument is required.")
    if len(text) > MAX_DOCUMENT:
        raise invalid(f"The policyDocument is {len(text)} characters long; a resource policy holds at most "
                       f"{MAX_DOCUMENT}.")
    try:
        parsed = json.loads(text)
    except ValueError:
        raise invalid("The policyDocument is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise invalid("The policyDocument must be a JSON object.")
    return text


def _name(request) -> str:
    name = request.get("policyName") or ""
    if not 1 <= len(name) <= MAX_NAME:
        raise invalid(f"policyName must hold 1 to {MAX_NAME} characters.")
    return name


def _check_revision(current: dict | None, expected: str | None) -> None:
    if (current or {}).get("revisionId") != expected:
        raise AWSError("OperationAbortedException", "The expectedRevisionId does not match the resource "
                       "policy's current revisionId." if current else "There is no resource policy with the "
                       "expectedRevisionId on this resource.")


class ResourcePoliciesAPI:
    """The resource policy operations of the Logs provider (uses TaggingAPI's _arn_group)."""

    def _scope(self, ctx, db, request) -> tuple[str, str]:
        """(log_group, name) of the policy a request names: the account's, or a group's."""
        if request.get("resourceArn"):
            arn = self._arn_group(ctx, db, request["resourceArn"])
            return arn.split(":log-group:", 1)[1], request.get("policyName") or ""
        return ACCOUNT, _name(request)

    def put_resource_policy(self, ctx, request):
        document = _document(request.get("policyDocument"))
        with ctx.write() as db:
            group, name = self._scope(ctx, db, request)
            current = log_objects.get(db, POLICY, group, name) if group == ACCOUNT else \
                next(iter(log_objects.listed(db, POLICY, group)), None)
            if group != ACCOUNT:
                _check_revision(current, request.get("expectedRevisionId"))
                log_objects.delete(db, POLICY, group)  # a group has one policy, whatever its name
            elif current is None and log_objects.count(db, POLICY, ACCOUNT) >= MAX_POLICIES:
                raise AWSError("LimitExceededException", "Resource limit exceeded.")
            body = {"policyName": name, "policyDocument": document, "lastUpdatedTime": store_logs.now_ms(),
                    "policyScope": "ACCOUNT" if group == ACCOUNT else "RESOURCE",
                    "revisionId": secrets.token_hex(16)}
            if group != ACCOUNT:
                body["resourceArn"] = request["resourceArn"]
            log_objects.put(db, POLICY, group, name, body["lastUpdatedTime"], body)
        return {"resourcePolicy": body, "revisionId": body["revisionId"]}

    def describe_resource_policies(self, ctx, request):
        with ctx.read() as db:
            if request.get("resourceArn"):
                group = self._scope(ctx, db, request)[0]
            else:
                group = ACCOUNT if request.get("policyScope") != "RESOURCE" else None
            policies = log_objects.listed(db, POLICY, group)
        if group is None:  # every group's policy
            policies = [p for p in policies if p["policyScope"] == "RESOURCE"]
        found, token = page(policies, lambda p: (p.get("resourceArn", ""), p["policyName"]), request)
        return {"resourcePolicies": found, "nextToken": token}

    def delete_resource_policy(self, ctx, request):
        with ctx.write() as db:
            group, name = self._scope(ctx, db, request)
            if group != ACCOUNT:
                current = next(iter(log_objects.listed(db, POLICY, group)), None)
                if current and request.get("expectedRevisionId"):
                    _check_revision(current, request["expectedRevisionId"])
                found = log_objects.delete(db, POLICY, group)
            else:
                found = log_objects.delete(db, POLICY, ACCOUNT, name)
            if not found:
                raise AWSError("ResourceNotFoundException", f"Policy with name [{name}] does not exist.")
        return {}
