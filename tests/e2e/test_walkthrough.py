"""The README walkthrough, with the stock AWS CLI and nothing but the profile `cloudlet up` wrote."""

import json
import subprocess

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_ssh_private_key


def test_caller_identity(server):
    out = json.loads(server.aws("sts", "get-caller-identity").stdout)
    assert out["Account"].isdigit() and len(out["Account"]) == 12
    assert out["Arn"] == f"arn:aws:iam::{out['Account']}:user/admin"
    assert out["UserId"].startswith("AIDA")


def test_profile_points_at_the_server(server):
    config = (server.home / ".aws" / "config").read_text()
    assert f"endpoint_url = {server.endpoint}" in config
    assert "region = us-east-1" in config


def test_describe_regions(server):
    out = json.loads(server.aws("ec2", "describe-regions").stdout)
    names = [r["RegionName"] for r in out["Regions"]]
    assert "us-east-1" in names and "eu-west-1" in names and len(names) >= 10
    assert all(r["OptInStatus"] == "opt-in-not-required" for r in out["Regions"])
    one = json.loads(server.aws("ec2", "describe-regions", "--region-names", "eu-west-1").stdout)
    assert [r["RegionName"] for r in one["Regions"]] == ["eu-west-1"]


def test_every_region_has_three_zones(server):
    for region in ("us-east-1", "eu-central-1", "ap-southeast-2"):
        out = json.loads(server.aws("ec2", "describe-availability-zones", "--region", region).stdout)
        zones = out["AvailabilityZones"]
        assert len(zones) >= 3
        assert {z["RegionName"] for z in zones} == {region}
        assert all(z["State"] == "available" and z["ZoneName"].startswith(region) for z in zones)


def test_create_key_pair_text_output_is_a_usable_key(server, tmp_path):
    proc = server.aws("ec2", "create-key-pair", "--key-name", "dev", "--key-type", "ed25519",
                      "--query", "KeyMaterial", "--output", "text")
    pem = tmp_path / "dev.pem"
    pem.write_text(proc.stdout)
    key = load_ssh_private_key(pem.read_bytes(), password=None)
    described = json.loads(server.aws("ec2", "describe-key-pairs", "--key-names", "dev",
                                      "--include-public-key").stdout)["KeyPairs"][0]
    assert described["KeyType"] == "ed25519"
    public = key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    assert described["PublicKey"].split()[:2] == public.split()[:2]
    pem.chmod(0o600)  # ssh-keygen (openssh-client, installed by setup) reads it as ssh would
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(pem)], capture_output=True, text=True, check=True)
    assert derived.stdout.split()[:2] == public.split()[:2]
    server.aws("ec2", "delete-key-pair", "--key-name", "dev")


def test_cli_reports_aws_errors(server):
    proc = server.aws("ec2", "describe-key-pairs", "--key-names", "no-such-key", check=False)
    assert proc.returncode != 0
    assert "InvalidKeyPair.NotFound" in proc.stderr
