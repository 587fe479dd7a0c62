"""SNS's deliveries, for real: an HTTP server on 127.0.0.1 is subscribed, gets the
SubscriptionConfirmation, confirms by GETting its SubscribeURL, and receives Notifications with
AWS's JSON and headers, signed with the key whose certificate the API serves."""

import base64
import re
import sqlite3
import time
import uuid

import pytest
from cryptography.exceptions import InvalidSignature

from tests.e2e.errors import code
from tests.e2e.sns_helpers import (  # noqa: F401  (the sns and subscriber fixtures)
    Subscriber, confirmed, get, http_subscriber, sns_client, verify)

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
FAST_RETRIES = '{"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 2}}'


def topic(sns, **kw) -> str:
    return sns.create_topic(Name=f"t-{uuid.uuid4().hex[:12]}", **kw)["TopicArn"]


def test_confirmation_then_signed_notifications(sns, subscriber):
    arn = topic(sns)
    assert sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=subscriber.url("/hook"))["SubscriptionArn"] == \
        "pending confirmation"
    got = subscriber.next("/hook")
    doc = got.doc
    assert got.headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert got.headers["x-amz-sns-message-id"] == doc["MessageId"] and got.headers["x-amz-sns-topic-arn"] == arn
    assert got.headers["content-type"] == "text/plain; charset=UTF-8"
    assert got.headers["user-agent"] == "Amazon Simple Notification Service Agent"
    assert doc["Type"] == "SubscriptionConfirmation" and doc["TopicArn"] == arn and len(doc["Token"]) >= 64
    assert doc["Message"].startswith(f"You have chosen to subscribe to the topic {arn}.")
    assert "Action=ConfirmSubscription" in doc["SubscribeURL"] and TIMESTAMP.fullmatch(doc["Timestamp"])
    assert doc["SignatureVersion"] == "1"
    verify(doc)
    [pending] = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert pending["SubscriptionArn"] == "PendingConfirmation"
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsPending"] == "1"

    status, body = get(doc["SubscribeURL"])  # unsigned, as a subscriber opens it
    assert status == 200 and b"<ConfirmSubscriptionResponse" in body
    sub_arn = body.decode().split("<SubscriptionArn>")[1].split("<")[0]
    assert sub_arn.startswith(arn + ":") and get(doc["SubscribeURL"])[1].count(sub_arn.encode()) == 1
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]] == [sub_arn]
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "false" and attributes["ConfirmationWasAuthenticated"] == "false"
    assert attributes["Endpoint"] == subscriber.url("/hook") and attributes["RawMessageDelivery"] == "false"
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsConfirmed"] == "1"

    message_id = sns.publish(TopicArn=arn, Message="hello\nworld", Subject="Greetings", MessageAttributes={
        "color": {"DataType": "String", "StringValue": "red"},
        "size": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})["MessageId"]
    got = subscriber.next("/hook")
    note = got.doc
    assert got.headers["x-amz-sns-message-type"] == "Notification"
    assert got.headers["x-amz-sns-message-id"] == message_id == note["MessageId"]
    assert got.headers["x-amz-sns-subscription-arn"] == sub_arn
    assert (note["Type"], note["TopicArn"], note["Subject"], note["Message"]) == \
        ("Notification", arn, "Greetings", "hello\nworld")
    assert note["MessageAttributes"] == {"color": {"Type": "String", "Value": "red"},
                                         "size": {"Type": "Number", "Value": "42"},
                                         "blob": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()}}
    assert note["UnsubscribeURL"].endswith(f"Action=Unsubscribe&SubscriptionArn={sub_arn}")
    verify(note)
    with pytest.raises(InvalidSignature):
        verify({**note, "Message": "hello world"})

    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    sns.publish(TargetArn=arn, Message="signed with SHA256")
    note = subscriber.next("/hook").doc
    assert note["SignatureVersion"] == "2" and "Subject" not in note and note["Message"] == "signed with SHA256"
    verify(note)


def test_raw_delivery_and_message_structure(sns, subscriber):
    arn = topic(sns)
    confirmed(sns, subscriber, arn, "/raw", RawMessageDelivery="true")
    sns.publish(TopicArn=arn, Message='{"just": "the message"}')
    got = subscriber.next("/raw")
    assert got.body == b'{"just": "the message"}' and got.headers["x-amz-sns-rawdelivery"] == "true"
    assert got.headers["x-amz-sns-message-type"] == "Notification"
    sns.publish(TopicArn=arn, MessageStructure="json", Message='{"default": "for all", "http": "for http", "sqs": 1}')
    assert subscriber.next("/raw").body == b"for http"
    sns.publish(TopicArn=arn, MessageStructure="json", Message='{"default": "for all", "https": "for https"}')
    assert subscriber.next("/raw").body == b"for all"


def test_filter_policies(sns, subscriber):
    arn = topic(sns)
    confirmed(sns, subscriber, arn, "/red", FilterPolicy='{"color": ["red"]}')
    big = confirmed(sns, subscriber, arn, "/big")
    sns.set_subscription_attributes(SubscriptionArn=big, AttributeName="FilterPolicy",
                                    AttributeValue='{"size": [{"numeric": [">", 100]}], "color": [{"exists": true}]}')
    confirmed(sns, subscriber, arn, "/body", FilterPolicyScope="MessageBody",
              FilterPolicy='{"order": {"kind": [{"prefix": "order-"}]}}')
    confirmed(sns, subscriber, arn, "/all")
    red = {"color": {"DataType": "String", "StringValue": "red"}, "size": {"DataType": "Number", "StringValue": "5"}}
    blue = {"color": {"DataType": "String", "StringValue": "blue"},
            "size": {"DataType": "Number", "StringValue": "500"}}
    sns.publish(TopicArn=arn, Message="red one", MessageAttributes=red)
    sns.publish(TopicArn=arn, Message="big one", MessageAttributes=blue)
    sns.publish(TopicArn=arn, Message='{"order": {"kind": "order-7"}}')
    assert sorted(subscriber.next("/all").doc["Message"] for _ in range(3)) == \
        sorted(["red one", "big one", '{"order": {"kind": "order-7"}}'])
    assert subscriber.next("/red").doc["Message"] == "red one"
    assert subscriber.next("/big").doc["Message"] == "big one"
    assert subscriber.next("/body").doc["Message"] == '{"order": {"kind": "order-7"}}'
    for path in ("/red", "/big", "/body"):
        subscriber.nothing(path, 1.0)
    attributes = sns.get_subscription_attributes(SubscriptionArn=big)["Attributes"]
    assert attributes["FilterPolicyScope"] == "MessageAttributes" and '"numeric"' in attributes["FilterPolicy"]
    sns.set_subscription_attributes(SubscriptionArn=big, AttributeName="FilterPolicy", AttributeValue="")
    assert "FilterPolicy" not in sns.get_subscription_attributes(SubscriptionArn=big)["Attributes"]
    sns.publish(TopicArn=arn, Message="to everyone now")
    assert subscriber.next("/big").doc["Message"] == "to everyone now"


def test_unsubscribe_by_link_and_restore(sns, subscriber):
    arn = topic(sns)
    sub_arn = confirmed(sns, subscriber, arn, "/leaving")
    sns.publish(TopicArn=arn, Message="before")
    note = subscriber.next("/leaving").doc
    status, _ = get(note["UnsubscribeURL"])
    assert status == 200
    got = subscriber.next("/leaving")
    bye = got.doc
    assert got.headers["x-amz-sns-message-type"] == "UnsubscribeConfirmation" == bye["Type"]
    assert got.headers["x-amz-sns-subscription-arn"] == sub_arn
    assert bye["Message"].startswith(f"You have chosen to deactivate subscription {sub_arn}.")
    verify(bye)
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsDeleted"] == "1"
    assert not sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert code(sns.get_subscription_attributes, SubscriptionArn=sub_arn) == "NotFound"
    sns.publish(TopicArn=arn, Message="while away")
    subscriber.nothing("/leaving")
    assert get(note["UnsubscribeURL"])[0] == 200  # again: nothing left to do, no error
    status, body = get(bye["SubscribeURL"])  # the UnsubscribeConfirmation's link restores it
    assert status == 200 and sub_arn.encode() in body
    sns.publish(TopicArn=arn, Message="back")
    assert subscriber.next("/leaving").doc["Message"] == "back"


def test_authenticate_on_unsubscribe(sns, subscriber):
    arn = topic(sns)
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=subscriber.url("/locked"))
    token = subscriber.next("/locked").doc["Token"]
    assert code(sns.confirm_subscription, TopicArn=arn, Token="0" * 128) == "InvalidParameter"
    sub_arn = sns.confirm_subscription(TopicArn=arn, Token=token, AuthenticateOnUnsubscribe="true")["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]["ConfirmationWasAuthenticated"] \
        == "true"
    sns.publish(TopicArn=arn, Message="x")
    status, body = get(subscriber.next("/locked").doc["UnsubscribeURL"])
    assert status == 403 and b"<Code>AuthorizationError</Code>" in body
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"][0]["SubscriptionArn"] == sub_arn
    sns.unsubscribe(SubscriptionArn=sub_arn)  # its owner, signed
    assert not sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]


def test_retries_then_give_up(sns, subscriber):
    arn = topic(sns)
    flaky = confirmed(sns, subscriber, arn, "/flaky", DeliveryPolicy=FAST_RETRIES)
    confirmed(sns, subscriber, arn, "/gone", DeliveryPolicy=FAST_RETRIES)
    subscriber.answers["/flaky"] = [500, 503]
    subscriber.answers["/gone"] = [404]
    message_id = sns.publish(TopicArn=arn, Message="try hard")["MessageId"]
    started = time.monotonic()
    attempts = [subscriber.next("/flaky") for _ in range(3)]
    assert {a.doc["MessageId"] for a in attempts} == {message_id} and time.monotonic() - started >= 1.5
    assert subscriber.next("/gone").doc["MessageId"] == message_id
    subscriber.nothing("/gone", 2.5)  # a 4xx answer is not retried
    effective = sns.get_subscription_attributes(SubscriptionArn=flaky)["Attributes"]["EffectiveDeliveryPolicy"]
    assert '"numRetries":2' in effective and '"minDelayTarget":1' in effective


def test_a_dead_endpoint_delays_nobody(sns, subscriber):
    arn = topic(sns)
    confirmed(sns, subscriber, arn, "/alive")
    closed = Subscriber()  # an endpoint that stops listening once subscribed
    confirmed(sns, closed, arn, "/dead", DeliveryPolicy=FAST_RETRIES)
    closed.close()
    for text in ("one", "two", "three"):
        started = time.monotonic()
        sns.publish(TopicArn=arn, Message=text)
        assert time.monotonic() - started < 2  # the answer does not wait for any delivery
        assert subscriber.next("/alive").doc["Message"] == text


def test_deleting_a_topic_ends_its_subscriptions(sns, subscriber):
    name = f"t-{uuid.uuid4().hex[:12]}"
    arn = sns.create_topic(Name=name)["TopicArn"]
    sub_arn = confirmed(sns, subscriber, arn, "/deleted")
    sns.delete_topic(TopicArn=arn)
    assert sub_arn not in [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]]
    assert code(sns.publish, TopicArn=arn, Message="x") == "NotFound"
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    assert not sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    sns.publish(TopicArn=arn, Message="to nobody")
    subscriber.nothing("/deleted")


def test_publish_batch(sns, subscriber):
    arn = topic(sns)
    confirmed(sns, subscriber, arn, "/batch")
    answer = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "first"}, {"Id": "b", "Message": "second", "Subject": "S"},
        {"Id": "c", "Message": "third", "MessageStructure": "json"}])
    assert [s["Id"] for s in answer["Successful"]] == ["a", "b"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in answer["Failed"]] == [("c", "InvalidParameter", True)]
    got = sorted((subscriber.next("/batch").doc for _ in range(2)), key=lambda d: d["Message"])
    assert [(d["Message"], d.get("Subject")) for d in got] == [("first", None), ("second", "S")]
    assert {d["MessageId"] for d in got} == {s["MessageId"] for s in answer["Successful"]}


def test_an_endpoint_password_is_sent_and_sealed(sns, subscriber, server):
    arn = topic(sns)
    url = f"http://hook-user:{'s3cr3t-' * 3}@127.0.0.1:{subscriber.port}/auth"
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=url)
    got = subscriber.next("/auth")
    assert got.headers["authorization"] == "Basic " + base64.b64encode(f"hook-user:{'s3cr3t-' * 3}".encode()).decode()
    get(got.doc["SubscribeURL"])
    [listed] = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert listed["Endpoint"] == f"http://hook-user:****@127.0.0.1:{subscriber.port}/auth"
    with sqlite3.connect(server.data_dir / "state.db") as db:
        bodies = [row[0] for row in db.execute("SELECT body FROM sns_subscriptions WHERE topic_arn = ?", (arn,))]
    assert bodies and not any("s3cr3t" in body for body in bodies)


def test_cloudwatch_alarm_notifies_its_topic(server, sns, subscriber):
    arn = topic(sns)
    confirmed(sns, subscriber, arn, "/alarm")
    cloudwatch = server.client("cloudwatch")
    name = f"a-{uuid.uuid4().hex[:8]}"
    cloudwatch.put_metric_alarm(AlarmName=name, Namespace="Test", MetricName="M", Statistic="Average", Period=60,
                                EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                                AlarmActions=[arn])
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing the action")
    note = subscriber.next("/alarm", 30).doc
    assert note["Subject"].startswith(f'ALARM: "{name}"')
    assert f'"AlarmName": "{name}"' in note["Message"] and '"NewStateValue": "ALARM"' in note["Message"]
    verify(note)
    cloudwatch.delete_alarms(AlarmNames=[name])
