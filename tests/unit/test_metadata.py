"""The instance metadata service's answers, with IMDSv2 session tokens. The instance is known
by the address it asks from; Starlette's test client asks from "testclient"."""

import json

import pytest
from starlette.testclient import TestClient

from cloudlet.edge.listeners import instance_metadata_app

from cloudlet.services.common import tags
from cloudlet.services.ec2.instance_attributes import metadata_options
from cloudlet.store import Store
from cloudlet.store.schema import ec2_instances


def serve(tmp_path, **extra) -> TestClient:
    store = Store(tmp_path / "state.db")
    body = {**extra, "InstanceId": "i-0123456789abcdef0", "VpcId": "vpc-0123456789abcdef0", "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro",
            "PrivateIpAddress": "testclient", "PrivateDnsName": "ip-10-0-0-5.us-east-1.compute.internal",
            "Placement": {"AvailabilityZone": "us-east-1a"}, "AmiLaunchIndex": 0, "LaunchTime": "2026-11-26T00:00:00",
            "_run": {"reservation": "r-0123456789abcdef0", "user_data": "ZWNobyBoaQ=="}}
    with store.scoped("123456789012", "us-east-1") as db:
        db.insert(ec2_instances, instance_id=body["InstanceId"], desired="running", state="running",
                  body=json.dumps(body), updated_at="now")
        tags.put(db, body["InstanceId"], "instance", {"Name": "web", "team": "shop"})
    # as if asked through the router of the instance's VPC, whose uplink ends at "testserver"
    return TestClient(instance_metadata_app(store, {"testserver": body["VpcId"]}.get))


@pytest.fixture
def client(tmp_path):
    return serve(tmp_path)


def test_v1_answers(client):
    assert client.get("/latest/meta-data/instance-id").text == "i-0123456789abcdef0"
    assert client.get("/latest/meta-data/placement/availability-zone").text == "us-east-1a"
    assert client.get("/latest/user-data").text == "echo hi"
    assert "instance-id" in client.get("/latest/meta-data/").text.split("\n")
    document = json.loads(client.get("/latest/dynamic/instance-identity/document").text)
    assert (document["accountId"], document["region"]) == ("123456789012", "us-east-1")
    assert client.get("/latest/meta-data/nope").status_code == 404


def test_v2_tokens(client):
    token = client.put("/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}).text
    assert client.get("/latest/meta-data/instance-id",
                      headers={"X-aws-ec2-metadata-token": token}).text == "i-0123456789abcdef0"
    assert client.get("/latest/meta-data/instance-id",
                      headers={"X-aws-ec2-metadata-token": token[:-1] + "x"}).status_code == 401
    assert client.put("/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "0"}).status_code == 400
    assert client.put("/latest/api/token").status_code == 400
    assert client.put("/latest/meta-data/instance-id").status_code == 403


def test_options_require_tokens_show_tags_or_turn_it_off(tmp_path):
    strict = serve(tmp_path, MetadataOptions=metadata_options({"HttpTokens": "required",
                                                               "InstanceMetadataTags": "enabled"}))
    assert strict.get("/latest/meta-data/instance-id").status_code == 401  # IMDSv1 refused
    token = strict.put("/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}).text
    headers = {"X-aws-ec2-metadata-token": token}
    assert strict.get("/latest/meta-data/tags/instance", headers=headers).text == "Name\nteam"
    assert strict.get("/latest/meta-data/tags/instance/team", headers=headers).text == "shop"


def test_tags_hidden_by_default_and_endpoint_off(tmp_path, client):
    assert client.get("/latest/meta-data/tags/instance").status_code == 404
    off = serve(tmp_path / "off", MetadataOptions=metadata_options({"HttpEndpoint": "disabled"}))
    assert off.get("/latest/meta-data/instance-id").status_code == 403


def test_options_are_checked():
    from cloudlet.edge.errors import AWSError

    for bad in ({"HttpTokens": "sometimes"}, {"HttpPutResponseHopLimit": 65}):
        with pytest.raises(AWSError):
            metadata_options(bad)
    assert metadata_options({"HttpPutResponseHopLimit": 2})["HttpPutResponseHopLimit"] == 2
