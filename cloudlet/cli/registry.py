"""Registry commands on this host: push and pull between the engine and ECR repositories."""

import re
from pathlib import Path

import click

from cloudlet.cli.engine_opts import data_dir_option, engine

ECR_URI = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.[^/]+/(.+)$")

account_option = click.option("--account-id", help="Account whose registry to use [default: the admin account].")
region_option = click.option("--region", default="us-east-1", show_default=True)


def ecr_target(text: str, account_id: str | None, region: str) -> tuple[str | None, str, str, str]:
    """(account, region, repository, tag) of `repo[:tag]` or a repository URI."""
    m = ECR_URI.match(text)
    if m:
        account_id, region, text = m.group(1), m.group(2), m.group(3)
    repo, sep, tag = text.rpartition(":")
    if not sep or "/" in tag:
        repo, tag = text, "latest"
    return account_id, region, repo, tag


def _registry(data_dir):
    """This data dir's registry and the engine's images (one content store)."""
    from cloudlet.config import default_data_dir
    from cloudlet.registry import open_registry
    from cloudlet.store import Store

    root = Path(data_dir) if data_dir else default_data_dir()
    return open_registry(Store(root / "state.db"), root), engine(data_dir).images


def open_scope(data_dir, account_id: str | None, region: str):
    """The registry, the engine's images and the account and region the command works in."""
    from cloudlet.cli.server import admin_credential
    from cloudlet.registry.registry import Scope

    registry, images = _registry(data_dir)
    account_id = account_id or admin_credential(registry.store)[0].account_id
    return registry, images, Scope(account_id, region)


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

    account_id, region, repo, tag = ecr_target(target, account_id, region)
    try:
        registry, images, scope = open_scope(data_dir, account_id, region)
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

    account_id, region, repo, tag = ecr_target(source, account_id, region)
    try:
        registry, images, scope = open_scope(data_dir, account_id, region)
        digest = pull_image(registry, images, scope, repo, tag, source if ECR_URI.match(source) else f"{repo}:{tag}")
    except (RegistryError, ImageError) as e:
        _fail(e)
    click.echo(f"{source}: digest: {digest}")


@click.group("registry")
def registry_group():
    """Registry housekeeping."""


@registry_group.command()
@data_dir_option
def fsck(data_dir):
    """Check every blob's digest and every repository's rows and keys; exit 1 on problems."""
    from cloudlet.registry.maintenance import fsck as check

    report = check(_registry(data_dir)[0])
    for problem in report.problems:
        click.echo(problem, err=True)
    click.echo(f"{report.blobs} blobs, {report.rows} rows checked: "
               f"{len(report.problems) or 'no'} problem{'' if len(report.problems) == 1 else 's'}")
    raise SystemExit(1 if report.problems else 0)


@registry_group.command()
@click.option("--grace", type=float, default=3600, show_default=True,
              help="Seconds a blob may wait for the manifest that will use it (pushes under way).")
@data_dir_option
def gc(grace, data_dir):
    """Remove blobs no image references; a push under way keeps its blobs."""
    from cloudlet.registry.maintenance import gc as collect

    report = collect(*_registry(data_dir), grace=grace)
    for link in report.unlinked:
        click.echo(f"unlinked {link}")
    click.echo(f"removed {len(report.content.removed)} blobs ({report.content.freed_bytes} bytes), "
               f"{report.uploads} abandoned uploads")


@click.group("scan-db")
def scan_db():
    """The advisories image scans match packages against (OSV format)."""


@scan_db.command("import")
@click.argument("path", type=click.Path(exists=True))
@data_dir_option
def scan_db_import(path, data_dir):
    """Load OSV advisories from a JSON file, a directory of them or an OSV zip dump."""
    from cloudlet.registry.scanning.advisories import ScanDBError, describe, import_path

    store = _registry(data_dir)[0].store
    try:
        count = import_path(store, path)
    except ScanDBError as e:
        _fail(e)
    db = describe(store)
    click.echo(f"imported {count} advisories; the database has {db.count}, updated {db.updated_at}")


@scan_db.command("show")
@data_dir_option
def scan_db_show(data_dir):
    """Where the advisories came from and how recent they are."""
    from cloudlet.registry.scanning.advisories import describe

    db = describe(_registry(data_dir)[0].store)
    for source in db.sources:
        click.echo(f"source: {source}")
    click.echo(f"{db.count} advisories, updated {db.updated_at or 'never'}")


COMMANDS = [push, pull, registry_group, scan_db]
