"""The arithmetic of AWS/EC2 and AWS/EBS metrics from two readings of a VM's counters, and the
publisher's periods (basic and detailed monitoring, spans that restart with QEMU), without
a VM: readings are built as agent/vms/stats.py makes them."""

import pytest

from cloudlet.agent.vms import VMs
from cloudlet.agent.vms.stats import Drive, Reading, Traffic
from cloudlet.control import ec2_figures as figures
from cloudlet.control.ec2_metrics import EC2Metrics, Running, latest_checks
from cloudlet.store import Store
from cloudlet.store import metrics

VOL, EPH = "vol-0123456789abcdef0", "eph-0123456789abcdef0"


def reading(at, cpu, *, pid=10, vcpus=2, net=(0, 0, 0, 0), vol=(0,) * 6, eph=None, state="running", idle=None):
    drives = {VOL: Drive(*vol, idle)}
    if eph is not None:
        drives[EPH] = Drive(*eph, None)
    return Reading(at, pid, True, state, vcpus, cpu, Traffic(*net), drives)


def by_name(rows):
    return {name: (unit, value) for name, unit, value in rows}


def test_cpu_is_vcpu_time_over_span_and_vcpus():
    assert figures.cpu_percent(reading(100.0, 3.0), reading(110.0, 8.0)) == pytest.approx(25.0)  # 5 s of 2x10 s
    assert figures.cpu_percent(reading(100.0, 0.0, vcpus=1), reading(110.0, 10.5, vcpus=1)) == 100.0  # clipped
    assert figures.cpu_percent(reading(100.0, None), reading(110.0, 2.0)) is None
    assert figures.cpu_percent(reading(100.0, 1.0), reading(100.0, 2.0)) is None  # no span


def test_network_is_the_guests_view_and_disks_are_split_by_kind():
    before = reading(0.0, 0.0, net=(1000, 10, 5000, 50), vol=(0, 0, 0, 0, 0, 0), eph=(0, 0, 0, 0, 0, 0))
    after = reading(60.0, 6.0, net=(1300, 13, 9000, 90), vol=(4096, 8192, 1, 2, 0, 0), eph=(512, 0, 1, 0, 0, 0))
    got = by_name(figures.instance_figures(before, after, {VOL}, {EPH}))
    # the tap's tx (host -> guest) is what the instance received
    assert got["NetworkIn"] == ("Bytes", 4000) and got["NetworkOut"] == ("Bytes", 300)
    assert got["NetworkPacketsIn"] == ("Count", 40) and got["NetworkPacketsOut"] == ("Count", 3)
    assert got["EBSReadBytes"] == ("Bytes", 4096) and got["EBSWriteBytes"] == ("Bytes", 8192)
    assert got["EBSReadOps"] == ("Count", 1) and got["EBSWriteOps"] == ("Count", 2)
    assert got["DiskReadBytes"] == ("Bytes", 512) and got["DiskReadOps"] == ("Count", 1)
    assert got["CPUUtilization"] == ("Percent", pytest.approx(5.0))


def test_no_instance_store_reports_zero_and_a_new_drive_waits_for_its_second_reading():
    before = reading(0.0, 0.0)
    after = reading(60.0, 0.0, vol=(100, 0, 1, 0, 0, 0), eph=(700, 0, 1, 0, 0, 0))  # eph: hot-plugged since
    got = by_name(figures.instance_figures(before, after, {VOL}, {EPH}))
    assert got["DiskReadBytes"] == ("Bytes", 0) and got["EBSReadBytes"] == ("Bytes", 100)


def test_volume_times_idle_and_queue_length():
    quiet = figures.volume_figures(Drive(1, 1, 1, 1, 10, 10, 5), Drive(1, 1, 1, 1, 10, 10, 70_000_000_000), 60.0)
    assert by_name(quiet)["VolumeIdleTime"] == ("Seconds", 60.0) and by_name(quiet)["VolumeQueueLength"][1] == 0
    # 30 operations of 1 s each, overlapping: 30 s of time, all in the last 20 s of the minute
    busy = by_name(figures.volume_figures(Drive(0, 0, 0, 0, 0, 0, None),
                                          Drive(0, 3 << 20, 0, 30, 0, 30_000_000_000, 40_000_000_000), 60.0))
    assert busy["VolumeWriteOps"] == ("Count", 30) and busy["VolumeWriteBytes"] == ("Bytes", 3 << 20)
    assert busy["VolumeTotalWriteTime"] == ("Seconds", 30.0) and busy["VolumeTotalReadTime"] == ("Seconds", 0.0)
    assert busy["VolumeIdleTime"] == ("Seconds", 40.0)  # the stretch since the last, beyond 60 - 30
    assert busy["VolumeQueueLength"] == ("Count", 0.5)
    saturated = by_name(figures.volume_figures(Drive(0, 0, 0, 0, 0, 0, None),
                                               Drive(0, 0, 900, 0, 240_000_000_000, 0, 1_000), 60.0))
    assert saturated["VolumeIdleTime"] == ("Seconds", 1e-6) and saturated["VolumeQueueLength"] == ("Count", 4.0)


def test_status_checks():
    assert figures.checks(reading(0, 0)) == {"StatusCheckFailed_System": 0, "StatusCheckFailed_Instance": 0,
                                             "StatusCheckFailed_AttachedEBS": 0, "StatusCheckFailed": 0}
    assert figures.checks(reading(0, 0, state="paused"))["StatusCheckFailed"] == 0  # a snapshot's second
    panicked = figures.checks(reading(0, 0, state="guest-panicked"))
    assert panicked["StatusCheckFailed_Instance"] == 1 and panicked["StatusCheckFailed_System"] == 0
    assert panicked["StatusCheckFailed"] == 1
    stuck = figures.checks(Reading(0, 10))  # QEMU is there but QMP does not answer
    assert stuck["StatusCheckFailed_System"] == 1 and stuck["StatusCheckFailed"] == 1
    io = figures.checks(reading(0, 0, state="io-error"))
    assert io["StatusCheckFailed_AttachedEBS"] == 1 and io["StatusCheckFailed_Instance"] == 1


def test_aggregates_follow_monitoring():
    basic = figures.dimension_sets("i-1", "ami-1", "t3.micro", "web", False)
    assert basic == [(("InstanceId", "i-1"),), (("AutoScalingGroupName", "web"),)]
    detailed = figures.dimension_sets("i-1", "ami-1", "t3.micro", None, True)
    assert detailed == [(("InstanceId", "i-1"),), (("ImageId", "ami-1"),), (("InstanceType", "t3.micro"),), ()]


@pytest.fixture
def publisher(tmp_path):
    """A publisher whose own rounds are hours apart: the test drives its periods."""
    store = Store(tmp_path / "s.db")
    yield EC2Metrics(store, VMs(tmp_path / "vms"), 3600.0)
    store.close()


def _names(datums, namespace="AWS/EC2", dims=(("InstanceId", "i-1"),)):
    return {(d.name, d.timestamp): d.agg.sum for d in datums if d.namespace == namespace and d.dimensions == dims}


def test_basic_monitoring_publishes_every_fifth_period_from_its_first_reading(publisher):
    p = publisher.period
    inst = Running("111111111111", "us-east-1", "i-1", "ami-1", "t3.micro", False, None, {VOL})
    t0 = 1000 * 5 * p + p  # one period past a basic boundary
    first = publisher._datums(inst, t0, reading(0.0, 0.0))
    assert set(_names(first)) == {(n, int(t0 - p)) for n in figures.checks(reading(0, 0))}  # checks only
    for k in range(1, 4):
        got = publisher._datums(inst, t0 + k * p, reading(k * 60.0, k * 6.0, vol=(k * 10, 0, k, 0, 0, 0)))
        assert ("CPUUtilization", int(t0)) not in _names(got)
        assert _names(got, "AWS/EBS", (("VolumeId", VOL),))[("VolumeReadBytes", int(t0 + (k - 1) * p))] == 10
    due = publisher._datums(inst, t0 + 4 * p, reading(240.0, 48.0, vol=(40, 0, 4, 0, 0, 0)))
    got = _names(due)
    assert got[("CPUUtilization", int(t0))] == pytest.approx(10.0)  # 48 s of 2 vCPUs x 240 s
    assert got[("EBSReadBytes", int(t0))] == 40 and got[("NetworkIn", int(t0))] == 0


def test_detailed_monitoring_and_a_restarted_qemu(publisher):
    p = publisher.period
    inst = Running("111111111111", "us-east-1", "i-1", "ami-1", "t3.micro", True, "web", {VOL})
    publisher._datums(inst, 10 * p, reading(0.0, 0.0))
    got = publisher._datums(inst, 11 * p, reading(60.0, 30.0))
    assert _names(got)[("CPUUtilization", int(10 * p))] == pytest.approx(25.0)
    for dims in ((("AutoScalingGroupName", "web"),), (("ImageId", "ami-1"),), (("InstanceType", "t3.micro"),), ()):
        assert _names(got, dims=dims)[("CPUUtilization", int(10 * p))] == pytest.approx(25.0)
    again = publisher._datums(inst, 12 * p, reading(61.0, 0.5, pid=11))  # a new QEMU: counters from zero
    assert ("CPUUtilization", int(11 * p)) not in _names(again) and not _names(again, "AWS/EBS", (("VolumeId", VOL),))
    assert _names(publisher._datums(inst, 13 * p, reading(121.0, 6.5, pid=11)))[("CPUUtilization", int(12 * p))] == \
        pytest.approx(5.0)


def test_latest_checks_come_from_the_stored_datapoints(tmp_path):
    store = Store(tmp_path / "s.db")
    publisher_interval = 1.0  # a test server's: 3-s periods, stored at high resolution
    now = 1_800_000_000
    with store.scoped("111111111111", "us-east-1") as db:
        assert latest_checks(db, "i-1", now, publisher_interval) == dict.fromkeys(
            ("StatusCheckFailed_System", "StatusCheckFailed_Instance", "StatusCheckFailed_AttachedEBS"))
        failed = figures.checks(reading(0, 0, state="guest-panicked"))
        metrics.put(db, [metrics.Datum("AWS/EC2", name, (("InstanceId", "i-1"),), now - 3, "Count",
                                       metrics.Agg.of(value), True) for name, value in failed.items()], now)
        got = latest_checks(db, "i-1", now, publisher_interval)
        assert got["StatusCheckFailed_Instance"] == (True, now - 3) and got["StatusCheckFailed_System"] == (False,
                                                                                                            now - 3)
        assert latest_checks(db, "i-1", now + 60, publisher_interval)["StatusCheckFailed_Instance"] is None  # stale
    with store.scoped("222222222222", "us-east-1") as other:
        assert latest_checks(other, "i-1", now, publisher_interval)["StatusCheckFailed_Instance"] is None
    store.close()
