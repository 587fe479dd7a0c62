"""Topics: CreateTopic (idempotent by name), DeleteTopic (its subscriptions with it), ListTopics,
Get/SetTopicAttributes, and the tags of topics (TagResource, UntagResource, ListTagsForResource).

Attributes a topic takes: DisplayName, Policy, DeliveryPolicy (delivery_policy.py) and
SignatureVersion (1: SHA1withRSA, 2: SHA256withRSA). FifoTopic=true is refused: FIFO topics
deliver to SQS queues only, and cloudlet has none; other attributes are refused by name.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from contextlib import contextmanager

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination, tags
from cloudlet.services.common.tags import ArnTagging

from . import delivery_policy, records
from .errors import invalid, topic_not_found

PAGE = 100
MAX_TOPICS = 100_000  # AWS's quota of standard topics per account and region
MAX_DISPLAY_NAME = 100
MAX_POLICY = 30 * 1024
SETTABLE = ("DisplayName", "Policy", "DeliveryPolicy", "SignatureVersion")
_ACTIONS = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
            "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"]


def default_policy(arn: str, account_id: str) -> str:
    return json.dumps({"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
        "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": _ACTIONS,
        "Resource": arn, "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}}}]}, separators=(",", ":"))


def checked(name: str, value: str) -> str:
    """`value` for attribute `name`, or the reason (AWS's words after "Invalid parameter: ")."""
    if name not in SETTABLE:
        raise ValueError("AttributeName")
    if name == "DisplayName" and len(value) > MAX_DISPLAY_NAME:
        raise ValueError(f"DisplayName Reason: must be at most {MAX_DISPLAY_NAME} characters")
    if name == "SignatureVersion" and value not in ("1", "2"):
        raise ValueError("SignatureVersion Reason: must be 1 or 2")
    if name == "Policy":
        try:
            policy = json.loads(value)
        except (ValueError, RecursionError):
            policy = None
        if not isinstance(policy, dict) or len(value) > MAX_POLICY:
            raise ValueError("Policy Error: the policy is not a JSON object of at most 30 KB")
    if name == "DeliveryPolicy":
        try:
            delivery_policy.check_topic(value)
        except delivery_policy.DeliveryPolicyError as error:
            raise ValueError(str(error)) from None
    return value


@contextmanager
def _tag_errors():
    """The common tag checks' refusals in SNS's code."""
    try:
        yield
    except AWSError as error:
        if error.code != "InvalidParameterValue":
            raise
        raise invalid(f"Tags Reason: {error.message}") from None


def _tags_in(given: list | None) -> dict[str, str]:
    pairs = tags.from_pairs(given)
    if len(pairs) != len(given or []):
        raise invalid("Duplicated keys are not allowed.")
    return pairs


class TopicsAPI(ArnTagging):
    tag_arn_member = "ResourceArn"
    tag_list_member = "Tags"
    tag_keys_member = "TagKeys"
    tag_pair_names = ("Key", "Value")

    def create_topic(self, ctx, request):
        name = request["Name"]
        given = dict(request.get("Attributes") or {})
        fifo = given.pop("FifoTopic", "false")
        if fifo.lower() == "true":
            raise invalid("Attributes Reason: FifoTopic: cloudlet has no FIFO topics (they deliver to SQS queues "
                          "only, and cloudlet has no SQS)")
        if fifo.lower() != "false":
            raise invalid(f"Attributes Reason: FifoTopic: Invalid value [{fifo}]. Must be true or false.")
        if not records.NAME.fullmatch(name):
            raise invalid("Topic Name")
        for key, value in given.items():
            try:
                checked(key, value)
            except ValueError as reason:
                raise invalid(f"Attributes Reason: {reason}") from None
        pairs = _tags_in(request.get("Tags"))
        arn = ctx.arn("sns", name)
        with ctx.write() as db, _tag_errors():
            existing = records.get_topic(db, arn)
            if existing is not None:
                if any(existing["Attributes"].get(k) != v for k, v in given.items()):
                    raise invalid("Attributes Reason: Topic already exists with different attributes")
                if any(tags.get(db, arn).get(k) != v for k, v in pairs.items()):
                    raise invalid("Tags Reason: Topic already exists with different tags")
                return {"TopicArn": arn}
            if len(records.all_topics(db)) >= MAX_TOPICS:
                raise AWSError("TopicLimitExceeded", "Topic limit exceeded", 403)
            attributes = {"DisplayName": "", "Policy": default_policy(arn, ctx.account_id), **given}
            records.put_topic(db, arn, {"Attributes": attributes}, new=True)
            if pairs:
                tags.put(db, arn, "topic", pairs)
        return {"TopicArn": arn}

    def delete_topic(self, ctx, request):
        arn = request["TopicArn"]
        records.own_topic(ctx, arn, "DeleteTopic")
        with ctx.write() as db:  # deleting a topic that does not exist is no error (AWS: idempotent)
            records.delete_topic(db, arn)
            tags.drop_resource(db, arn)
        return {}

    def list_topics(self, ctx, request):
        with ctx.read() as db:
            arns = records.all_topics(db)
        page, token = pagination.page(arns, lambda a: a, request.get("NextToken"), None, default=PAGE,
                                      maximum=PAGE, bad_token=lambda _: invalid("NextToken"))
        return {"Topics": [{"TopicArn": a} for a in page], "NextToken": token}

    def get_topic_attributes(self, ctx, request):
        arn = request["TopicArn"]
        records.own_topic(ctx, arn, "GetTopicAttributes")
        now = time.time()
        with ctx.read() as db:
            topic = records.get_topic(db, arn)
            if topic is None:
                raise topic_not_found()
            states = Counter(body["State"] for _, body in records.of_topic(db, arn)
                             if body["State"] == "confirmed" or now < body["Expires"])
        attributes = topic["Attributes"]
        return {"Attributes": {
            **attributes, "TopicArn": arn, "Owner": ctx.account_id,
            "SubscriptionsConfirmed": str(states["confirmed"]), "SubscriptionsPending": str(states["pending"]),
            "SubscriptionsDeleted": str(states["deleted"]),
            "EffectiveDeliveryPolicy": json.dumps(delivery_policy.effective_topic(attributes.get("DeliveryPolicy")),
                                                  separators=(",", ":"))}}

    def set_topic_attributes(self, ctx, request):
        arn, name, value = request["TopicArn"], request["AttributeName"], request.get("AttributeValue") or ""
        records.own_topic(ctx, arn, "SetTopicAttributes")
        try:
            checked(name, value)
        except ValueError as reason:
            raise invalid(str(reason)) from None
        with ctx.write() as db:
            topic = records.get_topic(db, arn)
            if topic is None:
                raise topic_not_found()
            if name in ("DeliveryPolicy", "SignatureVersion") and not value:
                topic["Attributes"].pop(name, None)
            else:
                topic["Attributes"][name] = value or (default_policy(arn, ctx.account_id) if name == "Policy" else "")
            records.put_topic(db, arn, topic)
        return {}

    # tags: ArnTagging's operations, with SNS's ARN checks and error codes

    def tagged_resource_type(self, db, arn: str) -> str:
        if records.get_topic(db, arn) is None:
            raise AWSError("ResourceNotFound", "Resource does not exist", 404)
        return "topic"

    def _tagging(self, ctx, request, action: str) -> None:
        records.own_topic(ctx, request["ResourceArn"], action, "ResourceArn")

    def tag_resource(self, ctx, request):
        self._tagging(ctx, request, "TagResource")
        _tags_in(request.get("Tags"))
        with _tag_errors():
            return super().tag_resource(ctx, request)

    def untag_resource(self, ctx, request):
        self._tagging(ctx, request, "UntagResource")
        return super().untag_resource(ctx, request)

    def list_tags_for_resource(self, ctx, request):
        self._tagging(ctx, request, "ListTagsForResource")
        return super().list_tags_for_resource(ctx, request)
