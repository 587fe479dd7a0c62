"""The table every course on containers and VMs shows, held against what was measured: per
topic, what is usually said, the figures from this host, and a sentence computed from those
figures. The sentence says so when a figure goes against the usual claim: the point of
measuring is that it may."""

from __future__ import annotations

from dataclasses import dataclass

from cloudlet.compare.figures import DASH, idle, idle_mib, iso, iso_text, kind, number, samples, size, unit
from cloudlet.compare.stats import median

GiB = 2 ** 30


@dataclass
class Claim:
    topic: str
    usual: str
    measured: str
    why: str


def rows(report: dict) -> list[Claim]:
    c, v, h = (kind(report, name) for name in ("container", "vm", "host"))
    return [boot(report, c, v), memory(c, v), density(report, c, v), isolation(c, v, h), portability(c, v, h)]


def _ratio(a, b) -> float | None:
    return a / b if a is not None and b is not None and a > 0 and b > 0 else None


def _verdict(ratio: float | None, what: str, agrees, against: str) -> str:
    """The sentence on a ratio of the two kinds that the usual claim puts above 1: agrees(ratio)
    when it is, or that it went the other way."""
    if ratio is None:
        return f"The {what} was not measured for both kinds: there is no ratio to give."
    return agrees(ratio) if ratio > 1 else f"Against the usual claim, {against}."


def _median_s(k: dict, key: str) -> str:
    return unit(median(samples(k, key)), "s")


def accelerator_sentence(accelerator: str | None) -> str:
    if accelerator == "tcg":
        return ("The VMs ran under TCG: QEMU translates every guest instruction, so their boot and CPU figures "
                "are far slower than the same VM under KVM, where the guest runs on the CPU directly.")
    if accelerator == "kvm":
        return "The VMs ran under KVM: the guest's instructions run on the CPU directly, as in a cloud."
    return f"The VMs ran under {accelerator}." if accelerator else "The accelerator the VMs ran under was not recorded."


def boot(report: dict, c: dict, v: dict) -> Claim:
    measured = (f"start median: container {_median_s(c, 'start_s')}, VM {_median_s(v, 'start_s')}; first response "
                f"median: container {_median_s(c, 'first_response_s')}, VM {_median_s(v, 'first_response_s')}")
    if samples(c, "parallel_start_s") or samples(v, "parallel_start_s"):
        measured += (f"; {number(report.get('parallel'))} at a time: container {_median_s(c, 'parallel_start_s')}, "
                     f"VM {_median_s(v, 'parallel_start_s')}")
    cs, vs = median(samples(c, "start_s")), median(samples(v, "start_s"))
    why = _verdict(_ratio(vs, cs), "start",
                   lambda r: f"The VM took {r:.1f}× as long as the container to start: it boots a kernel of its own "
                             f"({iso_text(v, 'kernel')}) and an init before the workload runs, while the container "
                             f"is a process started on the host's running kernel.",
                   f"the VM started no slower than the container ({unit(vs, 's')} against {unit(cs, 's')})")
    if vs is not None and vs < 10:
        why += (f" At {unit(vs, 's')} the VM is under the tens of seconds usually quoted: a microVM (no firmware, "
                f"no PCI bus, its kernel loaded directly) skips most of a full VM's boot.")
    if cs is not None and cs > 5:
        why += f" The container took {unit(cs, 's')}, more than the seconds usually quoted."
    if report.get("accelerator") == "tcg":
        why += " Under TCG the same VM would boot far faster with KVM."
    return Claim("Boot time", "Containers start in milliseconds to seconds; VMs in tens of seconds to minutes, "
                              "since a whole operating system boots.", measured, why)


def memory(c: dict, v: dict) -> Claim:
    mc, mv = idle(c), idle(v)
    measured = (f"idle, per instance: PSS container {idle_mib(c, 'pss_mib')}, VM {idle_mib(v, 'pss_mib')}; "
                f"MemAvailable drop container {idle_mib(c, 'available_drop_mib')}, "
                f"VM {idle_mib(v, 'available_drop_mib')}")
    # MemAvailable counts what the processes' PSS leaves out (page tables, the kernel's own
    # allocations for them): the fuller cost, so the ratio is taken from it when there is one.
    key = "available_drop_mib" if _ratio(mv.get("available_drop_mib"), mc.get("available_drop_mib")) else "pss_mib"
    cm, vm = mc.get(key), mv.get(key)
    what = "MemAvailable drop" if key == "available_drop_mib" else "PSS"
    why = _verdict(_ratio(vm, cm), "idle memory",
                   lambda r: f"Each idle VM cost {r:.1f}× the container's memory ({what} {unit(vm, 'MiB')} against "
                             f"{unit(cm, 'MiB')}): its guest kernel, page cache and QEMU's own memory are its alone, "
                             f"while the container's processes share the host's kernel and cached files.",
                   f"an idle VM cost no more than a container ({what} {unit(vm, 'MiB')} against {unit(cm, 'MiB')})")
    if vm is not None and 0 < vm < 100:
        why += (f" {unit(vm, 'MiB')} is well under the hundreds of MiB usually quoted: the host gives a guest its "
                f"memory only as the guest first touches it.")
    if cm is not None and cm > 20:
        why += f" The container's {unit(cm, 'MiB')} is more than the few MiB usually quoted."
    return Claim("Memory efficiency", "Containers share the host's kernel and page cache, so an idle one costs a few "
                                      "MiB; a VM holds a whole guest OS in memory, hundreds of MiB.", measured, why)


def _fit(report: dict, name: str) -> int | None:
    d = kind(report, name).get("density")
    if d and d.get("extrapolated") is not None:
        return d["extrapolated"]
    return ((report.get("summary") or {}).get(name) or {}).get("density")


def _density_text(report: dict, name: str) -> str:
    d = kind(report, name).get("density")
    if not d:
        fit = _fit(report, name)
        return "no density run" + (f", ≈{number(fit)} estimated from idle memory" if fit is not None else "")
    available = d.get("available_mib") or []
    drop = f", MemAvailable {number(available[0])} → {number(available[-1])} MiB" if available else ""
    return (f"{number(d.get('started'))} started (stopped by {d.get('limit') or DASH}){drop}, "
            f"≈{number(_fit(report, name))} would fit this host")


def density(report: dict, c: dict, v: dict) -> Claim:
    measured = f"container: {_density_text(report, 'container')}; VM: {_density_text(report, 'vm')}"
    fc, fv = _fit(report, "container"), _fit(report, "vm")
    memory_mib = (report.get("host") or {}).get("memory_mib")
    why = _verdict(_ratio(fc, fv), "density",
                   lambda r: f"About {r:.1f}× as many containers as VMs would fit in this host's "
                             f"{unit(memory_mib, 'MiB')}: the ratio of what one idle instance of each costs.",
                   f"no more containers than VMs would fit here (≈{number(fc)} against ≈{number(fv)})")
    return Claim("Density", "Several times more containers than VMs fit on one host.", measured, why)


ISOLATION_USUAL = ("Containers share the host's kernel, fenced by namespaces, cgroups, seccomp and dropped "
                   "capabilities; a VM has a kernel of its own and reaches the host only through the devices "
                   "the hypervisor emulates.")


def isolation(c: dict, v: dict, h: dict) -> Claim:
    def each(key: str) -> str:
        return f"container {iso_text(c, key)}, VM {iso_text(v, key)}, host {iso_text(h, key)}"

    measured = (f"kernel: {each('kernel')}; seccomp mode / filters: container {iso_text(c, 'seccomp')} / "
                f"{iso_text(c, 'seccomp_filters')}, VM {iso_text(v, 'seccomp')} / {iso_text(v, 'seccomp_filters')}; "
                f"capabilities: {each('capabilities')}; PIDs visible: {each('pids_visible')}; "
                f"virtio devices: {each('virtio_devices')}")
    kc, kv, kh = iso(c, "kernel"), iso(v, "kernel"), iso(h, "kernel")
    if not (kc and kv and kh):
        return Claim("Isolation", ISOLATION_USUAL, measured, "The kernels were not seen by all three probes: "
                                                             "nothing to compare.")
    if kc == kh:
        why = (f"The container ran the host's own kernel ({kc}), so a flaw in it is shared; what fences it is "
               f"seccomp (mode {iso_text(c, 'seccomp')}, {iso_text(c, 'seccomp_filters')} filters), "
               f"{iso_text(c, 'capabilities')} of the host's {iso_text(h, 'capabilities')} capabilities and "
               f"{iso_text(c, 'pids_visible')} visible processes.")
    else:
        why = f"Against the usual claim, the container saw kernel {kc}, not the host's {kh}."
    if kv != kh:
        why += (f" The VM ran a kernel of its own ({kv}) and reached the host only through the "
                f"{iso_text(v, 'virtio_devices')} virtio devices QEMU emulates; its {iso_text(v, 'capabilities')} "
                f"capabilities and seccomp mode {iso_text(v, 'seccomp')} stop at the guest's kernel.")
    else:
        why += (f" The VM reported the host's kernel release ({kv}), but it ran its own copy of it, behind the "
                f"{iso_text(v, 'virtio_devices')} virtio devices QEMU emulates.")
    return Claim("Isolation", ISOLATION_USUAL, measured, why)


def portability(c: dict, v: dict, h: dict) -> Claim:
    sc, sv = c.get("size_bytes"), v.get("size_bytes")
    measured = (f"image {size(sc)}; AMI root volume {size(sv)} allocated; the container ran on the host's kernel "
                f"({iso_text(c, 'kernel')}), the VM on its own ({iso_text(v, 'kernel')})")
    why = _verdict(_ratio(sv, sc), "size",
                   lambda r: f"The VM's root volume took {r:.1f}× the image's bytes: it is a whole file system "
                             f"holding the image's files, with its own metadata and journal; the container needs a "
                             f"host kernel that runs it ({iso_text(h, 'kernel')} here), the VM brings its kernel along.",
                   f"the VM's root volume took no more bytes than the image ({size(sv)} against {size(sc)})")
    if sv is not None and 0 < sv < GiB:
        why += f" At {size(sv)} it is far from the GiB usually quoted: it holds this one image, not a general OS install."
    return Claim("Portability and size", "A container image carries an application and its userland, tens of MiB, "
                                         "and runs wherever a compatible Linux kernel does; a VM image carries a "
                                         "whole OS, GiB, and runs on any hypervisor whatever the host's kernel.",
                 measured, why)
