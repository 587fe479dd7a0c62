"""The JSON documents SNS POSTs to an HTTP/S endpoint, and the headers they travel with, as
AWS's "HTTP/HTTPS notification / subscription confirmation / unsubscribe confirmation JSON
format" pages show them. The links in them point at cloudlet's API endpoint: SubscribeURL and
UnsubscribeURL are the query-string GETs that work there unsigned, SigningCertURL serves the
certificate of the key that signed the document."""

from __future__ import annotations

import base64
import datetime
import json
from urllib.parse import quote

from . import signing

USER_AGENT = "Amazon Simple Notification Service Agent"
NOTIFICATION = "Notification"
SUBSCRIBE = "SubscriptionConfirmation"
UNSUBSCRIBE = "UnsubscribeConfirmation"
_SAFE = ":/"  # ARNs read as AWS writes them in these URLs


def timestamp(seconds: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2012-05-02T00:54:06.655Z."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def subscribe_url(api: str, topic_arn: str, token: str) -> str:
    return f"{api}/?Action=ConfirmSubscription&TopicArn={quote(topic_arn, _SAFE)}&Token={token}"


def unsubscribe_url(api: str, subscription_arn: str) -> str:
    return f"{api}/?Action=Unsubscribe&SubscriptionArn={quote(subscription_arn, _SAFE)}"


def attributes_out(attributes: dict) -> dict:
    """Publish's MessageAttributes as the notification shows them: {name: {Type, Value}}."""
    out = {}
    for name, value in attributes.items():
        binary = value.get("BinaryValue")
        shown = base64.b64encode(binary).decode() if binary is not None else value.get("StringValue")
        out[name] = {"Type": value["DataType"], "Value": shown}
    return out


def notification(signer: signing.Signer, api: str, *, message_id: str, topic_arn: str, message: str,
                 subject: str | None, at: float, version: str) -> dict:
    """A Notification, signed; addressed() makes it one subscription's."""
    doc = {"Type": NOTIFICATION, "MessageId": message_id, "TopicArn": topic_arn,
           **({"Subject": subject} if subject is not None else {}), "Message": message, "Timestamp": timestamp(at),
           "SignatureVersion": version}
    doc["Signature"] = signer.sign(doc)
    doc["SigningCertURL"] = api + signing.CERT_PATH
    return doc


def addressed(doc: dict, api: str, subscription_arn: str, attributes: dict) -> dict:
    """A Notification as one subscription gets it: with its UnsubscribeURL (which the signature
    does not cover, so one signature serves every subscription) and the message's attributes."""
    out = {**doc, "UnsubscribeURL": unsubscribe_url(api, subscription_arn)}
    if attributes:
        out["MessageAttributes"] = attributes_out(attributes)
    return out


def confirmation(signer: signing.Signer, api: str, *, kind: str, message_id: str, topic_arn: str,
                 subscription_arn: str, token: str, at: float, version: str) -> dict:
    """A SubscriptionConfirmation (its SubscribeURL confirms) or an UnsubscribeConfirmation (its
    SubscribeURL restores the subscription)."""
    if kind == SUBSCRIBE:
        text = (f"You have chosen to subscribe to the topic {topic_arn}.\n"
                "To confirm the subscription, visit the SubscribeURL included in this message.")
    else:
        text = (f"You have chosen to deactivate subscription {subscription_arn}.\n"
                "To cancel this operation and restore the subscription, visit the SubscribeURL included in this "
                "message.")
    doc = {"Type": kind, "MessageId": message_id, "Token": token, "TopicArn": topic_arn, "Message": text,
           "SubscribeURL": subscribe_url(api, topic_arn, token), "Timestamp": timestamp(at),
           "SignatureVersion": version}
    doc["Signature"] = signer.sign(doc)
    doc["SigningCertURL"] = api + signing.CERT_PATH
    return doc


def encode(doc: dict) -> bytes:
    return json.dumps(doc, indent=2, ensure_ascii=False).encode()


def headers(kind: str, message_id: str, topic_arn: str, subscription_arn: str, content_type: str,
            raw: bool = False) -> dict[str, str]:
    out = {"x-amz-sns-message-type": kind, "x-amz-sns-message-id": message_id, "x-amz-sns-topic-arn": topic_arn,
           "Content-Type": content_type, "User-Agent": USER_AGENT}
    if kind != SUBSCRIBE:  # a pending subscription's ARN is not told to the endpoint
        out["x-amz-sns-subscription-arn"] = subscription_arn
    if raw:
        out["x-amz-sns-rawdelivery"] = "true"
    return out
