"""Registry commands on this host: push and pull between the engine and ECR repositories."""

import re
from pathlib import Path

import click

from cloudlet.cli.engine_opts import data_dir_option, engine

_URI = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.[^/]+/(.+)$")

account_option = click.option("--account-id", help="Account whose registry to use [default: the admin account].")
region_option = click.option("--region", default="us-east-1", show_default=True)


def _target(text: str, account_id: str | None, region: str) -> tuple[str | None, str, str, str]:
    """(account, region, repository, tag) of `repo[:tag]` or a repository URI."""
    m = _URI.match(text)
    if m:
        account_id, region, text = m.group(1), m.group(2), m.group(3)
    repo, sep, tag = text.rpartition(":")
    if not sep or "/" in tag:
        repo, tag = text, "latest"
    return account_id, region, repo, tag


def _open(data_dir, account_id: str | None, region: str):
    """The registry, the engine's images and the scope the command works in."""
    from cloudlet.cli.server import admin_credential
    from cloudlet.config import default_data_dir
    from cloudlet.registry import open_registry
    from cloudlet.registry.registry import Scope
    from cloudlet.store import Store

    root = Path(data_dir) if data_dir else default_data_dir()
    store = Store(root / "state.db")
    account_id = account_id or admin_credential(store)[0].account_id
    return open_registry(store, root), engine(data_dir).images, Scope(account_id, region)


def _fail(e) -> None:
    click.echo(f"cloudlet: {e}", err=True)
    raise SystemExit(125)


@click.command()
@click.argument("image")
@click.argument("target")
@account_option
@region_option
@data_dir_option
def push(image, target, account_id, region, data_dir):
    """Push an image of this host to an ECR repository (repo[:tag] or its URI); no bytes are copied."""
    from cloudlet.agent.images import ImageError
    from cloudlet.registry import RegistryError
    from cloudlet.registry.local import push as push_image

    account_id, region, repo, tag = _target(target, account_id, region)
    try:
        registry, images, scope = _open(data_dir, account_id, region)
        digest = push_image(registry, images, image, scope, repo, tag)
    except (RegistryError, ImageError) as e:
        _fail(e)
    click.echo(f"{repo}:{tag}: digest: {digest}")


@click.command()
@click.argument("source")
@account_option
@region_option
@data_dir_option
def pull(source, account_id, region, data_dir):
    """Make an image of an ECR repository (repo[:tag] or its URI) runnable here."""
    from cloudlet.agent.images import ImageError
    from cloudlet.registry import RegistryError
    from cloudlet.registry.local import pull as pull_image

    account_id, region, repo, tag = _target(source, account_id, region)
    try:
        registry, images, scope = _open(data_dir, account_id, region)
        digest = pull_image(registry, images, scope, repo, tag, source if _URI.match(source) else f"{repo}:{tag}")
    except (RegistryError, ImageError) as e:
        _fail(e)
    click.echo(f"{source}: digest: {digest}")


COMMANDS = [push, pull]
