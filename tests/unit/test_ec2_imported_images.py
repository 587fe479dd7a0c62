"""An OCI image's AMI in the store (services/ec2/images.py import_disk, `cloudlet image to-ami`):
shown by DescribeImages as the built-in AMIs are, launched over its disk, refused names and
disks, the caller's account only; and the CLI's default name fits AWS's rules."""

import json

import pytest

from cloudlet.cli.to_ami import default_name
from cloudlet.config import Config
from cloudlet.edge.errors import AWSError
from cloudlet.services.context import Context
from cloudlet.services.ec2.images import Images, check_name, import_disk, launchable
from cloudlet.store import Store
from cloudlet.store.accounts import create_account
from cloudlet.store.schema import ec2_images

BASE = "image-0123456789ab"
IMAGE_ID = "sha256:" + "ab" * 32


@pytest.fixture
def ctx(tmp_path):
    store = Store(tmp_path / "s.db")
    yield Context(store, Config(data_dir=tmp_path), create_account(store, "dev"), "us-east-1", "req-1")
    store.close()


def _import(ctx, name="nginx-latest-0123456789ab", size=9) -> str:
    with ctx.write() as db:
        return import_disk(db, ctx.account_id, name, "nginx:latest (sha256:...), by cloudlet image to-ami", BASE, size)


def test_an_imported_image_is_an_available_ami_of_the_account(ctx):
    ami = _import(ctx)
    (shown,) = Images().describe_images(ctx, {"Owners": ["self"]})["Images"]
    assert shown["ImageId"] == ami and shown["State"] == "available" and shown["OwnerId"] == ctx.account_id
    assert shown["Name"] == "nginx-latest-0123456789ab" and shown["Public"] is False
    assert shown["Description"] == "nginx:latest (sha256:...), by cloudlet image to-ami"
    assert shown["BlockDeviceMappings"] == [{"DeviceName": "/dev/xvda", "Ebs": {
        "DeleteOnTermination": True, "VolumeSize": 9, "VolumeType": "gp2", "Encrypted": False}}]
    assert not [k for k in shown if k.startswith("_")] and BASE not in json.dumps(shown)  # the host's name stays inside
    with ctx.read() as db:
        source, size, others, body = launchable(db, "us-east-1", ami)
    assert (source, size, others, body["ImageId"]) == ({"base": BASE}, 9, {}, ami)
    assert Images().deregister_image(ctx, {"ImageId": ami}) == {"Return": True}
    assert Images().describe_images(ctx, {"Owners": ["self"]})["Images"] == []


def test_other_accounts_and_regions_do_not_see_it(ctx):
    ami = _import(ctx)
    other = Context(ctx.store, ctx.config, create_account(ctx.store, "other"), "us-east-1", "req-2")
    assert Images().describe_images(other, {"Owners": ["self"]})["Images"] == []
    for where in (other, Context(ctx.store, ctx.config, ctx.credential, "eu-west-1", "req-3")):
        with where.read() as db, pytest.raises(AWSError) as err:
            launchable(db, where.region, ami)
        assert err.value.code == "InvalidAMIID.NotFound"


@pytest.mark.parametrize("name, code", [("ab", "InvalidAMIName.Malformed"), ("web\n", "InvalidAMIName.Malformed"),
                                        ("web;rm -rf", "InvalidAMIName.Malformed"), ("x" * 129, "InvalidAMIName.Malformed")])
def test_malformed_names_are_refused(ctx, name, code):
    with pytest.raises(AWSError) as err:
        _import(ctx, name)
    assert err.value.code == code
    with ctx.read() as db:
        assert db.select(ec2_images) == []


def test_a_taken_name_is_refused_with_awss_words(ctx):
    ami = _import(ctx, "web")
    with pytest.raises(AWSError) as err:
        _import(ctx, "web")
    assert (err.value.code, err.value.message) == ("InvalidAMIName.Duplicate", f"AMI name web is already in use by AMI {ami}")
    with ctx.read() as db:
        assert len(db.select(ec2_images)) == 1


@pytest.mark.parametrize("base", ["busybox", "../image-0123456789ab", "image-0123456789ab/../../etc", "/etc/passwd",
                                  "image-0123456789ab\n", ""])
def test_only_an_image_disks_name_is_a_base(ctx, base):
    with ctx.write() as db, pytest.raises(ValueError):
        import_disk(db, ctx.account_id, "web", "", base, 8)
    with ctx.read() as db:
        assert db.select(ec2_images) == []


@pytest.mark.parametrize("ref, name", [
    ("nginx", "nginx-latest-abababababab"), ("busybox:1.37", "busybox-1.37-abababababab"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:v2", "team/app-v2-abababababab"),
    ("localhost:5000/x@" + IMAGE_ID, "x-abababababab"), (IMAGE_ID, "image-abababababab"),
    ("app:vé", "app-v--abababababab"), ("a/" + "b" * 200 + ":t", None),
])
def test_default_names_are_valid_ami_names(db, ref, name):
    got = default_name(ref, IMAGE_ID)
    assert got == name or name is None and len(got) == 128 and got.endswith("-t-abababababab")
    check_name(db, got)
