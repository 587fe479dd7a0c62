"""SNS's API through boto3 and the AWS CLI: topics and their attributes, paging, tags, AWS's
refusals of bad input, accounts kept apart, endpoints SNS will not deliver to, and the unsigned
links that may do only what their token allows. Deliveries: test_sns_delivery.py."""

import json
import urllib.parse
import urllib.request
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.e2e.sns_helpers import confirmed, get, http_subscriber, sns_client  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def other(server):
    key, secret = server.new_account(f"sns-other-{uuid.uuid4().hex[:6]}")
    return server.client("sns", key=key, secret=secret)


def refusal(call, **kw) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as err:
        call(**kw)
    response = err.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def name() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def test_topics(sns, server):
    topic = name()
    arn = sns.create_topic(Name=topic, Attributes={"DisplayName": "Shop"})["TopicArn"]
    account = server.client("sts").get_caller_identity()["Account"]
    assert arn == f"arn:aws:sns:us-east-1:{account}:{topic}"
    assert sns.create_topic(Name=topic, Attributes={"DisplayName": "Shop"})["TopicArn"] == arn  # idempotent
    assert sns.create_topic(Name=topic)["TopicArn"] == arn
    assert refusal(sns.create_topic, Name=topic, Attributes={"DisplayName": "Other"}) == (
        "InvalidParameter", "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
        400)
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Shop" and attributes["Owner"] == account and attributes["TopicArn"] == arn
    assert json.loads(attributes["Policy"])["Statement"][0]["Condition"] == {
        "StringEquals": {"AWS:SourceOwner": account}}
    assert json.loads(attributes["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 3
    assert (attributes["SubscriptionsConfirmed"], attributes["SubscriptionsPending"],
            attributes["SubscriptionsDeleted"]) == ("0", "0", "0")
    policy = json.dumps({"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 5, "maxDelayTarget": 30,
                                                                "numRetries": 4, "backoffFunction": "exponential"}}})
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=policy)
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Shop 2")
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    effective = json.loads(attributes["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]
    assert attributes["DeliveryPolicy"] == policy and effective["maxDelayTarget"] == 30
    assert attributes["DisplayName"] == "Shop 2"
    printed = server.aws("sns", "get-topic-attributes", "--topic-arn", arn, "--query", "Attributes.DisplayName",
                         "--output", "text").stdout.strip()
    assert printed == "Shop 2"
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # deleting what is gone is no error
    assert refusal(sns.get_topic_attributes, TopicArn=arn) == ("NotFound", "Topic does not exist", 404)


def test_paging(server):
    sns = server.client("sns", region="eu-west-3")  # a region of its own: the count is exact
    arns = sorted(sns.create_topic(Name=f"page-{n:03d}")["TopicArn"] for n in range(205))
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and first["NextToken"]
    listed = [t["TopicArn"] for page in sns.get_paginator("list_topics").paginate() for t in page["Topics"]]
    assert listed == arns
    assert refusal(sns.list_topics, NextToken="garbage!") == ("InvalidParameter", "Invalid parameter: NextToken", 400)
    for arn in arns:
        sns.delete_topic(TopicArn=arn)
    assert sns.list_topics()["Topics"] == []


def test_subscription_paging(server, subscriber):
    sns = server.client("sns", region="eu-north-1")
    arn = sns.create_topic(Name="many")["TopicArn"]
    for n in range(103):
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=subscriber.url(f"/many/{n}"))
    for page in (sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn),
                 sns.get_paginator("list_subscriptions").paginate()):
        sizes = [len(p["Subscriptions"]) for p in page]
        assert sizes == [100, 3]
    sns.delete_topic(TopicArn=arn)
    assert sns.list_subscriptions()["Subscriptions"] == []


def test_tags(sns):
    arn = sns.create_topic(Name=name(), Tags=[{"Key": "team", "Value": "web"}])["TopicArn"]
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "api"}])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"},
                                                                    {"Key": "team", "Value": "api"}]
    sns.untag_resource(ResourceArn=arn, TagKeys=["team", "absent"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert refusal(sns.create_topic, Name=arn.rsplit(":", 1)[1], Tags=[{"Key": "env", "Value": "dev"}])[1] == \
        "Invalid parameter: Tags Reason: Topic already exists with different tags"
    many = [{"Key": f"k{n}", "Value": "v"} for n in range(50)]
    assert refusal(sns.tag_resource, ResourceArn=arn, Tags=many)[0] == "TagLimitExceeded"
    assert refusal(sns.tag_resource, ResourceArn=arn, Tags=[{"Key": "aws:x", "Value": "v"}])[0] == "InvalidParameter"
    assert refusal(sns.tag_resource, ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]) \
        == ("InvalidParameter", "Invalid parameter: Duplicated keys are not allowed.", 400)
    sns.delete_topic(TopicArn=arn)
    assert refusal(sns.list_tags_for_resource, ResourceArn=arn) == ("ResourceNotFound", "Resource does not exist", 404)


def test_bad_input(sns, subscriber):
    arn = sns.create_topic(Name=name())["TopicArn"]
    account = arn.split(":")[4]
    missing = f"arn:aws:sns:us-east-1:{account}:no-such-topic"
    cases = [
        (sns.create_topic, {"Name": "has space"}, "InvalidParameter", "Invalid parameter: Topic Name"),
        (sns.create_topic, {"Name": "x" * 257}, "InvalidParameter", "Invalid parameter: Topic Name"),
        (sns.create_topic, {"Name": "orders.fifo", "Attributes": {"FifoTopic": "true"}}, "InvalidParameter",
         "Invalid parameter: Attributes Reason: FifoTopic: cloudlet has no FIFO topics"),
        (sns.create_topic, {"Name": "a", "Attributes": {"Bogus": "1"}}, "InvalidParameter",
         "Invalid parameter: Attributes Reason: AttributeName"),
        (sns.create_topic, {"Name": "a", "Attributes": {"Policy": "{nope"}}, "InvalidParameter",
         "Invalid parameter: Attributes Reason: Policy Error"),
        (sns.create_topic, {"Name": "a", "Attributes": {"DeliveryPolicy": '{"http": {"defaultHealthyRetryPolicy": '
                                                                          '{"minDelayTarget": 0}}}'}},
         "InvalidParameter", "Invalid parameter: Attributes Reason: DeliveryPolicy: minDelayTarget must be"),
        (sns.get_topic_attributes, {"TopicArn": "not-an-arn"}, "InvalidParameter", "Invalid parameter: TopicArn"),
        (sns.get_topic_attributes, {"TopicArn": arn.replace("us-east-1", "eu-west-1")}, "InvalidParameter",
         "Invalid parameter: TopicArn"),
        (sns.get_topic_attributes, {"TopicArn": missing}, "NotFound", "Topic does not exist"),
        (sns.set_topic_attributes, {"TopicArn": arn, "AttributeName": "FifoTopic", "AttributeValue": "true"},
         "InvalidParameter", "Invalid parameter: AttributeName"),
        (sns.set_topic_attributes, {"TopicArn": arn, "AttributeName": "SignatureVersion", "AttributeValue": "3"},
         "InvalidParameter", "Invalid parameter: SignatureVersion"),
        (sns.set_topic_attributes, {"TopicArn": arn, "AttributeName": "DisplayName", "AttributeValue": "x" * 101},
         "InvalidParameter", "Invalid parameter: DisplayName"),
        (sns.subscribe, {"TopicArn": missing, "Protocol": "http", "Endpoint": subscriber.url("/x")}, "NotFound",
         "Topic does not exist"),
        (sns.subscribe, {"TopicArn": arn, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:1:q"},
         "InvalidParameter", "Invalid parameter: Protocol Reason: cloudlet delivers only to http and https"),
        (sns.subscribe, {"TopicArn": arn, "Protocol": "email", "Endpoint": "a@b.c"}, "InvalidParameter",
         "cloudlet delivers only to http and https endpoints, not email"),
        (sns.subscribe, {"TopicArn": arn, "Protocol": "carrier-pigeon", "Endpoint": "x"}, "InvalidParameter",
         "Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon"),
        (sns.subscribe, {"TopicArn": arn, "Protocol": "https", "Endpoint": subscriber.url("/x")}, "InvalidParameter",
         "Invalid parameter: Endpoint must match the specified protocol"),
        (sns.subscribe, {"TopicArn": arn, "Protocol": "http"}, "InvalidParameter",
         "Invalid parameter: Endpoint must match the specified protocol"),
        (sns.subscribe, {"TopicArn": arn, "Protocol": "http", "Endpoint": "http://:80/"}, "InvalidParameter",
         "Invalid parameter: Endpoint Reason"),
        (sns.publish, {"TopicArn": missing, "Message": "m"}, "NotFound", "Topic does not exist"),
        (sns.publish, {"TopicArn": arn, "Message": ""}, "InvalidParameter", "Invalid parameter: Empty message"),
        (sns.publish, {"Message": "m"}, "InvalidParameter",
         "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"),
        (sns.publish, {"TopicArn": arn, "TargetArn": arn, "Message": "m"}, "InvalidParameter",
         "Invalid parameter: TopicArn Reason: Only one of TopicArn or TargetArn"),
        (sns.publish, {"PhoneNumber": "+15555550100", "Message": "m"}, "InvalidParameter",
         "Invalid parameter: PhoneNumber Reason: cloudlet does not send SMS messages"),
        (sns.publish, {"TopicArn": arn, "Message": "m" * 262_145}, "InvalidParameter",
         "Invalid parameter: Message too long"),
        (sns.publish, {"TopicArn": arn, "Message": "m", "Subject": "two\nlines"}, "InvalidParameter",
         "Invalid parameter: Subject"),
        (sns.publish, {"TopicArn": arn, "Message": "m", "Subject": "s" * 101}, "InvalidParameter",
         "Invalid parameter: Subject"),
        (sns.publish, {"TopicArn": arn, "Message": "m", "MessageStructure": "json"}, "InvalidParameter",
         "Invalid parameter: Message Structure - JSON message body failed to parse"),
        (sns.publish, {"TopicArn": arn, "Message": '{"http": "x"}', "MessageStructure": "json"}, "InvalidParameter",
         "Invalid parameter: Message Structure - No default entry in JSON message body"),
        (sns.publish, {"TopicArn": arn, "Message": "m", "MessageDeduplicationId": "d"}, "InvalidParameter",
         "Invalid parameter: MessageDeduplicationId Reason"),
        (sns.publish_batch, {"TopicArn": arn, "PublishBatchRequestEntries": [{"Id": "a", "Message": "m"}] * 2},
         "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id."),
        (sns.publish_batch, {"TopicArn": arn, "PublishBatchRequestEntries": [
            {"Id": str(n), "Message": "m"} for n in range(11)]}, "TooManyEntriesInBatchRequest",
         "The batch request contains more entries than permissible."),
        (sns.publish_batch, {"TopicArn": arn, "PublishBatchRequestEntries": [{"Id": "a.b", "Message": "m"}]},
         "InvalidBatchEntryId", "The Id of a batch entry"),
        (sns.unsubscribe, {"SubscriptionArn": "arn:aws:sns:us-east-1:1:x"}, "InvalidParameter",
         "Invalid parameter: SubscriptionArn"),
        (sns.get_subscription_attributes, {"SubscriptionArn": f"{arn}:{uuid.uuid4()}"}, "NotFound",
         "Subscription does not exist"),
        (sns.list_subscriptions_by_topic, {"TopicArn": missing}, "NotFound", "Topic does not exist"),
        (sns.confirm_subscription, {"TopicArn": arn, "Token": "forged"}, "InvalidParameter",
         "Invalid parameter: Token"),
    ]
    cases += [(sns.subscribe, {"TopicArn": arn, "Protocol": "http", "Endpoint": subscriber.url("/x"),
                               "Attributes": attributes}, "InvalidParameter", message) for attributes, message in [
        ({"RawMessageDelivery": "maybe"},
         "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [maybe]. Must be true or false."),
        ({"FilterPolicy": '{"a": "b"}'},
         'Invalid parameter: Attributes Reason: FilterPolicy: "a" must be an object or an array'),
        ({"FilterPolicyScope": "Everything"},
         "Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [Everything]"),
        ({"RedrivePolicy": "{}"}, "Invalid parameter: Attributes Reason: AttributeName"),
    ]]
    cases += [(sns.publish, {"TopicArn": arn, "Message": "m", "MessageAttributes": attributes},
               "ParameterValueInvalid", message) for attributes, message in [
        ({"n": {"DataType": "Number", "StringValue": "ten"}}, "Could not cast message attribute 'n' value to number."),
        ({"a b": {"DataType": "String", "StringValue": "x"}},
         "Invalid non-alphanumeric character '#x20' was found in the message attribute name."),
        ({"a": {"DataType": "Text", "StringValue": "x"}},
         "The message attribute 'a' has an invalid message attribute type"),
        ({"a": {"DataType": "Binary", "StringValue": "x"}},
         "The message attribute 'a' with type 'Binary' must use field 'Binary'."),
        ({"AWS.x": {"DataType": "String", "StringValue": "x"}}, "reserved for internal use"),
        ({f"k{n}": {"DataType": "String", "StringValue": "x"} for n in range(11)},
         "Number of message attributes [11] exceeds the allowed maximum [10]."),
    ]]
    for call, kw, want_code, want_message in cases:
        got_code, message, status = refusal(call, **kw)
        assert (got_code, status) == (want_code, 404 if want_code == "NotFound" else 400), (kw, message)
        assert message.startswith(want_message) or want_message in message, (kw, message)
    sub = confirmed(sns, subscriber, arn, "/bad-input")
    for attribute, value, want in [
        ("Protocol", "https", "Invalid parameter: AttributeName"),
        ("DeliveryPolicy", '{"healthyRetryPolicy": {"numRetries": 101}}',
         "Invalid parameter: DeliveryPolicy: numRetries must be an integer"),
        ("FilterPolicy", '{"a": [{"numeric": [">", 5, "<", 1]}]}', "Invalid parameter: FilterPolicy: Bottom must be"),
    ]:
        message = refusal(sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName=attribute,
                          AttributeValue=value)[1]
        assert message.startswith(want), message
    assert refusal(sns.subscribe, TopicArn=arn, Protocol="http", Endpoint=subscriber.url("/bad-input"),
                   Attributes={"RawMessageDelivery": "true"})[1] == \
        "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"
    assert sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=subscriber.url("/bad-input"))["SubscriptionArn"] == sub
    sns.delete_topic(TopicArn=arn)


def test_accounts_are_kept_apart(sns, other, subscriber):
    topic = name()
    arn = sns.create_topic(Name=topic)["TopicArn"]
    sub = confirmed(sns, subscriber, arn, "/mine")
    theirs = other.create_topic(Name=topic)["TopicArn"]
    assert theirs != arn and theirs.split(":")[4] != arn.split(":")[4]
    assert arn not in [t["TopicArn"] for t in other.list_topics()["Topics"]]
    assert sub not in [s["SubscriptionArn"] for s in other.list_subscriptions()["Subscriptions"]]
    denied = [
        (other.publish, {"TopicArn": arn, "Message": "from outside"}),
        (other.subscribe, {"TopicArn": arn, "Protocol": "http", "Endpoint": subscriber.url("/theirs")}),
        (other.get_topic_attributes, {"TopicArn": arn}),
        (other.set_topic_attributes, {"TopicArn": arn, "AttributeName": "DisplayName", "AttributeValue": "x"}),
        (other.delete_topic, {"TopicArn": arn}),
        (other.list_subscriptions_by_topic, {"TopicArn": arn}),
        (other.tag_resource, {"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "v"}]}),
        (other.list_tags_for_resource, {"ResourceArn": arn}),
        (other.get_subscription_attributes, {"SubscriptionArn": sub}),
        (other.set_subscription_attributes, {"SubscriptionArn": sub, "AttributeName": "RawMessageDelivery",
                                             "AttributeValue": "true"}),
        (other.unsubscribe, {"SubscriptionArn": sub}),
        (other.confirm_subscription, {"TopicArn": arn, "Token": "0" * 128}),
        (other.publish_batch, {"TopicArn": arn, "PublishBatchRequestEntries": [{"Id": "a", "Message": "m"}]}),
    ]
    for call, kw in denied:
        got_code, message, status = refusal(call, **kw)
        assert (got_code, status) == ("AuthorizationError", 403), (call, message)
        assert "is not authorized to perform: SNS:" in message and arn.split(":")[4] in message
    missing = arn.rsplit(":", 1)[0] + ":does-not-exist"  # existence is not told apart either
    assert refusal(other.publish, TopicArn=missing, Message="m")[0] == "AuthorizationError"
    subscriber.nothing("/theirs", 0.5)
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsConfirmed"] == "1"
    sns.delete_topic(TopicArn=arn)
    other.delete_topic(TopicArn=theirs)


def test_endpoints_cloudlet_will_not_deliver_to(sns, server):
    arn = sns.create_topic(Name=name())["TopicArn"]
    api = server.port
    for endpoint in ["http://169.254.169.254/latest/meta-data/", "http://169.254.170.2/v2/credentials",
                     "http://[::ffff:169.254.169.254]/", "http://[fe80::1]/", f"http://127.0.0.1:{api}/",
                     f"http://localhost:{api}/?Action=CreateTopic&Name=x", f"http://0.0.0.0:{api}/",
                     f"http://127.0.0.7:{api}/v2/", f"http://[::1]:{api}/"]:
        got_code, message, _ = refusal(sns.subscribe, TopicArn=arn, Protocol="http", Endpoint=endpoint)
        assert got_code == "InvalidParameter" and message.startswith("Invalid parameter: Endpoint Reason: "), message
    assert not sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    sns.delete_topic(TopicArn=arn)


def test_unsigned_links_do_only_what_they_name(sns, server, subscriber):
    arn = sns.create_topic(Name=name())["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=subscriber.url("/link"))
    doc = subscriber.next("/link").doc
    base = server.endpoint + "/?"
    forged = doc["Token"][:-1] + ("1" if doc["Token"][-1] == "0" else "0")
    quote = urllib.parse.urlencode
    for query, status, error in [
        (quote({"Action": "ConfirmSubscription", "TopicArn": arn, "Token": forged}), 400,
         b"<Code>InvalidParameter</Code>"),
        (quote({"Action": "ConfirmSubscription", "TopicArn": arn.rsplit(":", 1)[0] + ":other", "Token": doc["Token"]}),
         400, b"Invalid parameter: Token"),  # a token is good for its own topic only
        (quote({"Action": "ConfirmSubscription", "TopicArn": arn.replace("us-east-1", "xx-nowhere-1"),
                "Token": doc["Token"]}), 400, b"Invalid parameter: TopicArn"),
        (quote({"Action": "ConfirmSubscription", "TopicArn": arn}), 400, b"<Code>ValidationError</Code>"),
        (quote({"Action": "Publish", "TopicArn": arn, "Message": "x"}), 403, b"MissingAuthenticationToken"),
        (quote({"Action": "ListTopics"}), 403, b"MissingAuthenticationToken"),
        (quote({"Action": "Unsubscribe", "SubscriptionArn": arn + ":not-a-uuid"}), 400,
         b"Invalid parameter: SubscriptionArn"),
    ]:
        got_status, body = get(base + query)
        assert (got_status, error in body) == (status, True), (query, body)
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"][0]["SubscriptionArn"] == \
        "PendingConfirmation"
    posted = urllib.request.Request(server.endpoint + "/", data=quote(
        {"Action": "ConfirmSubscription", "TopicArn": arn, "Token": doc["Token"]}).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.urlopen(posted, timeout=10)
        raise AssertionError("an unsigned POST was taken")
    except urllib.error.HTTPError as error:
        assert error.code == 403 and b"MissingAuthenticationToken" in error.read()
    assert get(doc["SubscribeURL"])[0] == 200
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"][0]["SubscriptionArn"].startswith(arn)
    sns.delete_topic(TopicArn=arn)
