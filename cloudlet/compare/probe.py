"""The probe `cloudlet compare` runs inside a container, inside a VM and on the bare host: a
POSIX shell script (busybox's applets or Debian's coreutils both do), so that the same
image can run it every way, and what it prints, read back.

What it shows from inside: the kernel seen, the seccomp mode and filters over it, the
capabilities it holds, the processes and mounts it can see, the devices it has (virtio
ones are a VM's device model); and three timings: a CPU-bound loop (MD5 of zeros),
writing a file to the root file system and flushing it, and reading it back (from the
page cache: a container may not drop the host's caches, so no kind does); 4 KiB reads and
writes at random places in that file (each write flushed); and, given a peer (another
instance of the same kind, serving HTTP), requests to it over one kept-alive connection.

The random I/O and the requests are done by a few lines of Perl, which every Debian-based
image has (perl-base is Essential): the same code in the container, the VM and on the host,
so that the figures compare the kinds, not tools. An image without perl prints none of them.
fio is not used for that reason: it is in few images, and where it is not, the figures would
come from two different tools."""

from __future__ import annotations

import re
import shlex

BEGIN, END = "cloudlet-probe: begin", "cloudlet-probe: end"
CPU_MIB, DISK_MIB = 64, 64
BLOCK = 4096
# Perl without modules beyond perl-base's: no Time::HiRes, so time is /proc/uptime's (10 ms),
# read every few operations and over a second or two of them
_NOW = 'sub now { open(my $u, "<", "/proc/uptime") or die; return (split / /, <$u>)[0] }'
_RANDOM_IO = _NOW + rf"""
use IO::Handle;
open(my $f, "+<", $ARGV[0]) or die "$!";
my $blocks = (-s $f) / {BLOCK}; my $buf = "r" x {BLOCK}; srand(7);
for my $op ("read", "write") {{
  my ($n, $t0, $t) = (0, now(), 0);
  while ($t < 1) {{
    for (1 .. ($op eq "read" ? 64 : 1)) {{
      sysseek($f, int(rand($blocks)) * {BLOCK}, 0) or die "$!";
      if ($op eq "read") {{ sysread($f, my $b, {BLOCK}) == {BLOCK} or die "$!" }}
      else {{ syswrite($f, $buf) == {BLOCK} or die "$!"; $f->sync or die "$!" }}
      $n++;
    }}
    $t = now() - $t0;
  }}
  print "probe random_$op $n $t\n";
}}
"""
# GET / again and again over one connection, opening another when the server closes it
# (nginx does after 1000 requests)
_PEER = _NOW + r"""
use IO::Socket::INET;
my ($n, $t0, $t, $s) = (0, now(), 0);
while ($t < 2) {
  $s ||= IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Timeout => 5)
    or do { print "probe peer_error $!\n"; exit };
  print $s "GET / HTTP/1.1\r\nHost: peer\r\n\r\n";
  my ($len, $line) = (0);
  while (defined($line = <$s>) && $line ne "\r\n") { $len = $1 if $line =~ /^content-length:\s*(\d+)/i }
  if (!defined $line) { close $s; undef $s; $t = now() - $t0; next }
  read($s, my $body, $len) if $len;
  $n++;
  $t = now() - $t0 if $n % 16 == 0;
}
print "probe peer $n $t\n";
"""
SCRIPT = f"""
t() {{ cut -d' ' -f1 /proc/uptime; }}
D=${{PROBE_DIR:-/}}
[ -d /sys/bus ] || mount -t sysfs sysfs /sys 2>/dev/null
echo "{BEGIN}"
echo "probe kernel $(uname -r)"
grep -E '^(Seccomp|Seccomp_filters|CapEff):' /proc/self/status | sed 's/^/probe status /'
echo "probe pids $(ls -d /proc/[0-9]* 2>/dev/null | wc -l)"
echo "probe mounts $(wc -l < /proc/self/mounts)"
echo "probe virtio $(ls /sys/bus/virtio/devices 2>/dev/null | wc -l)"
echo "probe devices $(ls /dev | tr '\\n' ' ')"
a=$(t); dd if=/dev/zero bs=1048576 count={CPU_MIB} 2>/dev/null | md5sum >/dev/null; b=$(t)
echo "probe cpu $a $b"
a=$(t); dd if=/dev/zero of="$D/cloudlet-probe.bin" bs=1048576 count={DISK_MIB} conv=fsync 2>/dev/null; b=$(t)
echo "probe disk_write $a $b"
a=$(t); dd if="$D/cloudlet-probe.bin" of=/dev/null bs=1048576 2>/dev/null; b=$(t)
echo "probe disk_read $a $b"
command -v perl >/dev/null && perl -e {shlex.quote(_RANDOM_IO)} "$D/cloudlet-probe.bin"
[ -n "$PEER" ] && command -v perl >/dev/null && perl -e {shlex.quote(_PEER)} "$PEER" "$PEER_PORT"
rm -f "$D/cloudlet-probe.bin"
echo "{END}"
"""
_LINE = re.compile(r"^probe (\w+) ?(.*)$")


def script(peer: str | None = None, port: int | None = None) -> str:
    """The probe, with a peer to send requests to (an address cloudlet gave, quoted all the same)."""
    if not peer:
        return SCRIPT
    return f"PEER={shlex.quote(peer)} PEER_PORT={int(port)}\n{SCRIPT}"


def _rate(value: str) -> float | None:
    """Operations per second from 'count seconds'."""
    try:
        n, seconds = (float(x) for x in value.split())
    except ValueError:
        return None
    return n / seconds if n > 0 and seconds > 0 else None


def _span(value: str) -> float | None:
    """Seconds between two /proc/uptime readings (10 ms resolution); at least one tick."""
    try:
        a, b = (float(x) for x in value.split())
    except ValueError:
        return None
    return max(b - a, 0.01)


def _number(value: str | None, base: int = 10) -> int | None:
    """A figure the probe printed; None for one missing or garbled (the workload shares the
    output, and may print anything)."""
    try:
        return int(value, base) if value else None
    except ValueError:
        return None


def parse(output: str) -> dict:
    """{"isolation": {...}, "perf": {...}} from the last complete probe in output (a log or
    a console also holds other lines: the kernel's, init's); KeyError when there is none."""
    start, end = output.rfind(BEGIN), output.rfind(END)
    if start < 0 or end < start:
        raise KeyError("no complete probe output")
    fields: dict[str, str] = {}
    status: dict[str, str] = {}
    for raw in output[start:end].splitlines():
        m = _LINE.match(raw.strip())
        if not m:
            continue
        if m[1] == "status":
            key, _, value = m[2].partition(":")
            status[key.strip()] = value.strip()
        else:
            fields[m[1]] = m[2].strip()
    cap = _number(status.get("CapEff"), 16)
    isolation = {"kernel": fields.get("kernel", ""), "seccomp": _number(status.get("Seccomp")),
                 "seccomp_filters": _number(status.get("Seccomp_filters")),
                 "capabilities": None if cap is None else bin(cap).count("1"),
                 "pids_visible": _number(fields.get("pids")), "mounts": _number(fields.get("mounts")),
                 "virtio_devices": _number(fields.get("virtio")), "devices": fields.get("devices", "").split()}
    cpu, write, read = (_span(fields.get(k, "")) for k in ("cpu", "disk_write", "disk_read"))
    peer = _rate(fields.get("peer", ""))
    perf = {"cpu_s": cpu, "disk_write_mib_s": DISK_MIB / write if write else None,
            "disk_read_mib_s": DISK_MIB / read if read else None,
            "random_read_iops": _rate(fields.get("random_read", "")),
            "random_write_iops": _rate(fields.get("random_write", "")),
            "peer_rr_latency_ms": 1000 / peer if peer else None, "peer_throughput_req_s": peer}
    return {"isolation": isolation, "perf": perf}
