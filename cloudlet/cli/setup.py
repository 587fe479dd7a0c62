"""`cloudlet setup`: find the host programs cloudlet drives, install what is missing, report."""

import os
import shutil
import subprocess

import click

from cloudlet.cli import registries_conf
from cloudlet.hostdeps import PROGRAMS


def missing_packages() -> list[str]:
    return sorted({pkg for prog, pkg in PROGRAMS.items() if shutil.which(prog) is None})


def accelerator() -> str:
    """Which accelerator VMs get (agent/vms decides), and why."""
    from cloudlet.agent.vms import accelerator as chosen

    if chosen() == "kvm":
        return "kvm (hardware virtualization)"
    if os.path.exists("/dev/kvm"):
        return "tcg (/dev/kvm exists but the CPU shows no vmx/svm: PVM guests would crawl)"
    return "tcg (no /dev/kvm)"


def cgroup_mode() -> str:
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "v2 (unified)"
    if os.path.exists("/sys/fs/cgroup/unified"):
        return "v1 (hybrid)"
    return "v1"


def build_amis(data_dir, images: bool = False) -> None:
    """The kernel, its initramfs and the built-in AMIs' root disks, so that the first
    RunInstances does not wait for them (each is made once, then found); with images, the
    container base images too, made meanwhile, so that the first task starts in seconds."""
    import threading

    from cloudlet import progress
    from cloudlet.bootstrap import amis, kernel
    from cloudlet.config import boot_dir

    failed: list[BaseException] = []
    made = threading.Thread(target=_base_images, args=(data_dir, failed), daemon=True) if images else None
    if made:
        made.start()
    boot = boot_dir(data_dir)
    boot.mkdir(parents=True, exist_ok=True)
    with progress.step("kernel"):
        vmlinux = kernel.kernel(boot)
        kernel.busybox_initramfs(vmlinux)
    click.echo(f"  kernel               {vmlinux}")
    for name in amis.DESCRIPTIONS:
        with progress.step(f"AMI cloudlet-{name}"):
            disk = amis.root_disk(boot, name)
        click.echo(f"  AMI {'cloudlet-' + name:<16} {disk}")
    if made:
        made.join()
        if failed:
            raise click.ClickException(f"the base images: {failed[0]}")


def _base_images(data_dir, failed: list) -> None:
    from cloudlet.bootstrap.images import bootstrap
    from cloudlet.cli.engine_opts import engine

    try:
        bootstrap(engine(data_dir).images, progress=click.echo)
    except Exception as e:  # said once the AMIs are made
        failed.append(e)


def run(assume_yes: bool, registry: str = "127.0.0.1:4566") -> int:
    missing = missing_packages()
    if missing:
        click.echo(f"missing Debian packages: {' '.join(missing)}")
        if os.geteuid() != 0:
            click.echo("run `cloudlet setup` as root to install them")
            return 1
        if not assume_yes and not click.confirm("install them with apt-get?", default=True):
            return 1
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, env=env)
    for prog, pkg in sorted(PROGRAMS.items()):
        path = shutil.which(prog)
        click.echo(f"  {prog:<20} {path or 'MISSING'}  ({pkg})")
    click.echo(f"  cgroups              {cgroup_mode()}")
    click.echo(f"  VM accelerator       {accelerator()}")
    if registries_conf.write(registry):
        click.echo(f"  registry             {registry} without TLS for podman/skopeo ({registries_conf.DROP_IN})")
    still = missing_packages()
    if still:
        click.echo(f"still missing: {' '.join(still)}")
        return 1
    if os.geteuid() == 0:  # the busybox image's binary, fetched now rather than at the first build
        from cloudlet.bootstrap import busybox
        from cloudlet.bootstrap.recipes import SUITE

        try:
            click.echo(f"  busybox image        {busybox.binary(SUITE)}  ({busybox.PACKAGE}, {busybox.SUITE})")
        except RuntimeError as e:
            click.echo(f"  busybox image        not fetched: {e}")
            return 1
    return 0
