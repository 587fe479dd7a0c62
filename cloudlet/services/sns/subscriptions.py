"""Subscriptions: Subscribe, ConfirmSubscription, Unsubscribe, ListSubscriptions(ByTopic) and
Get/SetSubscriptionAttributes (RawMessageDelivery, FilterPolicy, FilterPolicyScope, DeliveryPolicy).

cloudlet delivers to http and https endpoints only; Subscribe refuses every other protocol.
A new subscription is pending until its endpoint confirms it: ConfirmSubscription with the
token of the SubscriptionConfirmation it was sent (signed, or by the message's SubscribeURL,
unsigned). Unsubscribe keeps it as deleted for the token's days, and the endpoint's
UnsubscribeConfirmation carries a token that restores it. The unsigned links (links.py) act
only on what their token or subscription ARN names; signed requests only in their own account.
"""

from __future__ import annotations

import functools
import json
import time
import uuid

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination

from . import delivery, delivery_policy, endpoints, filter_policy, messages, records, signing
from .errors import invalid, subscription_not_found, topic_not_found
from .fanout import Delivery, request_policy

PAGE = 100
MAX_PER_TOPIC = 10_000  # cloudlet's own bound (AWS's is 12,500,000): each one is a POST per message
DELIVERED = ("http", "https")
OTHER_PROTOCOLS = ("email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
SETTABLE = ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "DeliveryPolicy")


def check_attribute(name: str, value: str, attributes: dict) -> None:
    """Set `name` in `attributes` (a subscription's) if its value passes; else ValueError with AWS's reason."""
    if name not in SETTABLE:
        raise ValueError("AttributeName")
    if name == "RawMessageDelivery":
        if value.lower() not in ("true", "false"):
            raise ValueError(f"RawMessageDelivery: Invalid value [{value}]. Must be true or false.")
        value = value.lower()
    elif name == "FilterPolicyScope":
        if value not in filter_policy.SCOPES:
            raise ValueError(f"FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or "
                             "MessageAttributes")
    elif name == "DeliveryPolicy":
        try:
            delivery_policy.check_subscription(value)
        except delivery_policy.DeliveryPolicyError as error:
            raise ValueError(str(error)) from None
    if name in ("FilterPolicy", "FilterPolicyScope"):
        policy = value if name == "FilterPolicy" else attributes.get("FilterPolicy", "")
        try:
            filter_policy.parse(policy, value if name == "FilterPolicyScope" else
                                attributes.get("FilterPolicyScope", "MessageAttributes"))
        except filter_policy.PolicyError as error:
            raise ValueError(str(error)) from None
    if name in ("FilterPolicy", "DeliveryPolicy") and not value.strip():
        attributes.pop(name, None)
        return
    attributes[name] = value


def _summary(arn: str, topic_arn: str, body: dict) -> dict:
    return {"SubscriptionArn": arn if body["State"] == "confirmed" else "PendingConfirmation",
            "Owner": body["Owner"], "Protocol": body["Protocol"], "Endpoint": body["Endpoint"], "TopicArn": topic_arn}


def _send(store, account_id: str, region: str, kind: str, arn: str, topic_arn: str, topic: dict, body: dict,
          token: str) -> None:
    """Queue a (Un)SubscriptionConfirmation for the subscription's endpoint."""
    api = delivery.listeners().endpoint
    message_id = str(uuid.uuid4())
    doc = messages.confirmation(signing.signer(store), api, kind=kind, message_id=message_id,
                                topic_arn=topic_arn, subscription_arn=arn, token=token, at=time.time(),
                                version=topic["Attributes"].get("SignatureVersion", "1"))
    content_type, delays = request_policy(topic, body)
    delivery.send(Delivery(store, account_id, region, arn, kind, records.endpoint_of(store, arn, body),
                           messages.encode(doc), messages.headers(kind, message_id, topic_arn, arn, content_type),
                           delays))


def confirm(db, topic_arn: str, token: str, signed: bool, lock: bool) -> str:
    """Confirm (or restore) the subscription of topic_arn whose token is `token`; its ARN.
    Unsigned (the SubscribeURL), AuthenticateOnUnsubscribe (`lock`) is not taken, as with AWS."""
    if signed and records.get_topic(db, topic_arn) is None:
        raise topic_not_found()  # (a stranger with a link is not told which topics exist)
    held = records.token_holder(db, topic_arn, token, time.time())
    if held is None:
        raise invalid("Token")
    arn, body = held
    if body["State"] != "confirmed":
        body.update(State="confirmed", ConfirmationWasAuthenticated=signed)
    if signed and lock:
        body["AuthenticateOnUnsubscribe"] = True
    records.put_subscription(db, arn, topic_arn, body)
    return arn


def unsubscribe(store, db, arn: str, signed: bool):
    """Unsubscribe `arn` (no error if it is gone): by its owner's signed request, or unsigned (the
    UnsubscribeURL) where AuthenticateOnUnsubscribe was not asked for. Returns what sends the
    endpoint its UnsubscribeConfirmation, to call once the change is committed."""
    topic_arn, region, account = records.subscription_arn_parts(arn)
    body = records.get_subscription(db, arn, time.time())
    if body is None:
        return None
    if not signed and body.get("AuthenticateOnUnsubscribe"):
        raise AWSError("AuthorizationError", "This subscription can be unsubscribed only by a request signed by "
                       "its topic's owner (AuthenticateOnUnsubscribe).", 403)
    if body["State"] == "pending":
        records.drop_subscription(db, arn)
        return None
    body["State"] = "deleted"
    token = records.new_token(arn, body)
    records.put_subscription(db, arn, topic_arn, body)
    return functools.partial(_send, store, account, region, messages.UNSUBSCRIBE, arn, topic_arn,
                             records.get_topic(db, topic_arn), body, token)


class SubscriptionsAPI:
    def subscribe(self, ctx, request):
        topic_arn, protocol = request["TopicArn"], request["Protocol"]
        records.own_topic(ctx, topic_arn, "Subscribe")
        if protocol in OTHER_PROTOCOLS:
            raise invalid(f"Protocol Reason: cloudlet delivers only to http and https endpoints, not {protocol}")
        if protocol not in DELIVERED:
            raise invalid(f"Amazon SNS does not support this protocol string: {protocol}")
        url = request.get("Endpoint") or ""
        try:
            endpoints.check(endpoints.parse(protocol, url), delivery.listeners().ports)
        except endpoints.EndpointError as reason:
            raise invalid(f"Endpoint{reason}") from None
        attributes = {"RawMessageDelivery": "false"}
        for name, value in (request.get("Attributes") or {}).items():
            try:
                check_attribute(name, value, attributes)
            except ValueError as reason:
                raise invalid(f"Attributes Reason: {reason}") from None
        now = time.time()
        with ctx.write() as db:
            topic = records.get_topic(db, topic_arn)
            if topic is None:
                raise topic_not_found()
            records.purge(db, topic_arn, now)
            mine = records.of_topic(db, topic_arn)
            found = None
            for arn, body in mine:
                if body["Protocol"] != protocol or records.endpoint_of(self.store, arn, body) != url:
                    continue
                if body["State"] == "deleted":
                    records.drop_subscription(db, arn)  # a new subscription takes its place
                    continue
                if any(body["Attributes"].get(k) != v for k, v in attributes.items()):
                    raise invalid("Attributes Reason: Subscription already exists with different attributes")
                if body["State"] == "confirmed":
                    return {"SubscriptionArn": arn}
                found = arn, body  # pending: its endpoint is sent a new token
            if found:
                arn, body = found
                token = records.new_token(arn, body)
                records.put_subscription(db, arn, topic_arn, body)
            else:
                if sum(body["State"] != "deleted" for _, body in mine) >= MAX_PER_TOPIC:
                    raise AWSError("SubscriptionLimitExceeded", "Subscription limit exceeded", 403)
                arn = f"{topic_arn}:{uuid.uuid4()}"
                body = {"Protocol": protocol, "Owner": ctx.account_id, "Principal": ctx.caller_arn,
                        "Attributes": attributes, "State": "pending", "ConfirmationWasAuthenticated": False}
                records.keep_endpoint(self.store, arn, body, url, endpoints.masked(url))
                token = records.new_token(arn, body)
                records.put_subscription(db, arn, topic_arn, body, new=True)
        _send(self.store, ctx.account_id, ctx.region, messages.SUBSCRIBE, arn, topic_arn, topic, body, token)
        return {"SubscriptionArn": arn if request.get("ReturnSubscriptionArn") else "pending confirmation"}

    def confirm_subscription(self, ctx, request):
        records.own_topic(ctx, request["TopicArn"], "ConfirmSubscription")
        lock = (request.get("AuthenticateOnUnsubscribe") or "").lower() == "true"
        with ctx.write() as db:
            return {"SubscriptionArn": confirm(db, request["TopicArn"], request["Token"], True, lock)}

    def unsubscribe(self, ctx, request):
        arn = request["SubscriptionArn"]
        records.own_subscription(ctx, arn, "Unsubscribe")
        with ctx.write() as db:
            confirmation = unsubscribe(self.store, db, arn, signed=True)
        if confirmation:
            confirmation()
        return {}

    def list_subscriptions(self, ctx, request):
        now = time.time()
        with ctx.read() as db:
            rows = [(arn, topic_arn, body) for arn, topic_arn, body in records.all_subscriptions(db)
                    if records.live(body, now)]
        return self._page(rows, request)

    def list_subscriptions_by_topic(self, ctx, request):
        topic_arn = request["TopicArn"]
        records.own_topic(ctx, topic_arn, "ListSubscriptionsByTopic")
        now = time.time()
        with ctx.read() as db:
            if records.get_topic(db, topic_arn) is None:
                raise topic_not_found()
            rows = [(arn, topic_arn, body) for arn, body in records.of_topic(db, topic_arn) if records.live(body, now)]
        return self._page(rows, request)

    @staticmethod
    def _page(rows: list, request) -> dict:
        page, token = pagination.page(rows, lambda r: r[0], request.get("NextToken"), None, default=PAGE,
                                      maximum=PAGE, bad_token=lambda _: invalid("NextToken"))
        return {"Subscriptions": [_summary(*row) for row in page], "NextToken": token}

    def get_subscription_attributes(self, ctx, request):
        arn = request["SubscriptionArn"]
        topic_arn = records.own_subscription(ctx, arn, "GetSubscriptionAttributes")
        with ctx.read() as db:
            body = records.get_subscription(db, arn, time.time())
            topic = records.get_topic(db, topic_arn)
        if body is None or topic is None:
            raise subscription_not_found()
        effective = delivery_policy.effective_subscription(topic["Attributes"].get("DeliveryPolicy"),
                                                           body["Attributes"].get("DeliveryPolicy"))
        attributes = dict(body["Attributes"])
        if "FilterPolicy" in attributes:
            attributes.setdefault("FilterPolicyScope", "MessageAttributes")
        return {"Attributes": {
            **attributes, "SubscriptionArn": arn, "TopicArn": topic_arn, "Owner": body["Owner"],
            "Protocol": body["Protocol"], "Endpoint": body["Endpoint"], "SubscriptionPrincipal": body["Principal"],
            "PendingConfirmation": str(body["State"] == "pending").lower(),
            "ConfirmationWasAuthenticated": str(body["ConfirmationWasAuthenticated"]).lower(),
            "EffectiveDeliveryPolicy": json.dumps(effective, separators=(",", ":"))}}

    def set_subscription_attributes(self, ctx, request):
        arn, name, value = request["SubscriptionArn"], request["AttributeName"], request.get("AttributeValue") or ""
        topic_arn = records.own_subscription(ctx, arn, "SetSubscriptionAttributes")
        with ctx.write() as db:
            body = records.get_subscription(db, arn, time.time())
            if body is None:
                raise subscription_not_found()
            try:
                check_attribute(name, value, body["Attributes"])
            except ValueError as reason:
                raise invalid(str(reason)) from None
            records.put_subscription(db, arn, topic_arn, body)
        return {}
