"""Publish and PublishBatch: a message checked as SNS checks it (its text, Subject,
MessageStructure json with a "default" key, MessageAttributes, 256 KiB in all), then queued
for delivery; the answer (its MessageId) comes before any delivery is made. Only topics are
published to: cloudlet sends no SMS and has no mobile push endpoints."""

from __future__ import annotations

import json
import math
import re
import uuid

from cloudlet.edge.errors import AWSError

from . import delivery, records
from .errors import invalid, invalid_value, topic_not_found
from .fanout import Published

MAX_SIZE = 262_144  # bytes of message and attributes together
MAX_ATTRIBUTES = 10
MAX_SUBJECT = 100
MAX_BATCH = 10
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_DATA_TYPE = re.compile(r"(String|Number|Binary)(\..+)?")
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")


def _check_attribute(name: str, value: dict) -> int:
    """The size `value` adds to the message, or AWS's refusal of it."""
    if len(name.encode()) > 256:
        raise invalid_value("Length of message attribute name must be less than 256 bytes.")
    if not _ATTRIBUTE_NAME.fullmatch(name):
        bad = next((c for c in name if not (c.isascii() and (c.isalnum() or c in "_.-"))), None)
        raise invalid_value(f"Invalid non-alphanumeric character '#x{ord(bad):X}' was found in the message attribute "
                            "name. Can only include alphanumeric characters, hyphens, underscores, or dots."
                            if bad else "Invalid message attribute name.")
    if name.startswith(".") or name.endswith(".") or ".." in name:
        raise invalid_value("Invalid message attribute name: it may not start or end with '.' nor have successive "
                            "'.' characters.")
    if name.lower().startswith(("aws.", "amazon.")):
        raise invalid_value("You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These "
                            "strings are reserved for internal use.")
    kind = value["DataType"]
    if not _DATA_TYPE.fullmatch(kind):
        raise invalid_value(f"The message attribute '{name}' has an invalid message attribute type, the set of "
                            "supported type prefixes is Binary, Number, and String.")
    field = "Binary" if kind.startswith("Binary") else "String"
    given = value.get(f"{field}Value")
    if given is None:
        raise invalid_value(f"The message attribute '{name}' with type '{kind}' must use field '{field}'.")
    if not given:
        raise invalid_value(f"The message attribute '{name}' must contain non-empty message attribute value for "
                            f"message attribute type '{kind}'.")
    if kind.startswith("Number"):
        try:
            number = float(given)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or abs(number) > 1e38:
            raise invalid_value(f"Could not cast message attribute '{name}' value to number.")
    return len(name.encode()) + len(kind.encode()) + len(given if field == "Binary" else given.encode())


def check_message(entry: dict) -> Published:
    """A Publish request's (or batch entry's) message, checked; its topic is set by the caller."""
    message = entry.get("Message")
    if not message:
        raise invalid("Empty message")
    subject = entry.get("Subject")
    if subject is not None and (not subject or len(subject) > MAX_SUBJECT or not subject.isascii()
                                or not subject.isprintable() or subject[0].isspace()):
        raise invalid("Subject")
    for member in ("MessageDeduplicationId", "MessageGroupId"):
        if entry.get(member) is not None:
            raise invalid(f"{member} Reason: The request includes {member} parameter that is not valid for this "
                          "topic type")
    attributes = entry.get("MessageAttributes") or {}
    if len(attributes) > MAX_ATTRIBUTES:
        raise invalid_value(f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
                            f"[{MAX_ATTRIBUTES}].")
    size = len(message.encode("utf-8", "surrogatepass")) + sum(_check_attribute(n, v) for n, v in attributes.items())
    if size > MAX_SIZE:
        raise invalid("Message too long")
    structure = None
    if entry.get("MessageStructure") is not None:
        if entry["MessageStructure"] != "json":
            raise invalid("MessageStructure")
        try:
            parsed = json.loads(message)
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            raise invalid("Message Structure - JSON message body failed to parse")
        # keys whose values are not plain strings are ignored, as SNS ignores them
        structure = {k: v for k, v in parsed.items() if isinstance(v, str)}
        if "default" not in structure:
            raise invalid("Message Structure - No default entry in JSON message body")
    return Published(str(uuid.uuid4()), "", message, subject, structure, attributes)


class PublishingAPI:
    def _topic(self, ctx, arn: str, member: str) -> str:
        records.own_topic(ctx, arn, "Publish", member)
        with ctx.read() as db:
            if records.get_topic(db, arn) is None:
                raise topic_not_found()
        return arn

    def publish(self, ctx, request):
        if request.get("PhoneNumber") is not None:
            raise invalid("PhoneNumber Reason: cloudlet does not send SMS messages")
        given = [m for m in ("TopicArn", "TargetArn") if request.get(m) is not None]
        if not given:
            raise invalid("TopicArn or TargetArn Reason: no value for required parameter")
        if len(given) > 1:
            raise invalid("TopicArn Reason: Only one of TopicArn or TargetArn may be given")
        published = check_message(request)
        published.topic_arn = self._topic(ctx, request[given[0]], given[0])
        delivery.queue(self.store, ctx.account_id, ctx.region, published)
        return {"MessageId": published.message_id}

    def publish_batch(self, ctx, request):
        entries = request["PublishBatchRequestEntries"]
        if not entries:
            raise AWSError("EmptyBatchRequest", "The batch request doesn't contain any entries.")
        if len(entries) > MAX_BATCH:
            raise AWSError("TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible.")
        ids = [entry["Id"] for entry in entries]
        if len(set(ids)) != len(ids):
            raise AWSError("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
        if any(not _BATCH_ID.fullmatch(i) for i in ids):
            raise AWSError("InvalidBatchEntryId", "The Id of a batch entry in a batch request doesn't abide by the "
                                                  "specification.")
        if sum(len(e.get("Message", "").encode("utf-8", "surrogatepass")) for e in entries) > MAX_SIZE:
            raise AWSError("BatchRequestTooLong", "The length of all the messages put together is more than the "
                                                  "limit.")
        topic_arn = self._topic(ctx, request["TopicArn"], "TopicArn")
        successful, failed = [], []
        for entry in entries:
            try:
                published = check_message(entry)
            except AWSError as error:
                failed.append({"Id": entry["Id"], "Code": error.code, "Message": error.message, "SenderFault": True})
                continue
            published.topic_arn = topic_arn
            delivery.queue(self.store, ctx.account_id, ctx.region, published)
            successful.append({"Id": entry["Id"], "MessageId": published.message_id})
        return {"Successful": successful, "Failed": failed}
