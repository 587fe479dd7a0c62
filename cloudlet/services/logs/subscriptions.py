"""CloudWatch Logs subscription filters: PutSubscriptionFilter, DescribeSubscriptionFilters and
DeleteSubscriptionFilter, checked as AWS checks them (the filter pattern in the language of
patterns.py, at most two filters to a log group, the destination an ARN of a service a
subscription delivers to) and stored as DescribeSubscriptionFilters shows them.

Decisions where cloudlet differs: it runs no Kinesis, Firehose or Lambda, so nothing is
delivered, and the destination is checked for its shape and place (the caller's region; the
caller's account, but for a Logs destination, which may be another account's) and not for
being there, where AWS would send it a test message."""

from __future__ import annotations

import re

from cloudlet.edge.errors import AWSError
from cloudlet.store import log_objects
from cloudlet.store import logs as store_logs
from cloudlet.store.log_objects import SUBSCRIPTION_FILTER

from .errors import as_aws, invalid
from .paging import page
from .patterns import compile_pattern

MAX_FILTERS = 2  # per log group
_DESTINATION = re.compile(r"arn:aws[a-z-]*:(kinesis|firehose|lambda|logs):([a-z0-9-]+):(\d{12}):(.+)")
_DESTINATION_RESOURCE = {"kinesis": "stream/", "firehose": "deliverystream/", "lambda": "function:",
                         "logs": "destination:"}
_ROLE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
SYSTEM_FIELDS = ("@aws.account", "@aws.region")


def _destination(ctx, arn: str) -> str:
    match = _DESTINATION.fullmatch(arn)
    if match is None or not match[4].startswith(_DESTINATION_RESOURCE[match[1]]) or \
            len(match[4]) == len(_DESTINATION_RESOURCE[match[1]]):
        raise invalid(f"Invalid destinationArn: {arn} is not the ARN of a Kinesis stream, Firehose delivery "
                       "stream, Lambda function or CloudWatch Logs destination.")
    if match[2] != ctx.region:
        raise invalid("The destination must be in the same region as the log group.")
    if match[1] != "logs" and match[3] != ctx.account_id:
        raise invalid("A destination in another account must be a CloudWatch Logs destination.")
    return arn


def _filter_body(ctx, request) -> dict:
    compile_pattern(request["filterPattern"], "Invalid subscription filter pattern")
    body = {"filterName": request["filterName"], "logGroupName": request["logGroupName"],
            "filterPattern": request["filterPattern"], "destinationArn": _destination(ctx, request["destinationArn"]),
            "distribution": request.get("distribution") or "ByLogStream",
            "applyOnTransformedLogs": bool(request.get("applyOnTransformedLogs"))}
    if request.get("roleArn"):
        if not _ROLE.fullmatch(request["roleArn"]):
            raise invalid(f"Invalid roleArn: {request['roleArn']} is not the ARN of an IAM role.")
        body["roleArn"] = request["roleArn"]
    fields = request.get("emitSystemFields") or []
    if any(f not in SYSTEM_FIELDS for f in fields) or len(set(fields)) != len(fields):
        raise invalid("emitSystemFields can hold @aws.account and @aws.region, each once.")
    if fields:
        body["emitSystemFields"] = fields
    if request.get("fieldSelectionCriteria"):
        raise AWSError("InvalidOperationException", "Field selection criteria are not supported for this log group.")
    return body


class SubscriptionFiltersAPI:
    """The subscription filter operations of the Logs provider."""

    def put_subscription_filter(self, ctx, request):
        body = _filter_body(ctx, request)
        group, name = request["logGroupName"], request["filterName"]
        with ctx.write() as db, as_aws():
            store_logs.group(db, group)
            existing = log_objects.get(db, SUBSCRIPTION_FILTER, group, name)
            if existing is None and log_objects.count(db, SUBSCRIPTION_FILTER, group) >= MAX_FILTERS:
                raise AWSError("LimitExceededException", "Resource limit exceeded.")
            body["creationTime"] = existing["creationTime"] if existing else store_logs.now_ms()
            log_objects.put(db, SUBSCRIPTION_FILTER, group, name, body["creationTime"], body)
        return {}

    def describe_subscription_filters(self, ctx, request):
        group, prefix = request["logGroupName"], request.get("filterNamePrefix") or ""
        with ctx.read() as db, as_aws():
            store_logs.group(db, group)
            filters = [f for f in log_objects.listed(db, SUBSCRIPTION_FILTER, group)
                       if f["filterName"].startswith(prefix)]
        found, token = page(filters, lambda f: f["filterName"], request)
        return {"subscriptionFilters": found, "nextToken": token}

    def delete_subscription_filter(self, ctx, request):
        group, name = request["logGroupName"], request["filterName"]
        with ctx.write() as db, as_aws():
            store_logs.group(db, group)
            if not log_objects.delete(db, SUBSCRIPTION_FILTER, group, name):
                raise AWSError("ResourceNotFoundException", "The specified subscription filter does not exist.")
        return {}
