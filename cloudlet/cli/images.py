"""Image commands: image ls/rm/bootstrap/to-ami, save, load, and `system prune`."""

import click

from cloudlet.cli.aws import api_options
from cloudlet.cli.engine_opts import data_dir_option, engine, fail_cleanly, needs_root


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n}B"


@click.group()
def image():
    """Images in this host's store."""


@image.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only image ids.")
@data_dir_option
def image_ls(quiet, data_dir):
    """List tagged images."""
    with fail_cleanly():
        images = engine(data_dir).images.list()
    if not quiet:
        click.echo(f"{'REPOSITORY':<40}{'TAG':<16}{'IMAGE ID':<14}{'SIZE':>10}")
    for ref, img in images:
        image_id = img.id.split(":")[1][:12]
        if quiet:
            click.echo(image_id)
        else:
            repo = ref.familiar.rsplit(":", 1)[0] if ref.tag else ref.familiar
            click.echo(f"{repo:<40}{ref.tag or '<none>':<16}{image_id:<14}{_size(img.size):>10}")


@image.command("rm")
@click.argument("refs", nargs=-1, required=True)
@data_dir_option
def image_rm(refs, data_dir):
    """Remove tags; the blobs go at the next prune unless another tag uses them."""
    with fail_cleanly():
        store = engine(data_dir).images
        for ref in refs:
            for gone in store.untag(ref):
                click.echo(f"Untagged: {gone}")


@image.command("bootstrap")
@click.argument("names", nargs=-1)
@data_dir_option
@needs_root("mmdebstrap builds the images' trees in a chroot")
def image_bootstrap(names, data_dir):
    """Make the base images from Debian packages: busybox, debian:bookworm-slim, nginx,
    python:3.11 (or only those named). Cached: a second run is instant."""
    from cloudlet.bootstrap.images import bootstrap

    with fail_cleanly():
        try:
            bootstrap(engine(data_dir).images, list(names) or None, progress=click.echo)
        except (ValueError, RuntimeError) as e:
            raise click.ClickException(str(e)) from None


@image.command("to-ami")
@click.argument("image_ref", metavar="IMAGE")
@click.option("--name", help="The AMI's name [default: <repository>-<tag>-<12 hex of the image id>].")
@api_options
@data_dir_option
@needs_root("the disk keeps the image's file owners, and the image's account is written into the server's store")
def image_to_ami(image_ref, name, profile, region, endpoint_url, data_dir):
    """Make IMAGE (this host's, an ECR repository's URI, or a base image's name) an AMI of
    the caller's account whose instances run the image's own process; prints the AMI id."""
    from cloudlet.cli.to_ami import to_ami

    to_ami(image_ref, name, profile, region, endpoint_url, data_dir)


@click.group()
def network():
    """Container networks."""


@network.command("ls")
@data_dir_option
def network_ls(data_dir):
    """List networks."""
    with fail_cleanly():
        nets = engine(data_dir).networks.list()
    click.echo(f"{'NAME':<24}{'BRIDGE':<16}SUBNET")
    for name, net in nets.items():
        click.echo(f"{name:<24}{net['bridge']:<16}{net['subnet']}")


@network.command("create")
@click.argument("name")
@click.option("--subnet")
@data_dir_option
@needs_root("a network is a bridge and firewall rules on the host")
def network_create(name, subnet, data_dir):
    """Create a user network: its containers find each other by name."""
    with fail_cleanly():
        engine(data_dir).networks.create(name, subnet)
    click.echo(name)


@network.command("rm")
@click.argument("names", nargs=-1, required=True)
@data_dir_option
def network_rm(names, data_dir):
    """Remove networks no container uses."""
    with fail_cleanly():
        nets = engine(data_dir).networks
        for name in names:
            nets.remove(name)
            click.echo(name)


@click.command()
@click.argument("refs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["oci", "docker"]), default="oci", show_default=True,
              help="OCI layout tar or docker-archive (`docker load` reads it).")
@data_dir_option
def save(refs, output, fmt, data_dir):
    """Save images to a tar archive."""
    from cloudlet.agent.images import export_archive

    with fail_cleanly():
        export_archive(engine(data_dir).images, list(refs), output, format=fmt)


@click.command()
@click.option("-i", "--input", "src", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--tag", help="Tag for an archive whose image has no name.")
@data_dir_option
def load(src, tag, data_dir):
    """Load images from an OCI or docker-archive tar."""
    from cloudlet.agent.images import import_archive

    with fail_cleanly():
        for loaded in import_archive(engine(data_dir).images, src, tag=tag):
            click.echo(f"Loaded image: {loaded.reference or loaded.image.digest}")


@click.group()
def system():
    """Host-wide housekeeping."""


@system.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not ask.")
@data_dir_option
def system_prune(force, data_dir):
    """Remove stopped containers, network leftovers, and images and layers nothing uses."""
    if not force:
        click.confirm("Remove all stopped containers and unused images?", abort=True)
    with fail_cleanly():
        result = engine(data_dir).prune()
    for name in result["containers"]:
        click.echo(f"Deleted container: {name}")
    click.echo(f"Deleted {len(result['layers'])} unused layers")


@click.command()
@click.argument("context", type=click.Path(exists=True, file_okay=False))
@click.option("-t", "--tag", "tags", multiple=True, help="name:tag for the image (repeatable).")
@click.option("-f", "--file", "dockerfile", default="Dockerfile", show_default=True)
@click.option("--build-arg", multiple=True, help="NAME=value")
@click.option("--target", help="Build up to this stage.")
@click.option("--no-cache", is_flag=True)
@data_dir_option
@needs_root("RUN steps run in containers, under runc")
def build(context, tags, dockerfile, build_arg, target, no_cache, data_dir):
    """Build an image from a Dockerfile."""
    from cloudlet.agent.build import BuildError, Builder

    with fail_cleanly():
        eng = engine(data_dir)
        work = eng.root / "build"
        work.mkdir(exist_ok=True)
        try:
            digest = Builder(eng.images, eng.runtime, work).build(
                context, dockerfile, tags=list(tags), build_args=dict(a.partition("=")[::2] for a in build_arg),
                target=target, no_cache=no_cache, progress=click.echo)
        except BuildError as e:
            raise click.ClickException(str(e)) from None
    click.echo(f"Successfully built {digest}")
    for tag in tags:
        click.echo(f"Successfully tagged {tag}")


COMMANDS = [image, network, build, save, load, system]
