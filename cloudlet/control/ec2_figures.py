"""What the AWS/EC2 and AWS/EBS metrics of an instance are, worked out from two readings of
its VM's raw counters (agent/vms/stats.py), with the names, units and meanings AWS documents:

- CPUUtilization (Percent): vCPU time over the span / (span x vCPUs).
- NetworkIn/Out (Bytes), NetworkPacketsIn/Out (Count): the guest's view, so what its tap
  sends (the host's tx) is what the instance received.
- DiskRead/WriteBytes, DiskRead/WriteOps: instance store volumes (0 without any, as on Nitro);
  EBSRead/WriteBytes, EBSRead/WriteOps: all its EBS volumes, as Nitro instances report them.
- Per volume (AWS/EBS): VolumeRead/WriteBytes, VolumeRead/WriteOps, VolumeTotalRead/WriteTime
  (Seconds, summed over operations), VolumeIdleTime (Seconds without an operation),
  VolumeQueueLength (operations outstanding on average: total time / span, Little's law).
- StatusCheckFailed_System (QEMU does not answer), _Instance (the guest does not run),
  _AttachedEBS (QEMU stopped the guest on an I/O error of a disk), StatusCheckFailed (any).
"""

from __future__ import annotations

from cloudlet.agent.vms.stats import Drive, Reading

# Guest run states that pass the instance check: "paused" is the volume controller holding a
# guest still for the second it copies a snapshot, not a fault of the instance.
GUEST_UP = ("running", "paused")


def cpu_percent(before: Reading, after: Reading) -> float | None:
    span = after.at - before.at
    if before.cpu_seconds is None or after.cpu_seconds is None or span <= 0 or not after.vcpus:
        return None
    return min(100.0, max(0.0, (after.cpu_seconds - before.cpu_seconds) / (span * after.vcpus) * 100))


def _grown(before: int, after: int) -> int:
    return max(0, after - before)


def _io(prefix: str, before: Reading, after: Reading, disks) -> list[tuple[str, str, float]]:
    pairs = [(before.drives[d], after.drives[d]) for d in sorted(disks) if d in before.drives and d in after.drives]
    return [(f"{prefix}{name}", unit, sum(_grown(getattr(b, field), getattr(a, field)) for b, a in pairs))
            for name, unit, field in (("ReadBytes", "Bytes", "rd_bytes"), ("WriteBytes", "Bytes", "wr_bytes"),
                                      ("ReadOps", "Count", "rd_ops"), ("WriteOps", "Count", "wr_ops"))]


def instance_figures(before: Reading, after: Reading, volumes, instance_store) -> list[tuple[str, str, float]]:
    """(metric name, unit, value) of AWS/EC2 over the span between two readings of one QEMU
    process; volumes and instance_store: the node names of its disks of each kind."""
    out = []
    cpu = cpu_percent(before, after)
    if cpu is not None:
        out.append(("CPUUtilization", "Percent", cpu))
    if before.traffic and after.traffic:
        b, a = before.traffic, after.traffic
        out += [("NetworkIn", "Bytes", _grown(b.tx_bytes, a.tx_bytes)),
                ("NetworkOut", "Bytes", _grown(b.rx_bytes, a.rx_bytes)),
                ("NetworkPacketsIn", "Count", _grown(b.tx_packets, a.tx_packets)),
                ("NetworkPacketsOut", "Count", _grown(b.rx_packets, a.rx_packets))]
    return out + _io("Disk", before, after, instance_store) + _io("EBS", before, after, volumes)


def volume_figures(before: Drive, after: Drive, span: float) -> list[tuple[str, str, float]]:
    """(metric name, unit, value) of AWS/EBS for one volume over span seconds."""
    reads, writes = _grown(before.rd_ops, after.rd_ops), _grown(before.wr_ops, after.wr_ops)
    read_time = _grown(before.rd_time_ns, after.rd_time_ns) / 1e9
    write_time = _grown(before.wr_time_ns, after.wr_time_ns) / 1e9
    if not reads and not writes:
        idle = span
    else:
        # Two bounds from below, each exact in its own case: the span less the operations' time
        # (they did not overlap), and the stretch since the last one ended (they came in a burst).
        trailing = min(after.idle_ns / 1e9, span) if after.idle_ns is not None else 0.0
        idle = min(span, max(0.0, span - read_time - write_time, trailing))
    return [("VolumeReadBytes", "Bytes", _grown(before.rd_bytes, after.rd_bytes)),
            ("VolumeWriteBytes", "Bytes", _grown(before.wr_bytes, after.wr_bytes)),
            ("VolumeReadOps", "Count", reads), ("VolumeWriteOps", "Count", writes),
            ("VolumeTotalReadTime", "Seconds", read_time), ("VolumeTotalWriteTime", "Seconds", write_time),
            ("VolumeIdleTime", "Seconds", idle),
            ("VolumeQueueLength", "Count", (read_time + write_time) / span if span > 0 else 0.0)]


def checks(reading: Reading) -> dict[str, int]:
    """The status checks' metrics (1: failed) from one reading of a running instance's VM."""
    system = 0 if reading.answered else 1
    instance = 0 if reading.answered and reading.run_state in GUEST_UP else 1
    ebs = 1 if reading.run_state == "io-error" else 0
    return {"StatusCheckFailed_System": system, "StatusCheckFailed_Instance": instance,
            "StatusCheckFailed_AttachedEBS": ebs, "StatusCheckFailed": max(system, instance, ebs)}


def dimension_sets(instance_id: str, image_id: str, instance_type: str, group: str | None,
                   detailed: bool) -> list[tuple[tuple[str, str], ...]]:
    """The series an instance's AWS/EC2 values go to: its own; its Auto Scaling group's (basic
    monitoring too); and, with detailed monitoring only, as AWS aggregates, its AMI's, its
    instance type's and the one across all instances (no dimension)."""
    out = [(("InstanceId", instance_id),)]
    if group:
        out.append((("AutoScalingGroupName", group),))
    if detailed:
        out += [(("ImageId", image_id),), (("InstanceType", instance_type),), ()]
    return out
