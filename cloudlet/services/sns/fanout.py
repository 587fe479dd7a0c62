"""From one published message to the deliveries it makes: every confirmed subscription of the
topic whose filter policy it passes gets it, raw or as a signed Notification, in the text its
protocol gets (MessageStructure json: the protocol's key, else "default"), with the retry
delays and content type of its effective delivery policy."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import delivery_policy, filter_policy, messages, records, signing


@dataclass
class Published:
    message_id: str
    topic_arn: str
    message: str
    subject: str | None = None
    structure: dict | None = None  # MessageStructure json: protocol -> text, "default" among them
    attributes: dict = field(default_factory=dict)  # MessageAttributes as Publish took them
    at: float = field(default_factory=time.time)

    def text_for(self, protocol: str) -> str:
        return self.message if self.structure is None else self.structure.get(protocol, self.structure["default"])


@dataclass
class Delivery:
    """One POST to make, and the delays of its retries."""

    store: object
    account_id: str
    region: str
    subscription_arn: str
    kind: str  # messages.NOTIFICATION, SUBSCRIBE or UNSUBSCRIBE
    url: str  # password included
    body: bytes
    headers: dict[str, str]
    delays: list[float]

    def wanted(self) -> bool:
        """Whether the subscription still wants it (unsubscribed since: no; an unsubscribe
        confirmation goes to a subscription already gone)."""
        if self.kind == messages.UNSUBSCRIBE:
            return True
        with self.store.scoped(self.account_id, self.region, write=False) as db:
            body = records.get_subscription(db, self.subscription_arn, time.time())
        return body is not None and body["State"] == ("confirmed" if self.kind == messages.NOTIFICATION else "pending")


def request_policy(topic: dict, subscription: dict) -> tuple[str, list[float]]:
    """(content type, retry delays) of a subscription's effective delivery policy."""
    effective = delivery_policy.effective_subscription(topic["Attributes"].get("DeliveryPolicy"),
                                                       subscription["Attributes"].get("DeliveryPolicy"))
    return (effective["requestPolicy"]["headerContentType"],
            delivery_policy.delays(effective["healthyRetryPolicy"]))


def _passes(subscription: dict, published: Published, text: str) -> bool:
    attributes = subscription["Attributes"]
    scope = attributes.get("FilterPolicyScope", "MessageAttributes")
    try:
        policy = filter_policy.parse(attributes.get("FilterPolicy", ""), scope)
    except filter_policy.PolicyError:
        return False  # not stored unchecked; a policy that no longer parses lets nothing through
    if scope == "MessageBody":
        return filter_policy.matches_body(policy, text)
    return filter_policy.matches_attributes(policy, published.attributes)


def deliveries(store, account_id: str, region: str, published: Published, api: str) -> list[Delivery]:
    with store.scoped(account_id, region, write=False) as db:
        topic = records.get_topic(db, published.topic_arn)
        subscriptions = [] if topic is None else [
            (arn, body) for arn, body in records.of_topic(db, published.topic_arn) if body["State"] == "confirmed"]
    signer = signing.signer(store)
    version = topic["Attributes"].get("SignatureVersion", "1") if topic else "1"
    signed: dict[str, dict] = {}  # text -> its Notification, signed once for every subscription
    out = []
    for arn, body in subscriptions:
        text = published.text_for(body["Protocol"])
        if not _passes(body, published, text):
            continue
        content_type, delays = request_policy(topic, body)
        raw = body["Attributes"].get("RawMessageDelivery") == "true"
        if raw:
            payload = text.encode()
        else:
            if text not in signed:
                signed[text] = messages.notification(
                    signer, api, message_id=published.message_id, topic_arn=published.topic_arn, message=text,
                    subject=published.subject, at=published.at, version=version)
            payload = messages.encode(messages.addressed(signed[text], api, arn, published.attributes))
        headers = messages.headers(messages.NOTIFICATION, published.message_id, published.topic_arn, arn,
                                   content_type, raw)
        out.append(Delivery(store, account_id, region, arn, messages.NOTIFICATION,
                            records.endpoint_of(store, arn, body), payload, headers, delays))
    return out
