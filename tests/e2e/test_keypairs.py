"""Key pairs through boto3: create, import, describe, filters, tags, delete, and their errors."""

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding, NoEncryption, PrivateFormat, PublicFormat, load_pem_private_key,
)


@pytest.fixture
def ec2(server):
    client = server.client("ec2")
    yield client
    for kp in client.describe_key_pairs()["KeyPairs"]:
        client.delete_key_pair(KeyPairId=kp["KeyPairId"])


def code_of(err) -> str:
    return err.value.response["Error"]["Code"]


def test_rsa_pem_fingerprint_is_sha1_of_pkcs8_der(ec2):
    out = ec2.create_key_pair(KeyName="rsa-key")
    assert out["KeyPairId"].startswith("key-") and len(out["KeyPairId"]) == 21
    key = load_pem_private_key(out["KeyMaterial"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    der = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    assert out["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest())
    described = ec2.describe_key_pairs(KeyNames=["rsa-key"])["KeyPairs"][0]
    assert described["KeyFingerprint"] == out["KeyFingerprint"] and described["KeyType"] == "rsa"
    assert "PublicKey" not in described and described["CreateTime"].tzinfo is not None


def test_ppk_format(ec2):
    out = ec2.create_key_pair(KeyName="putty", KeyType="ed25519", KeyFormat="ppk")
    assert out["KeyMaterial"].startswith("PuTTY-User-Key-File-")


def test_import_openssh_key_and_fingerprints(ec2):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    openssh = private.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    out = ec2.import_key_pair(KeyName="imported", PublicKeyMaterial=openssh)
    spki = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert out["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.md5(spki).digest())
    edkey = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    out = ec2.import_key_pair(KeyName="imported-ed", PublicKeyMaterial=edkey)
    blob = base64.b64decode(edkey.split()[1])
    assert out["KeyFingerprint"].rstrip("=") == base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    described = ec2.describe_key_pairs(KeyNames=["imported-ed"], IncludePublicKey=True)["KeyPairs"][0]
    assert described["PublicKey"] == " ".join(edkey.decode().split()[:2]) + " imported-ed"


def test_filters_and_tags(ec2):
    a = ec2.create_key_pair(KeyName="web-a", TagSpecifications=[
        {"ResourceType": "key-pair", "Tags": [{"Key": "team", "Value": "web"}]}])
    assert a["Tags"] == [{"Key": "team", "Value": "web"}]
    b = ec2.create_key_pair(KeyName="db-b", KeyType="ed25519")
    ec2.create_tags(Resources=[b["KeyPairId"]], Tags=[{"Key": "team", "Value": "db"}, {"Key": "tier", "Value": "2"}])

    def names(**kw):
        return sorted(k["KeyName"] for k in ec2.describe_key_pairs(**kw)["KeyPairs"])

    assert names(Filters=[{"Name": "key-name", "Values": ["web-*"]}]) == ["web-a"]
    assert names(Filters=[{"Name": "tag:team", "Values": ["db", "web"]}]) == ["db-b", "web-a"]
    assert names(Filters=[{"Name": "tag-key", "Values": ["tier"]}]) == ["db-b"]
    assert names(Filters=[{"Name": "key-pair-id", "Values": [a["KeyPairId"]]}]) == ["web-a"]
    assert names(Filters=[{"Name": "fingerprint", "Values": [b["KeyFingerprint"]]}]) == ["db-b"]
    assert names(KeyPairIds=[b["KeyPairId"]]) == ["db-b"]

    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [b["KeyPairId"]]}])["Tags"]
    assert {(t["Key"], t["Value"], t["ResourceType"]) for t in tags} == {("team", "db", "key-pair"), ("tier", "2", "key-pair")}
    ec2.delete_tags(Resources=[b["KeyPairId"]], Tags=[{"Key": "tier"}, {"Key": "team", "Value": "not-db"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [b["KeyPairId"]]}])["Tags"]
    assert [(t["Key"], t["Value"]) for t in tags] == [("team", "db")]


def test_describe_tags_pages(ec2):
    kp = ec2.create_key_pair(KeyName="many-tags", KeyType="ed25519")
    ec2.create_tags(Resources=[kp["KeyPairId"]], Tags=[{"Key": f"k{n:02}", "Value": str(n)} for n in range(12)])
    seen, token = [], None
    while True:
        # this key pair's only: other modules tag their resources in the shared server's account
        page = ec2.describe_tags(MaxResults=5, Filters=[{"Name": "resource-id", "Values": [kp["KeyPairId"]]}],
                                 **({"NextToken": token} if token else {}))
        seen += [t["Key"] for t in page["Tags"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == [f"k{n:02}" for n in range(12)]


def test_delete(ec2):
    kp = ec2.create_key_pair(KeyName="gone")
    assert ec2.delete_key_pair(KeyName="gone")["Return"] is True
    ec2.delete_key_pair(KeyName="gone")  # deleting a missing name succeeds, as on AWS
    with pytest.raises(ClientError) as err:
        ec2.delete_key_pair(KeyPairId=kp["KeyPairId"])
    assert code_of(err) == "InvalidKeyPair.NotFound"
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [kp["KeyPairId"]]}])["Tags"] == []


@pytest.mark.parametrize("call,kwargs,code", [
    ("describe_key_pairs", {"KeyNames": ["missing"]}, "InvalidKeyPair.NotFound"),
    ("describe_key_pairs", {"Filters": [{"Name": "colour", "Values": ["x"]}]}, "InvalidParameterValue"),
    ("create_key_pair", {"KeyName": "k", "KeyType": "dsa"}, "InvalidParameterValue"),
    ("create_key_pair", {"KeyName": "k", "KeyFormat": "der"}, "InvalidParameterValue"),
    ("import_key_pair", {"KeyName": "k", "PublicKeyMaterial": b"ssh-rsa not-base64!"}, "InvalidKey.Format"),
    ("create_tags", {"Resources": ["key-0123456789abcdef0"], "Tags": [{"Key": "a", "Value": "b"}]},
     "InvalidKeyPairId.NotFound"),
    ("create_tags", {"Resources": ["nonsense"], "Tags": [{"Key": "a", "Value": "b"}]}, "InvalidID"),
    ("create_key_pair", {"KeyName": "k", "TagSpecifications": [{"ResourceType": "instance", "Tags": []}]},
     "InvalidParameterValue"),
])
def test_bad_input(ec2, call, kwargs, code):
    with pytest.raises(ClientError) as err:
        getattr(ec2, call)(**kwargs)
    assert code_of(err) == code
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert ec2.describe_key_pairs()["KeyPairs"] == []  # nothing half-written


def test_duplicate_name(ec2):
    ec2.create_key_pair(KeyName="twice")
    with pytest.raises(ClientError) as err:
        ec2.create_key_pair(KeyName="twice")
    assert code_of(err) == "InvalidKeyPair.Duplicate"
    with pytest.raises(ClientError) as err:
        ec2.import_key_pair(KeyName="twice", PublicKeyMaterial=ed25519.Ed25519PrivateKey.generate().public_key()
                            .public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH))
    assert code_of(err) == "InvalidKeyPair.Duplicate"


def test_dry_run(ec2):
    with pytest.raises(ClientError) as err:
        ec2.create_key_pair(KeyName="dry", DryRun=True)
    assert code_of(err) == "DryRunOperation"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert ec2.describe_key_pairs()["KeyPairs"] == []


def test_regions_do_not_share_key_pairs(server, ec2):
    ec2.create_key_pair(KeyName="east-only")
    west = server.client("ec2", region="eu-west-1")
    assert west.describe_key_pairs()["KeyPairs"] == []
