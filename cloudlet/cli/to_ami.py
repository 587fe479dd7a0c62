"""`cloudlet image to-ami IMAGE`: an OCI image as an AMI of the caller's account, whose
instances run the image's own process (bootstrap/image_amis.py). IMAGE is one of this host's
images, an ECR repository's by its URI (pulled as `cloudlet pull` does, from the caller's own
account only, as a task's is), or a base image's name (built from Debian packages on first
use, as a task's is).

The caller is whoever the profile's credentials belong to (--profile, else `cloudlet`, else
the usual chain): the API must accept them in the region (DescribeRegions), and they must be
an account's of this data dir, into whose store the AMI is written directly, as `cloudlet
accounts` writes accounts: no AWS operation takes a disk made on the host. The AMI's id is
the last line on stdout.
"""

from __future__ import annotations

import hmac
import re
from pathlib import Path

import click

_UNFIT = re.compile(r"[^A-Za-z0-9()\[\] ./\-'@_]")  # what an AMI name may not hold


def _fail(message: str):
    click.echo(f"cloudlet: {message}", err=True)
    raise SystemExit(1)


def _caller(store, root: Path, profile, region, endpoint_url) -> tuple[str, str]:
    """(account id, region) of the profile's credentials."""
    from botocore.exceptions import BotoCoreError, ClientError

    from cloudlet.cli import aws
    from cloudlet.store.accounts import find_key

    try:
        session = aws.session(profile)
        credentials = session.get_credentials()
        region = region or session.get_config_variable("region")
    except BotoCoreError as e:
        _fail(str(e))
    if credentials is None:
        _fail("no AWS credentials: pass --profile (`cloudlet up` writes the cloudlet profile)")
    if not region:
        _fail("no region: pass --region")
    key = credentials.get_frozen_credentials()
    cred = find_key(store, key.access_key)
    if cred is None or not hmac.compare_digest(cred.secret_access_key.encode(), (key.secret_key or "").encode()):
        _fail(f"the access key {key.access_key} is not an account's of the cloudlet in {root}")
    try:
        session.create_client("ec2", region_name=region, endpoint_url=endpoint_url).describe_regions(
            RegionNames=[region])
    except (BotoCoreError, ClientError) as e:
        _fail(str(e))
    return cred.account_id, region


def _image(root: Path, images, ref: str, account_id: str, region: str):
    """The image IMAGE names, pulled or built first where it is not here yet."""
    from cloudlet.agent.images import ImageNotFound
    from cloudlet.bootstrap.images import bootstrap
    from cloudlet.bootstrap.recipes import recipe_for
    from cloudlet.cli import registry
    from cloudlet.registry.local import pull

    if registry.ECR_URI.match(ref):
        owner, where, repo, tag = registry.ecr_target(ref, None, region)
        if owner != account_id:
            _fail(f"{ref}: access denied: the repository is account {owner}'s")
        ecr, images, scope = registry.open_scope(root, owner, where)
        pull(ecr, images, scope, repo, tag, ref)
        return images.get(ref)
    try:
        return images.get(ref)
    except ImageNotFound:
        try:
            recipe_for(ref)
        except ValueError:
            _fail(f"no image {ref} on this host (`cloudlet image ls` lists them; `cloudlet pull`, `cloudlet load` "
                  "or `cloudlet build` bring one) and no base image of that name")
    bootstrap(images, [ref], progress=click.echo)
    return images.get(ref)


def default_name(ref: str, image_id: str) -> str:
    """<repository>-<tag>-<12 hex of the image id>, as an AMI name may be."""
    from cloudlet.agent.images import parse_reference
    from cloudlet.agent.images.reference import DEFAULT_DOMAIN, is_digest

    short = image_id.split(":")[-1][:12]
    if is_digest(ref):
        return f"image-{short}"
    r = parse_reference(ref)
    repo = r.path.removeprefix("library/") if r.domain == DEFAULT_DOMAIN else r.path
    tail = "-".join([*([r.tag] if r.tag else []), short])
    return _UNFIT.sub("-", f"{repo[:127 - len(tail)]}-{tail}")


def to_ami(ref: str, name: str | None, profile, region, endpoint_url, data_dir) -> None:
    import subprocess

    from cloudlet import progress
    from cloudlet.agent.content import ContentError
    from cloudlet.agent.images import ImageError
    from cloudlet.bootstrap import image_amis
    from cloudlet.cli.engine_opts import engine
    from cloudlet.config import boot_dir, default_data_dir
    from cloudlet.edge.errors import AWSError
    from cloudlet.registry import RegistryError
    from cloudlet.services.ec2.images import check_name, import_disk
    from cloudlet.store import Store

    root = Path(data_dir) if data_dir else default_data_dir()
    if not (root / "state.db").is_file():
        _fail(f"no cloudlet state in {root} (pass `cloudlet up`'s --data-dir, or set CLOUDLET_DATA_DIR)")
    store = Store(root / "state.db")
    account_id, region = _caller(store, root, profile, region, endpoint_url)
    try:
        if name is not None:  # a taken name fails before minutes of work, and again at the end
            with store.scoped(account_id, region, write=False) as db:
                check_name(db, name)
        images = engine(root).images
        image = _image(root, images, ref, account_id, region)
        name = name or default_name(ref, image.id)
        with progress.step(f"disk of {ref}"):
            base, size = image_amis.root_disk(boot_dir(root), images, image)
        with store.scoped(account_id, region) as db:
            ami = import_disk(db, account_id, name, f"{ref} ({image.id}), by cloudlet image to-ami", base, size)
    except AWSError as e:
        _fail(f"{e.code}: {e.message}")
    except RegistryError as e:
        _fail(f"{ref}: {e.message}")
    except (ImageError, ContentError, ValueError, RuntimeError, OSError, subprocess.SubprocessError) as e:
        # RuntimeError: the disk's tools, or a tree the image does not let be made (amis.py, guest_tree.py);
        # ValueError: the image's config (workload.py)
        _fail(f"{ref}: {e}")
    click.echo(f"{name}: root disk {base} ({size} GiB)")
    click.echo(ami)
