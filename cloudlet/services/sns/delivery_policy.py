"""HTTP/S delivery policies: a topic's DeliveryPolicy ({"http": {"defaultHealthyRetryPolicy",
"disableSubscriptionOverrides", "defaultThrottlePolicy", "defaultRequestPolicy"}}) and a
subscription's ({"healthyRetryPolicy", "throttlePolicy", "requestPolicy"}), checked with AWS's
bounds, merged over AWS's default (three retries, 20 seconds apart) into the effective policy,
and turned into the delays between retries. The retry phases are AWS's: no-delay retries, then
retries at minDelayTarget, then a backoff from minDelayTarget to maxDelayTarget (linear and
arithmetic as a straight line, geometric and exponential as a curve), then retries at
maxDelayTarget; all of it within AWS's hard limit of 3,600 seconds. The throttle policy is kept
and shown but not enforced.
"""

from __future__ import annotations

import json
import re

MAX_DELAY = 3600
MAX_RETRIES = 100
BACKOFF = ("linear", "arithmetic", "geometric", "exponential")
DEFAULT_RETRY = {"minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0,
                 "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"}
DEFAULT_CONTENT_TYPE = "text/plain; charset=UTF-8"
_CONTENT_TYPE = re.compile(r"(application/(json|xml)|text/(plain|html|xml))(; ?charset=[A-Za-z0-9_-]{1,40})?")
_COUNTS = ("numRetries", "numNoDelayRetries", "numMinDelayRetries", "numMaxDelayRetries")


class DeliveryPolicyError(Exception):
    """Why a DeliveryPolicy is refused (the caller says where it was given)."""


def _object(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise DeliveryPolicyError(f"DeliveryPolicy: {where} must be an object")
    return value


def _integer(policy: dict, name: str, low: int, high: int) -> None:
    value = policy.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high):
        raise DeliveryPolicyError(f"DeliveryPolicy: {name} must be an integer from {low} to {high}")


def _check_retry(policy: dict) -> None:
    unknown = set(policy) - set(DEFAULT_RETRY)
    if unknown:
        raise DeliveryPolicyError(f"DeliveryPolicy: unknown retry policy field {sorted(unknown)[0]}")
    _integer(policy, "minDelayTarget", 1, MAX_DELAY)
    _integer(policy, "maxDelayTarget", 1, MAX_DELAY)
    for name in _COUNTS:
        _integer(policy, name, 0, MAX_RETRIES)
    merged = {**DEFAULT_RETRY, **policy}
    if merged["minDelayTarget"] > merged["maxDelayTarget"]:
        raise DeliveryPolicyError("DeliveryPolicy: minDelayTarget must not be greater than maxDelayTarget")
    if sum(merged[n] for n in _COUNTS[1:]) > merged["numRetries"]:
        raise DeliveryPolicyError("DeliveryPolicy: numRetries must be at least the sum of the retries of each phase")
    if merged["backoffFunction"] not in BACKOFF:
        raise DeliveryPolicyError(f"DeliveryPolicy: backoffFunction must be one of {', '.join(BACKOFF)}")
    if sum(delays(merged)) > MAX_DELAY:
        raise DeliveryPolicyError(f"DeliveryPolicy: the retries must take {MAX_DELAY} seconds or less in all")


def _check_parts(policy: dict, retry: str, throttle: str, request: str) -> None:
    if retry in policy:
        _check_retry(_object(policy[retry], retry))
    if throttle in policy:
        _integer(_object(policy[throttle], throttle), "maxReceivesPerSecond", 1, 10**9)
    if request in policy:
        content_type = _object(policy[request], request).get("headerContentType")
        if content_type is not None and not (isinstance(content_type, str) and _CONTENT_TYPE.fullmatch(content_type)):
            raise DeliveryPolicyError("DeliveryPolicy: headerContentType is not a content type SNS sends")


def _load(text: str) -> dict:
    try:
        return _object(json.loads(text), "the policy")
    except (ValueError, RecursionError):
        raise DeliveryPolicyError("DeliveryPolicy: failed to parse JSON.") from None


def check_topic(text: str) -> str:
    """The topic policy `text`, checked ("" clears it)."""
    if text.strip():
        policy = _load(text)
        if "http" in policy:
            http = _object(policy["http"], "http")
            _check_parts(http, "defaultHealthyRetryPolicy", "defaultThrottlePolicy", "defaultRequestPolicy")
            if not isinstance(http.get("disableSubscriptionOverrides", False), bool):
                raise DeliveryPolicyError("DeliveryPolicy: disableSubscriptionOverrides must be true or false")
    return text


def check_subscription(text: str) -> str:
    if text.strip():
        _check_parts(_load(text), "healthyRetryPolicy", "throttlePolicy", "requestPolicy")
    return text


def _http(topic_text: str | None) -> dict:
    return (json.loads(topic_text).get("http") or {}) if topic_text and topic_text.strip() else {}


def effective_topic(topic_text: str | None) -> dict:
    http = _http(topic_text)
    return {"http": {"defaultHealthyRetryPolicy": {**DEFAULT_RETRY, **http.get("defaultHealthyRetryPolicy", {})},
                     **({"defaultThrottlePolicy": http["defaultThrottlePolicy"]} if "defaultThrottlePolicy" in http
                        else {}),
                     "disableSubscriptionOverrides": http.get("disableSubscriptionOverrides", False),
                     "defaultRequestPolicy": {"headerContentType": DEFAULT_CONTENT_TYPE,
                                              **http.get("defaultRequestPolicy", {})}}}


def effective_subscription(topic_text: str | None, subscription_text: str | None) -> dict:
    topic = effective_topic(topic_text)["http"]
    own = {} if topic["disableSubscriptionOverrides"] or not (subscription_text or "").strip() \
        else json.loads(subscription_text)
    throttle = own.get("throttlePolicy", topic.get("defaultThrottlePolicy"))
    return {"healthyRetryPolicy": {**topic["defaultHealthyRetryPolicy"], **own.get("healthyRetryPolicy", {})},
            **({"throttlePolicy": throttle} if throttle else {}),
            "requestPolicy": {**topic["defaultRequestPolicy"], **own.get("requestPolicy", {})}, "guaranteed": False}


def delays(retry: dict) -> list[float]:
    """Seconds to wait before each retry of a failed delivery, from an effective retry policy."""
    low, high = retry["minDelayTarget"], retry["maxDelayTarget"]
    backoff = retry["numRetries"] - sum(retry[n] for n in _COUNTS[1:])
    if retry["backoffFunction"] in ("geometric", "exponential"):
        curve = [low * (high / low) ** (i / backoff) for i in range(1, backoff + 1)]
    else:
        curve = [low + (high - low) * i / backoff for i in range(1, backoff + 1)]
    return ([0.0] * retry["numNoDelayRetries"] + [float(low)] * retry["numMinDelayRetries"] + curve
            + [float(high)] * retry["numMaxDelayRetries"])
