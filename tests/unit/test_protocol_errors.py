"""Bad requests get AWS's error code and message in each protocol's envelope, as botocore reads it."""

import json

import pytest

from cloudlet.edge import models, protocols
from cloudlet.edge.errors import AWSError
from tests.unit.wire import parse, read_response, to_request


def refused(service, op_name, params, protocol=None) -> AWSError:
    with pytest.raises(AWSError) as err:
        parse(service, op_name, params, protocol)
    return err.value


def as_client_sees(protocol: str, service: str, error: AWSError) -> tuple[str, str, int]:
    model = models.service_model(service)
    response = protocols.get(protocol).serialize_error(model, error, "req-9")
    parsed = read_response(protocol, response, None)
    return parsed["Error"]["Code"], parsed["Error"]["Message"], response.status


def test_ec2_missing_member_names_the_wire_parameter():
    error = refused("ec2", "CreateKeyPair", {})
    assert (error.code, error.message) == ("MissingParameter", "The request must contain the parameter KeyName")


def body_refused(service, op_name, body: bytes) -> AWSError:
    """The error for a request botocore would never send, with this body."""
    model = models.service_model(service)
    request = to_request(service, op_name, {})
    request.body = body
    request.__dict__.pop("form", None)
    proto = protocols.detect(model, request)
    with pytest.raises(AWSError) as err:
        proto.parse(proto.find_operation(model, request), request)
    return err.value


def raw_refused(service, op_name, extra: bytes) -> AWSError:
    """Parameters botocore would never send (it coerces them), added to the form by hand."""
    return body_refused(service, op_name, to_request(service, op_name, {}).body + extra)


def test_ec2_nested_missing_member():
    error = raw_refused("ec2", "CreateTags", b"&ResourceId.1=i-1&Tag.1.Value=v&DryRun=yes")
    assert error.code == "InvalidParameterValue"  # the wrong boolean is reported; Key is optional in the model
    assert "Value 'yes' at 'dryRun'" in error.message


def test_ec2_enum_and_integer_range():
    error = refused("ec2", "CreateKeyPair", {"KeyName": "k", "KeyType": "dsa"})
    assert error.code == "InvalidParameterValue"
    assert error.message == ("1 validation error detected: Value 'dsa' at 'keyType' failed to satisfy constraint: "
                             "Member must satisfy enum value set: [rsa, ed25519]")
    error = raw_refused("ec2", "DescribeVolumes", b"&MaxResults=99999999999")
    assert "Value '99999999999' at 'maxResults' failed to satisfy constraint: Member must be of type integer" in error.message


def test_query_missing_and_length_errors_are_counted():
    error = refused("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "x",
                                          "DurationSeconds": 2**40})
    assert error.code == "ValidationError"
    assert error.message.startswith("2 validation errors detected: ")
    assert "Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2" in error.message
    assert "at 'durationSeconds'" in error.message


def test_query_missing_member():
    error = refused("sts", "AssumeRole", {"RoleSessionName": "session"})
    assert error.message == ("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: "
                             "Member must not be null")


@pytest.mark.parametrize("protocol", [None, "json"])
def test_json_and_cbor_constraint_errors(protocol):
    error = refused("cloudwatch", "GetMetricData", {"MetricDataQueries": [{"Id": ""}], "StartTime": 0}, protocol)
    assert error.code == "ValidationException"
    assert error.message == (
        "2 validation errors detected: Value '' at 'metricDataQueries.1.member.id' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; "
        "Value null at 'endTime' failed to satisfy constraint: Member must not be null")


def test_json_wrong_type_is_a_serialization_error():
    error = body_refused("ecs", "ListClusters", json.dumps({"maxResults": "ten"}).encode())
    assert error.code == "SerializationException" and "maxResults" in error.message


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"'])
def test_json_junk_body(body):
    error = body_refused("ecr", "DescribeRepositories", body)
    assert (error.code, error.status) == ("SerializationException", 400)


@pytest.mark.parametrize("body", [b'{"repositoryNames": ["\\udc80"]}', b'{"\\ud800": 1}',
                                  b'{"repositoryNames": ["a\\ud83d"]}'])
def test_json_lone_surrogates_are_not_text(body):
    error = body_refused("ecr", "DescribeRepositories", body)
    assert (error.code, error.status) == ("SerializationException", 400) and "surrogate" in error.message


def test_json_surrogate_pairs_are_text():
    # botocore sends an emoji as the pair \\ud83d\\ude00, which JSON reads back as one character
    _, _, params = parse("ecs", "DescribeClusters", {"clusters": ["\U0001f600"]})
    assert params == {"clusters": ["\U0001f600"]}


@pytest.mark.parametrize("body", [b"\xff\xff\xff", b"\x9f", b"\x01"])
def test_cbor_junk_body(body):
    assert body_refused("cloudwatch", "ListMetrics", body).code == "SerializationException"


def test_rest_json_label_and_header_validation():
    error = refused("lambda", "Invoke", {"FunctionName": "fn", "InvocationType": "Sometimes"})
    assert error.code == "ValidationException" and "invocationType" in error.message


@pytest.mark.parametrize("service,protocol,header,value,code", [
    ("ec2", "ec2", None, None, "InvalidAction"),
    ("sts", "query", None, None, "InvalidAction"),
    ("ecs", "json", "x-amz-target", "AmazonEC2ContainerServiceV20141113.LaunchRockets", "UnknownOperationException"),
    ("ecs", "json", "x-amz-target", "SomeOtherService.ListClusters", "UnknownOperationException"),
])
def test_unknown_operation_is_named(service, protocol, header, value, code):
    model = models.service_model(service)
    first = model.operation_names[0]
    request = to_request(service, first, {})
    if header:
        request.headers[header] = value
    else:
        request.body = request.body.replace(f"Action={first}".encode(), b"Action=LaunchRockets")
        request.__dict__.pop("form", None)
    proto = protocols.detect(model, request)
    with pytest.raises(AWSError) as err:
        proto.find_operation(model, request)
    assert (err.value.code, err.value.status) == (code, 400)
    assert ("LaunchRockets" if "Launch" in (value or "LaunchRockets") else "SomeOtherService") in err.value.message


def test_cbor_unknown_operation_from_path():
    model = models.service_model("cloudwatch")
    request = to_request("cloudwatch", "ListMetrics", {})
    request.path = request.raw_path = request.path.replace("ListMetrics", "FlyAway")
    with pytest.raises(AWSError) as err:
        protocols.detect(model, request).find_operation(model, request)
    assert err.value.code == "UnknownOperationException" and "FlyAway" in err.value.message


def test_missing_action():
    request = to_request("sts", "GetCallerIdentity", {})
    request.body = b"Version=2011-06-15"
    with pytest.raises(AWSError) as err:
        protocols.get("query").find_operation(models.service_model("sts"), request)
    assert err.value.code == "MissingAction"


@pytest.mark.parametrize("protocol,service", [("ec2", "ec2"), ("query", "sts"), ("json", "ecs"),
                                              ("smithy-rpc-v2-cbor", "cloudwatch"), ("rest-json", "lambda")])
@pytest.mark.parametrize("error", [AWSError("InvalidKeyPair.NotFound", "The key pair 'x' does not exist"),
                                   AWSError("InternalFailure", "<boom> & \"quotes\"", 500, sender=False)])
def test_error_envelopes(protocol, service, error):
    assert as_client_sees(protocol, service, error) == (error.code, error.message, error.status)


def test_query_compatible_error_header():
    model = models.service_model("cloudwatch")
    response = protocols.get("smithy-rpc-v2-cbor").serialize_error(model, AWSError("InvalidParameterValue", "m"), "r")
    assert response.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"


def test_query_list_and_struct_given_as_plain_values():
    error = raw_refused("autoscaling", "DescribeAutoScalingGroups", b"&AutoScalingGroupNames=plain&MaxRecords.member.1=5")
    assert error.code == "ValidationError"
    assert "autoScalingGroupNames" in error.message and "maxRecords" in error.message


def test_form_with_too_many_fields():
    request = to_request("sts", "GetCallerIdentity", {})
    request.body += b"".join(b"&f%d=1" % i for i in range(30000))
    with pytest.raises(AWSError) as err:
        protocols.get("query").find_operation(models.service_model("sts"), request)
    assert err.value.code == "MalformedQueryString"
