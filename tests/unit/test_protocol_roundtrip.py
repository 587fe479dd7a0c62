"""Round trips through the protocol layer with botocore on the other side: what a client
serializes parses back to the same dict, and what a provider returns reaches the client intact."""

import datetime

import pytest

from cloudlet.edge import models, protocols
from tests.unit.wire import parse, read_response

UTC = datetime.timezone.utc
T1 = datetime.datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
T2 = datetime.datetime(2026, 3, 1, 12, 31, 0, 250000, tzinfo=UTC)

REQUESTS = [
    ("ec2", None, "DescribeInstances", {
        "InstanceIds": ["i-0123456789abcdef0", "i-1"],
        "Filters": [{"Name": "tag:Name", "Values": ["web", "db*"]}, {"Name": "instance-state-name", "Values": ["running"]}],
        "MaxResults": 50, "DryRun": False}),
    ("ec2", None, "CreateTags", {"Resources": ["vpc-1"], "Tags": [{"Key": "a b", "Value": "x=y&z"}, {"Key": "empty", "Value": ""}]}),
    ("ec2", None, "ModifyInstanceAttribute", {"InstanceId": "i-1", "UserData": {"Value": b"#!/bin/sh\n\x00\xff"},
                                              "DisableApiTermination": {"Value": True}}),
    ("ec2", None, "DescribeSpotPriceHistory", {"StartTime": T1, "EndTime": T2, "InstanceTypes": ["t3.micro"]}),
    ("ec2", None, "RunInstances", {
        "ImageId": "ami-1", "MinCount": 1, "MaxCount": 2, "KeyName": "dev", "UserData": "aGk=",
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "DeleteOnTermination": True}}],
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}]}),
    ("ecs", None, "RegisterTaskDefinition", {
        "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
        "containerDefinitions": [{
            "name": "web", "image": "nginx", "cpu": 99, "memory": 100, "essential": True,
            "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            "environment": [{"name": "A", "value": "1"}], "dockerLabels": {"team": "shop", "tier": "front"},
            "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5},
            "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}]}]}),
    ("ecr", None, "UploadLayerPart", {"repositoryName": "shop/web", "uploadId": "0f8e7a4c-1b2d-4e5f-8a9b-0c1d2e3f4a5b", "partFirstByte": 0,
                                      "partLastByte": 3, "layerPartBlob": b"\x00\x01\xfe\xff"}),
    ("logs", None, "PutLogEvents", {"logGroupName": "/ecs/web", "logStreamName": "s",
                                    "logEvents": [{"timestamp": 1767225600000, "message": "hello"}]}),
    ("cloudwatch", None, "PutMetricData", {"Namespace": "App", "MetricData": [{
        "MetricName": "Latency", "Timestamp": T1, "Value": 12.5, "Unit": "Milliseconds",
        "Dimensions": [{"Name": "Service", "Value": "web"}], "Values": [1.0, 2.5], "Counts": [3.0, 1.0]}]}),
    ("cloudwatch", "json", "PutMetricData", {"Namespace": "App", "MetricData": [{
        "MetricName": "Latency", "Timestamp": T1, "Value": 12.5, "StorageResolution": 1}]}),
    ("cloudwatch", "query", "PutMetricData", {"Namespace": "App", "MetricData": [{
        "MetricName": "Latency", "Timestamp": T2, "Value": 0.25, "Dimensions": [{"Name": "A", "Value": "b"}]}]}),
    ("cloudwatch", None, "GetMetricData", {"StartTime": T1, "EndTime": T2, "MetricDataQueries": [{
        "Id": "q1", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": "App", "MetricName": "Latency"}, "Period": 60, "Stat": "Average"}}]}),
    ("autoscaling", None, "CreateAutoScalingGroup", {
        "AutoScalingGroupName": "web", "MinSize": 1, "MaxSize": 3, "AvailabilityZones": ["us-east-1a", "us-east-1b"],
        "LaunchTemplate": {"LaunchTemplateName": "lt-web", "Version": "$Latest"},
        "Tags": [{"Key": "k", "Value": "v", "PropagateAtLaunch": True}]}),
    ("elbv2", None, "CreateLoadBalancer", {"Name": "web", "Subnets": ["subnet-1", "subnet-2"],
                                           "Tags": [{"Key": "k", "Value": "v"}], "Type": "application"}),
    ("sts", None, "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s1",
                                 "DurationSeconds": 900, "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/x"}],
                                 "Tags": [{"Key": "k", "Value": "v"}]}),
    ("sns", None, "CreateTopic", {"Name": "t", "Attributes": {"DisplayName": "x", "Policy": "{}"}}),
    ("lambda", None, "Invoke", {"FunctionName": "my-fn", "InvocationType": "Event", "Qualifier": "v1",
                                "Payload": b'{"a": 1}'}),
    ("lambda", None, "CreateFunction", {"FunctionName": "f", "Role": "arn:aws:iam::123456789012:role/r",
                                        "Code": {"ZipFile": b"PK\x03\x04"}, "Environment": {"Variables": {"AB": "1"}},
                                        "Timeout": 30, "Publish": True}),
    ("lambda", None, "ListFunctions", {"Marker": "m", "MaxItems": 10}),
]


@pytest.mark.parametrize("service,protocol,op_name,params", REQUESTS,
                         ids=[f"{s}-{p or 'default'}-{o}" for s, p, o, _ in REQUESTS])
def test_request_parses_back(service, protocol, op_name, params):
    proto, operation, parsed = parse(service, op_name, params, protocol)
    assert proto.name == (protocol or models.service_model(service).protocol)
    assert operation.name == op_name
    assert parsed == params


RESPONSES = [
    ("ec2", None, "DescribeInstances", {"Reservations": [{
        "ReservationId": "r-1", "OwnerId": "123456789012",
        "Instances": [{"InstanceId": "i-1", "LaunchTime": T1, "EbsOptimized": False, "CpuOptions": {"CoreCount": 1},
                       "State": {"Code": 16, "Name": "running"}, "Tags": [{"Key": "Name", "Value": "<web & co>"}],
                       "SecurityGroups": [{"GroupId": "sg-1", "GroupName": "default"}]}]}],
        "NextToken": "n"}),
    ("ec2", None, "DescribeKeyPairs", {"KeyPairs": [{"KeyName": "dev", "KeyPairId": "key-1", "CreateTime": T2,
                                                     "Tags": []}]}),
    ("ecs", None, "DescribeTasks", {"tasks": [{"taskArn": "arn:aws:ecs:us-east-1:1:task/c/abc", "createdAt": T1,
                                               "containers": [{"name": "web", "exitCode": 0, "networkInterfaces": [
                                                   {"privateIpv4Address": "10.0.0.2"}]}],
                                               "overrides": {"containerOverrides": []}}],
                                    "failures": []}),
    ("ecr", None, "GetAuthorizationToken", {"authorizationData": [{"authorizationToken": "QVdTOnNlY3JldA==",
                                                                   "expiresAt": T2, "proxyEndpoint": "http://x"}]}),
    ("logs", None, "GetLogEvents", {"events": [{"timestamp": 1767225600000, "message": "a", "ingestionTime": 1}],
                                    "nextForwardToken": "f/1"}),
    ("cloudwatch", None, "GetMetricData", {"MetricDataResults": [{
        "Id": "q1", "Label": "Latency", "Timestamps": [T1, T2], "Values": [1.5, 2.0], "StatusCode": "Complete"}]}),
    ("cloudwatch", "json", "DescribeAlarms", {"MetricAlarms": [{"AlarmName": "a", "ActionsEnabled": True,
                                                                "StateUpdatedTimestamp": T1, "Threshold": 0.5}]}),
    ("cloudwatch", "query", "DescribeAlarms", {"MetricAlarms": [{"AlarmName": "a", "ActionsEnabled": True,
                                                                 "StateUpdatedTimestamp": T1, "Threshold": 0.5,
                                                                 "Dimensions": [{"Name": "n", "Value": "v"}]}]}),
    ("autoscaling", None, "DescribeAutoScalingGroups", {"AutoScalingGroups": [{
        "AutoScalingGroupName": "web", "MinSize": 1, "MaxSize": 3, "DesiredCapacity": 2, "DefaultCooldown": 300,
        "AvailabilityZones": ["us-east-1a"], "HealthCheckType": "EC2", "CreatedTime": T1,
        "Instances": [{"InstanceId": "i-1", "AvailabilityZone": "us-east-1a", "LifecycleState": "InService",
                       "HealthStatus": "Healthy", "ProtectedFromScaleIn": False}]}]}),
    ("elbv2", None, "DescribeLoadBalancers", {"LoadBalancers": [{
        "LoadBalancerArn": "arn:lb", "DNSName": "web.elb", "CreatedTime": T2,
        "AvailabilityZones": [{"ZoneName": "us-east-1a", "SubnetId": "subnet-1"}], "State": {"Code": "active"}}]}),
    ("sts", None, "GetCallerIdentity", {"UserId": "AIDA", "Account": "123456789012", "Arn": "arn:aws:iam::1:user/a"}),
    ("sts", None, "AssumeRole", {"Credentials": {"AccessKeyId": "ASIA", "SecretAccessKey": "s", "SessionToken": "t",
                                                 "Expiration": T1}, "PackedPolicySize": 5}),
    ("sns", None, "GetTopicAttributes", {"Attributes": {"DisplayName": "x", "Owner": "1"}}),
    ("lambda", None, "GetFunction", {"Configuration": {"FunctionName": "f", "Timeout": 3, "MemorySize": 128,
                                                       "Environment": {"Variables": {"A": "1"}}},
                                     "Tags": {"k": "v"}}),
    ("lambda", None, "Invoke", {"StatusCode": 202, "FunctionError": "Unhandled", "Payload": '{"ok":true}'}),
]


@pytest.mark.parametrize("service,protocol,op_name,result", RESPONSES,
                         ids=[f"{s}-{p or 'default'}-{o}" for s, p, o, _ in RESPONSES])
def test_result_reaches_client(service, protocol, op_name, result):
    model = models.service_model(service)
    protocol = protocol or model.protocol
    operation = model.operation_model(op_name)
    response = protocols.get(protocol).serialize(operation, result, "req-1")
    assert read_response(protocol, response, operation.output_shape) == result


def test_members_outside_the_model_are_not_sent():
    operation = models.service_model("sts").operation_model("GetCallerIdentity")
    response = protocols.get("query").serialize(operation, {"Account": "1", "Secret": "s3cr3t"}, "r")
    assert b"s3cr3t" not in response.body and b"<Account>1</Account>" in response.body
