"""The `cloudlet` command. Subcommands import what they need when they run, so that
starting the CLI stays fast."""

import click

from cloudlet import __version__
from cloudlet.cli.aws import api_options
from cloudlet.cli.engine_opts import needs_root


@click.group()
@click.version_option(__version__, prog_name="cloudlet")
def cli():
    """cloudlet: a self-hosted, AWS-compatible compute cloud that really runs what it is asked to run."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4566, show_default=True, type=int, help="Port for every API.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="State directory [default: /var/lib/cloudlet as root].")
@click.option("--regions", help="Comma-separated region names to offer [default: 16 AWS regions].")
@click.option("--no-profile", is_flag=True, help="Do not write the `cloudlet` profile into ~/.aws.")
@click.option("--lifecycle-interval", type=float, default=600, show_default=True,
              help="Seconds between applications of ECR lifecycle policies.")
@click.option("--metrics-interval", type=click.FloatRange(min=0.2), default=20, show_default=True,
              help="Seconds between samples of what runs, published as CloudWatch metrics (AWS/ECS, AWS/EC2, ...).")
@click.option("--cluster", help="Register this host as a container instance of this ECS cluster (made if missing).")
@click.option("--allow-privileged", is_flag=True,
              help="Let the --cluster's EC2 tasks be privileged, add capabilities and use host devices, "
                   "volumes and namespaces (root on this host for whoever registers their task definitions).")
@click.option("--vpc-pool", default="172.16.0.0/12", show_default=True,
              help="Addresses default VPCs take /16s of; another cloudlet on this host needs another pool.")
@click.option("--public-pool", default="198.18.0.0/16", show_default=True,
              help="Public addresses (Elastic IPs, public IPs at launch), routed on this host to their VPCs; "
                   "another cloudlet on this host needs another pool.")
@click.option("--public-interface", metavar="IF",
              help="A LAN interface whose subnet holds --public-pool: the host answers ARP there for the public "
                   "addresses in use, so that the LAN's machines reach them too.")
@click.option("--hosts-file", type=click.Path(dir_okay=False), metavar="PATH",
              help="Keep load balancers' DNS names in this hosts file (e.g. /etc/hosts), in a block of its own.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True, help="What the server logs; info: each request (service, operation, status, ms).")
@needs_root("tasks, instances, VPCs and load balancers are containers, VMs, namespaces and firewall rules of the host")
def up(host, port, data_dir, regions, no_profile, lifecycle_interval, metrics_interval, cluster, allow_privileged,
       vpc_pool, public_pool, public_interface, hosts_file, log_level):
    """Start the server with its embedded state."""
    import ipaddress
    from pathlib import Path

    from cloudlet.cli.server import serve

    if public_interface and not Path("/sys/class/net", public_interface).exists():
        raise click.BadParameter(f"no interface {public_interface} on this host", param_hint="--public-interface")
    if allow_privileged and not cluster:
        raise click.BadParameter("it needs --cluster: the container instance that allows them", param_hint="--allow-privileged")
    try:
        if ipaddress.ip_network(vpc_pool).prefixlen > 16:
            raise ValueError("it must hold at least one /16")
    except ValueError as e:
        raise click.BadParameter(f"{vpc_pool}: {e}", param_hint="--vpc-pool") from None
    try:
        if ipaddress.ip_network(public_pool).prefixlen > 30:
            raise ValueError("it must hold at least two addresses")
    except ValueError as e:
        raise click.BadParameter(f"{public_pool}: {e}", param_hint="--public-pool") from None
    serve(host=host, port=port, data_dir=data_dir, regions=regions, write_profile=not no_profile,
          lifecycle_interval=lifecycle_interval, metrics_interval=metrics_interval, cluster=cluster,
          allow_privileged=allow_privileged, vpc_pool=vpc_pool, public_pool=public_pool,
          public_interface=public_interface, hosts_file=hosts_file, log_level=log_level)


@cli.command()
@click.option("--data-dir", type=click.Path(file_okay=False), help="State directory [default: /var/lib/cloudlet as root].")
@click.option("--force", is_flag=True, help="Stop the data dir's containers, VMs and load balancers first.")
@needs_root("its network is namespaces, devices, routes and firewall rules of the host")
def down(data_dir, force):
    """Stop `cloudlet up` and remove what it made on the host, once nothing of it runs."""
    from pathlib import Path

    from cloudlet.cli.down import down as run
    from cloudlet.config import default_data_dir

    run(Path(data_dir) if data_dir else default_data_dir(), force)


@cli.command()
@click.option("--yes", is_flag=True, help="Install missing Debian packages without asking.")
@click.option("--registry", default="127.0.0.1:4566", show_default=True,
              help="Address of the registry podman and skopeo may use without TLS.")
@click.option("--amis", is_flag=True, help="Also make the built-in AMIs (Debian's kernel, mmdebstrap: ~1 min once).")
@click.option("--images", is_flag=True, help="With --amis: the container base images too, meanwhile (~1 min once).")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Where `cloudlet up` keeps its state; the AMIs go in its boot/ [default: /var/lib/cloudlet as root].")
def setup(yes, registry, amis, images, data_dir):
    """Check the host programs cloudlet drives and apt-install the missing ones."""
    from cloudlet.cli.setup import build_amis, run

    status = run(assume_yes=yes, registry=registry)
    if status == 0 and amis:
        from cloudlet.config import default_data_dir

        build_amis(data_dir or default_data_dir(), images=images)
    raise SystemExit(status)


@cli.group()
def accounts():
    """Accounts and their access keys."""


@accounts.command("create")
@click.argument("name")
@click.option("--data-dir", type=click.Path(file_okay=False))
def accounts_create(name, data_dir):
    """Create an account with an admin access key and print the key."""
    from cloudlet.cli.accounts import create

    create(name, data_dir)


@accounts.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False))
def accounts_list(data_dir):
    """List accounts and their access key IDs."""
    from cloudlet.cli.accounts import show

    show(data_dir)


@cli.group()
def ecs():
    """ECS helpers the AWS CLI lacks."""


@ecs.command("register-task-definition")
@click.argument("path", type=click.File("r"))
@api_options
def ecs_register_task_definition(path, profile, region, endpoint_url):
    """Register the task definition in PATH (- for standard input), the console's JSON accepted."""
    from cloudlet.cli.ecs import register

    register(path, profile, region, endpoint_url)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("instance_id")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("-i", "--identity", default=None, help="Private key file [default: <KeyName>.pem].")
@click.option("-l", "--login", default=None, help="User [default: the one the AMI's init names].")
@api_options
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="The state of the cloudlet on this host that runs the instance [default: /var/lib/cloudlet as root].")
def ssh(instance_id, command, identity, login, profile, region, endpoint_url, data_dir):
    """SSH to a running EC2 instance, and run COMMAND there if given."""
    from cloudlet.cli.ssh import ssh as run

    run(instance_id, identity, login, command, profile, region, endpoint_url, data_dir)


@cli.command()
@click.option("--image", default="nginx", show_default=True, help="The image both ways (a server: its first exposed port is asked).")
@click.option("--runs", default=5, show_default=True, type=click.IntRange(1, 100), help="Starts of each kind.")
@click.option("--parallel", default=3, show_default=True, type=click.IntRange(0, 10),
              help="Also start this many at a time (0: only one at a time).")
@click.option("--density", default=10, show_default=True, type=click.IntRange(0, 500),
              help="Start up to this many idle instances of each kind (0: no density run).")
@click.option("--quick", is_flag=True,
              help="About a minute: at most 3 runs, no warm-up run, none at once, idle memory at 2 only, no density.")
@click.option("--out", default="compare-report", show_default=True, type=click.Path(file_okay=False),
              help="Where compare.json, the SVG plots and index.html go.")
@api_options
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="The state of the cloudlet on this host that runs them [default: /var/lib/cloudlet as root].")
@needs_root("it reads the memory of the VMs' and containers' processes on this host")
def compare(image, runs, parallel, density, quick, out, profile, region, endpoint_url, data_dir):
    """Containers vs VMs, measured here: IMAGE as an ECS task and as an EC2 instance
    (start, first response, memory, density, what each sees inside, speed), side by side."""
    from pathlib import Path

    from cloudlet.cli.compare import run
    from cloudlet.compare.driver import Options

    run(Options(image=image, runs=runs, parallel=parallel, density=density, quick=quick, profile=profile,
                region=region, endpoint_url=endpoint_url, data_dir=data_dir), Path(out))


def _engine_commands():
    # The docker-like commands; their modules import the engine only when a command runs.
    from cloudlet.cli import containers, images, registry

    for command in containers.COMMANDS + images.COMMANDS + registry.COMMANDS:
        cli.add_command(command)


_engine_commands()


def main():
    cli()


if __name__ == "__main__":
    main()
