"""What the e2e modules of instances, network interfaces and Elastic IPs share: an account of
their own whose instances go when the module is done, and instances that never boot here
(stopped at once; tests/integration boots VMs)."""

import pytest

WAIT = {"Delay": 0.2, "MaxAttempts": 300}  # a loaded 2-core host: 60 s


def account_fixtures(account: str, keys: str = "account", client: str = "ec2"):
    """Two module fixtures, named `keys` and `client`: the (key id, secret) of a new account
    and its EC2 client, whose instances are terminated at the end."""
    @pytest.fixture(scope="module", name=keys)
    def _keys(server):
        return server.new_account(account)

    @pytest.fixture(scope="module", name=client)
    def _client(server, request):
        key, secret = request.getfixturevalue(keys)
        ec2 = server.client("ec2", key=key, secret=secret)
        yield ec2
        instances = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
        if instances:
            ec2.terminate_instances(InstanceIds=instances)

    return _keys, _client


def stopped(ec2, **kw) -> dict:
    """RunInstances' answer for one t3.micro of a built-in AMI, which is then stopped and
    waited for: nothing boots."""
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    launched = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1, **kw)["Instances"][0]
    ec2.stop_instances(InstanceIds=[launched["InstanceId"]])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[launched["InstanceId"]], WaiterConfig=WAIT)
    return launched


def instance(ec2, instance_id: str) -> dict:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
