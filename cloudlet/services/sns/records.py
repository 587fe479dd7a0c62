"""SNS's rows: topics and subscriptions, their ARNs, and the states a subscription goes through.

A topic's body is {"Attributes": {...}} (what SetTopicAttributes set). A subscription's body:

    Protocol, Endpoint (as shown: a password in it masked), Owner, Principal,
    Attributes {RawMessageDelivery, FilterPolicy, FilterPolicyScope, DeliveryPolicy},
    State   "pending"   (Subscribe sent a SubscriptionConfirmation; until Expires)
            "confirmed" (ConfirmSubscription took its token)
            "deleted"   (unsubscribed; kept until Expires so that the UnsubscribeConfirmation's
                         token can restore it, and counted as SubscriptionsDeleted)
    Token   sha256 of the token last sent (the token itself never is stored), valid until Expires
    Sealed  the endpoint with its password, sealed under the host key (only when it has one)
    ConfirmationWasAuthenticated, AuthenticateOnUnsubscribe
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid

from cloudlet.store.schema import sns_subscriptions as subscriptions
from cloudlet.store.schema import sns_topics as topics

from .errors import denied, invalid

TOKEN_LIFETIME = 3 * 24 * 3600  # AWS: confirmation tokens are valid for three days
_NAME = r"[A-Za-z0-9_-]{1,256}"
_TOPIC = re.compile(rf"arn:aws:sns:([a-z0-9-]{{1,30}}):(\d{{12}}):({_NAME})")
_SUBSCRIPTION = re.compile(rf"(arn:aws:sns:([a-z0-9-]{{1,30}}):(\d{{12}}):{_NAME}):[0-9a-f]{{8}}(-[0-9a-f]{{4}}){{3}}-"
                           r"[0-9a-f]{12}")
NAME = re.compile(_NAME)


def topic_arn_parts(arn: str, member: str = "TopicArn") -> tuple[str, str]:
    """(region, account) of a topic ARN, or AWS's refusal naming `member`."""
    found = _TOPIC.fullmatch(arn or "")
    if found is None:
        raise invalid(member)
    return found.group(1), found.group(2)


def own_topic(ctx, arn: str, action: str, member: str = "TopicArn") -> None:
    """Refuse a signed request for a topic outside the caller's account and region: another
    account's is refused as AWS refuses what no policy allows (cloudlet keeps topics to their
    owner; a topic's Policy is kept and shown, not evaluated)."""
    region, account = topic_arn_parts(arn, member)
    if region != ctx.region:
        raise invalid(member)
    if account != ctx.account_id:
        raise denied(ctx.caller_arn, action, arn)


def own_subscription(ctx, arn: str, action: str) -> str:
    """The topic ARN of a subscription of the caller's account and region, else AWS's refusal."""
    topic_arn, region, account = subscription_arn_parts(arn)
    if region != ctx.region:
        raise invalid("SubscriptionArn")
    if account != ctx.account_id:
        raise denied(ctx.caller_arn, action, arn)
    return topic_arn


def subscription_arn_parts(arn: str) -> tuple[str, str, str]:
    """(topic ARN, region, account) of a subscription ARN."""
    found = _SUBSCRIPTION.fullmatch(arn or "")
    if found is None:
        raise invalid("SubscriptionArn")
    return found.group(1), found.group(2), found.group(3)


def get_topic(db, arn: str) -> dict | None:
    row = db.one(topics, topics.c.arn == arn)
    return json.loads(row["body"]) if row else None


def all_topics(db) -> list[str]:
    return [row["arn"] for row in db.select(topics)]


def put_topic(db, arn: str, body: dict, new: bool = False) -> None:
    if new:
        db.insert(topics, arn=arn, body=json.dumps(body))
    else:
        db.update(topics, topics.c.arn == arn, body=json.dumps(body))


def delete_topic(db, arn: str) -> None:
    db.delete(subscriptions, subscriptions.c.topic_arn == arn)
    db.delete(topics, topics.c.arn == arn)


def live(body: dict, now: float) -> bool:
    """Whether a subscription still counts: confirmed, or pending with its token unexpired."""
    return body["State"] == "confirmed" or (body["State"] == "pending" and now < body["Expires"])


def of_topic(db, topic_arn: str) -> list[tuple[str, dict]]:
    """(ARN, body) of every subscription row of a topic, deleted and expired ones too."""
    rows = db.select(subscriptions, subscriptions.c.topic_arn == topic_arn, order_by=subscriptions.c.arn)
    return [(row["arn"], json.loads(row["body"])) for row in rows]


def all_subscriptions(db) -> list[tuple[str, str, dict]]:
    rows = db.select(subscriptions, order_by=subscriptions.c.arn)
    return [(row["arn"], row["topic_arn"], json.loads(row["body"])) for row in rows]


def subscription_body(db, arn: str) -> dict | None:
    """A subscription's body in whatever state it is."""
    row = db.one(subscriptions, subscriptions.c.arn == arn)
    return json.loads(row["body"]) if row else None


def get_subscription(db, arn: str, now: float) -> dict | None:
    """A subscription that still counts (see live), or None."""
    body = subscription_body(db, arn)
    return body if body is not None and live(body, now) else None


def put_subscription(db, arn: str, topic_arn: str, body: dict, new: bool = False) -> None:
    if new:
        db.insert(subscriptions, arn=arn, topic_arn=topic_arn, body=json.dumps(body))
    else:
        db.update(subscriptions, subscriptions.c.arn == arn, body=json.dumps(body))


def drop_subscription(db, arn: str) -> None:
    db.delete(subscriptions, subscriptions.c.arn == arn)


def purge(db, topic_arn: str, now: float) -> None:
    """Forget a topic's subscriptions that are neither confirmed nor within their token's days."""
    for arn, body in of_topic(db, topic_arn):
        if body["State"] != "confirmed" and now >= body["Expires"]:
            drop_subscription(db, arn)


def new_token(arn: str, body: dict) -> str:
    """A fresh token for subscription `arn` (its hash kept in body, valid TOKEN_LIFETIME). The token
    is the one credential of the unsigned SubscribeURL, so it is long, random and never stored
    itself; it starts with the subscription's id, so that checking one costs a single look-up."""
    token = arn.rsplit(":", 1)[1].replace("-", "") + secrets.token_hex(48)
    body["Token"] = hashlib.sha256(token.encode()).hexdigest()
    body["Expires"] = time.time() + TOKEN_LIFETIME
    return token


def token_holder(db, topic_arn: str, token: str, now: float) -> tuple[str, dict] | None:
    """(ARN, body) of the subscription of topic_arn that `token` was last sent to, while valid."""
    try:
        arn = f"{topic_arn}:{uuid.UUID(hex=token[:32])}"
    except ValueError:
        return None
    body = subscription_body(db, arn)
    digest = hashlib.sha256(token.encode()).hexdigest()
    if body is None or not body.get("Token") or now >= body["Expires"]:
        return None
    return (arn, body) if hmac.compare_digest(digest, body["Token"]) else None


def _endpoint_purpose(arn: str) -> str:
    return f"sns-endpoint:{arn}"


def keep_endpoint(store, arn: str, body: dict, url: str, shown: str) -> None:
    """Set body's endpoint: shown as given unless it carries a password, which is sealed."""
    body["Endpoint"] = shown
    if shown != url:
        body["Sealed"] = store.sealer.seal(url, _endpoint_purpose(arn))


def endpoint_of(store, arn: str, body: dict) -> str:
    """The URL to deliver to, password included."""
    return store.sealer.open(body["Sealed"], _endpoint_purpose(arn)) if "Sealed" in body else body["Endpoint"]
