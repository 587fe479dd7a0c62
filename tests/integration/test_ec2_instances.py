"""EC2 instances that are VMs, through boto3 and its waiters: RunInstances boots the busybox
AMI (Debian's cloud kernel), the console shows the kernel's boot log, its init asks the
metadata service who it is, it answers on its subnet's address, and stop, start, reboot and
terminate move the real VM through AWS's states; refusals for the wrong state."""

import signal
import subprocess
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.integration.ec2_fixtures import WAIT, ami_id, module_server, network_report

pytestmark = [pytest.mark.root, pytest.mark.qemu]


server = module_server("ec2", "10.128.0.0/12")


@pytest.fixture
def ec2(server):
    return server.client("ec2")


def test_an_instance_boots_and_goes_through_its_states(ec2, server):
    ami = ami_id(ec2)
    reservation = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                    UserData="echo hi", TagSpecifications=[
                                        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}])
    instance = reservation["Instances"][0]
    iid = instance["InstanceId"]
    assert instance["State"] == {"Code": 0, "Name": "pending"} and instance["InstanceType"] == "t3.micro"
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    console = ec2.get_console_output(InstanceId=iid)["Output"]  # botocore decodes the base64
    assert "Linux version" in console and "cloudlet-init: running" in console
    deadline = time.monotonic() + 30  # the init asks 169.254.169.254 who it is
    while f"cloudlet-init: metadata says instance {iid}" not in (
            console := ec2.get_console_output(InstanceId=iid)["Output"]):
        assert time.monotonic() < deadline, console[-2000:] + network_report(server)
        time.sleep(0.5)
    address = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]
    assert subprocess.run(["busybox", "ping", "-c", "1", "-W", "5", address]).returncode == 0  # on its subnet
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web"]},
                                            {"Name": "instance-state-name", "Values": ["running"]}])
    assert [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]] == [iid]
    assert found["Reservations"][0]["ReservationId"] == reservation["ReservationId"]

    assert ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]["CurrentState"]["Name"] == "running"
    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    ec2.reboot_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    again = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]  # twice: no error, as AWS
    assert again["CurrentState"]["Name"] == "terminated"
    with pytest.raises(ClientError) as err:
        ec2.start_instances(InstanceIds=[iid])
    assert err.value.response["Error"]["Code"] == "IncorrectInstanceState"


def test_termination_protection_and_attributes(ec2):
    ami = ami_id(ec2)
    iid = ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1,
                            DisableApiTermination=True)["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError) as err:
        ec2.terminate_instances(InstanceIds=[iid])
    assert err.value.response["Error"]["Code"] == "OperationNotPermitted"
    with pytest.raises(ClientError) as err:
        ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.small"})  # not stopped yet
    assert err.value.response["Error"]["Code"] == "IncorrectInstanceState"
    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.small"})
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")["InstanceType"] == \
        {"Value": "t3.small"}
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_status_ok").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    status = ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"][0]
    assert status["InstanceStatus"]["Status"] == "ok" and status["InstanceState"]["Name"] == "running"
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)


def test_an_instance_outlives_a_kill_9_of_the_server(server, ec2):
    ami = ami_id(ec2)
    iid = ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    pid = int((server.data_dir / "vms" / iid / "qemu.pid").read_text())
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    server.start()
    again = server.client("ec2")
    state = again.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "running" and int((server.data_dir / "vms" / iid / "qemu.pid").read_text()) == pid
    assert Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"qemu-system")  # the very same VM
    again.terminate_instances(InstanceIds=[iid])
    again.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)



def test_an_alarm_action_stops_the_instance_of_its_metric(server, ec2):
    """arn:aws:automate:<region>:ec2:stop on an alarm over a metric of the instance (its
    InstanceId dimension); an EC2 action on an alarm without one fails, in its history."""
    import datetime
    iid = ec2.run_instances(ImageId=ami_id(ec2), InstanceType="t3.micro", MinCount=1, MaxCount=1)[
        "Instances"][0]["InstanceId"]
    cw = server.client("cloudwatch")
    try:
        ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
        for name, dims in (("stop-it", [{"Name": "InstanceId", "Value": iid}]), ("no-instance", [])):
            cw.put_metric_alarm(AlarmName=name, Namespace="Test/Load", MetricName="Busy", Dimensions=dims,
                                Statistic="Maximum", Period=10, EvaluationPeriods=1, Threshold=50,
                                ComparisonOperator="GreaterThanThreshold",
                                AlarmActions=["arn:aws:automate:us-east-1:ec2:stop"])
            cw.put_metric_data(Namespace="Test/Load", MetricData=[{
                "MetricName": "Busy", "Dimensions": dims, "Value": 100, "StorageResolution": 1,
                "Timestamp": datetime.datetime.now(datetime.timezone.utc)}])
        ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
        done = cw.describe_alarm_history(AlarmName="stop-it", HistoryItemType="Action")["AlarmHistoryItems"]
        assert done[0]["HistorySummary"] == "Successfully executed action arn:aws:automate:us-east-1:ec2:stop"
        deadline = time.monotonic() + 30
        while not (failed := cw.describe_alarm_history(AlarmName="no-instance", HistoryItemType="Action")[
                "AlarmHistoryItems"]):
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert failed[0]["HistorySummary"] == "Failed to execute action arn:aws:automate:us-east-1:ec2:stop"
        assert "InstanceId" in failed[0]["HistoryData"]
    finally:
        cw.delete_alarms(AlarmNames=["stop-it", "no-instance"])
        ec2.terminate_instances(InstanceIds=[iid])
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
