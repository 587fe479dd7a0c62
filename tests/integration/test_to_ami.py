"""`cloudlet image to-ami` as a user runs it, beside a server of its own: an image made with
`cloudlet build` (Env, WorkingDir, User and a Cmd that prints a line and fails) becomes an
AMI of the caller's account, and an instance of it shows the image's line and its exit on
the console; the same image again reuses its disk; CopyImage, CreateImage and DeregisterImage
take such an AMI; and the refusals: a taken name, an image that is not here, another account's
repository, no root. (The nginx base image, built on first use, made an AMI whose instances
serve the host: tests/integration/test_compare.py, which `cloudlet compare --quick` does.)"""

import subprocess
import sys

import pytest

from tests.integration.ec2_fixtures import WAIT, module_server, until
from tests.integration.test_needs_root import as_user

pytestmark = [pytest.mark.root, pytest.mark.qemu]

server = module_server("to-ami", "100.80.0.0/12")
BOOT = 120  # seconds for a boot to show on the console, under TCG on a busy host
DOCKERFILE = """FROM busybox
ENV GREETING="hello from an image"
WORKDIR /srv/app
USER nobody
CMD ["sh", "-c", "echo \\"$GREETING as $(id -u) in $(pwd)\\"; exit 3"]
"""


def cloudlet(server, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """The CLI as a user on the host runs it: the server's data dir in CLOUDLET_DATA_DIR, the
    `cloudlet` profile `cloudlet up` wrote under the server's HOME."""
    env = {**server.env(), "CLOUDLET_DATA_DIR": str(server.data_dir)}
    return subprocess.run([sys.executable, "-m", "cloudlet.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def to_ami(server, *args: str) -> str:
    done = cloudlet(server, "image", "to-ami", *args)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout.splitlines()[-1]


def console(ec2, iid: str) -> str:
    return ec2.get_console_output(InstanceId=iid).get("Output", "")


def launch(ec2, ami: str, kind: str, **extra) -> str:
    iid = ec2.run_instances(ImageId=ami, InstanceType=kind, MinCount=1, MaxCount=1, **extra)["Instances"][0][
        "InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    return iid


def terminate(ec2, *iids: str) -> None:
    ec2.terminate_instances(InstanceIds=list(iids))
    ec2.get_waiter("instance_terminated").wait(InstanceIds=list(iids), WaiterConfig=WAIT)


def disks(server) -> list[str]:
    return sorted(p.name for p in (server.data_dir / "boot/amis").glob("image-*.qcow2"))


@pytest.mark.timeout(900)
def test_an_images_process_runs_in_its_instance(server, tmp_path):
    ec2 = server.client("ec2")
    assert cloudlet(server, "image", "bootstrap", "busybox").returncode == 0
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    built = cloudlet(server, "build", "-t", "hello:1", str(tmp_path))
    assert built.returncode == 0, built.stderr
    image_id = cloudlet(server, "image", "ls", "-q").stdout  # what the default name ends with
    ami = to_ami(server, "hello:1")
    (shown,) = ec2.describe_images(ImageIds=[ami])["Images"]
    assert shown["State"] == "available" and shown["OwnerId"] == server.client("sts").get_caller_identity()["Account"]
    assert shown["Name"].startswith("hello-1-") and shown["Name"][-12:] in image_id
    assert shown["BlockDeviceMappings"][0]["DeviceName"] == "/dev/xvda" and "hello:1" in shown["Description"]
    made = disks(server)
    assert len(made) == 1
    iid = launch(ec2, ami, "t3.nano")
    try:
        until(lambda: "cloudlet-init: the image's process exited 3" in console(ec2, iid),
              "the image's process did not run", BOOT)
        out = console(ec2, iid)
        assert "hello from an image as 65534 in /srv/app" in out, out[-3000:]
        assert out.count("no SSH server on this image") == 1  # said once, not respawned
        again = to_ami(server, "hello:1", "--name", "hello-again")  # the disk is made once
        assert again != ami and disks(server) == made
        taken = cloudlet(server, "image", "to-ami", "hello:1", "--name", "hello-again")
        assert taken.returncode == 1 and taken.stdout == ""
        assert f"InvalidAMIName.Duplicate: AMI name hello-again is already in use by AMI {again}" in taken.stderr
        copy = ec2.copy_image(SourceImageId=ami, SourceRegion="us-east-1", Name="hello-copy")["ImageId"]
        snap = ec2.create_image(InstanceId=iid, Name="hello-snap", NoReboot=True)["ImageId"]
        ec2.get_waiter("image_available").wait(ImageIds=[copy, snap], WaiterConfig=WAIT)
        ec2.deregister_image(ImageId=ami)
        assert disks(server) == made  # its instances' volumes and the other AMI still stand on it
        copied = launch(ec2, copy, "t3.nano")
        try:
            until(lambda: "hello from an image as 65534" in console(ec2, copied), "the copy did not run", BOOT)
        finally:
            terminate(ec2, copied)
    finally:
        terminate(ec2, iid)


def test_refusals(server):
    missing = cloudlet(server, "image", "to-ami", "nosuch:1")
    assert missing.returncode == 1 and "no image nosuch:1 on this host" in missing.stderr
    theirs = cloudlet(server, "image", "to-ami", "999999999999.dkr.ecr.us-east-1.amazonaws.com/app:1")
    assert theirs.returncode == 1 and "access denied" in theirs.stderr
    stranger = cloudlet(server, "image", "to-ami", "busybox", "--profile", "nobody")
    assert stranger.returncode == 1 and "nobody" in stranger.stderr


def test_it_needs_root(tmp_path):
    done = as_user("image", "to-ami", "busybox", cwd=tmp_path)
    assert done.returncode == 1 and "`cloudlet image to-ami` needs root" in done.stderr
    assert not list(tmp_path.iterdir())

