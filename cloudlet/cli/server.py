"""`cloudlet up`: open the state, make sure an admin account exists, serve every API."""

import logging
from pathlib import Path

import click

from cloudlet.config import DEFAULT_REGIONS, Config
from cloudlet.store import Store
from cloudlet.store.accounts import create_account, list_credentials

ADMIN = "admin"


def admin_credential(store):
    for cred in list_credentials(store):
        if cred.account_name == ADMIN:
            return cred, False
    return create_account(store, ADMIN), True


def join_cluster(store, cred, region: str, name: str, allow_privileged: bool = False) -> str:
    """Register this host, with its real CPUs and memory, in the admin account's cluster; the
    same host registers as the same container instance every time, allowing privileged
    tasks only when the operator says so this time."""
    from cloudlet.control.privileges import PRIVILEGED
    from cloudlet.services.ecs.clusters import ensure_cluster
    from cloudlet.services.ecs.common import find_cluster
    from cloudlet.services.ecs.instances import host_resources, register

    machine = Path("/etc/machine-id").read_text().strip() if Path("/etc/machine-id").exists() else "cloudlet"
    cpu, memory = host_resources()
    with store.scoped(cred.account_id, region) as db:
        ensure_cluster(db, name)
        body = register(db, find_cluster(db, name), cpu=cpu, memory=memory, ec2_instance_id=f"i-{machine[:17]}",
                        attributes=[{"name": PRIVILEGED}] if allow_privileged else [])
    return body["containerInstanceArn"]


def serve(host: str, port: int, data_dir, regions, write_profile: bool, lifecycle_interval: float = 600,
          cluster: str | None = None, allow_privileged: bool = False, vpc_pool: str = "172.16.0.0/12") -> None:
    import uvicorn

    from cloudlet.cli import daemon
    from cloudlet.cli.profile import write_profile as write
    from cloudlet.edge import models
    from cloudlet.edge.app import create_app

    region_list = tuple(r.strip() for r in regions.split(",") if r.strip()) if regions else DEFAULT_REGIONS
    config = Config(host=host, port=port, regions=region_list, lifecycle_interval=lifecycle_interval, vpc_pool=vpc_pool,
                    **({"data_dir": Path(data_dir)} if data_dir else {}))
    store = Store(config.db_path)
    cred, created = admin_credential(store)
    models.preload()

    click.echo(f"cloudlet: state in {config.db_path}")
    click.echo(f"cloudlet: {'created' if created else 'using'} account {ADMIN} ({cred.account_id})")
    if write_profile:
        where = write(cred, config.regions[0], config.endpoint)
        click.echo(f"cloudlet: profile 'cloudlet' written to {where}/credentials and {where}/config; try:")
        click.echo("    aws --profile cloudlet sts get-caller-identity")
    else:
        click.echo(f"cloudlet: access key {cred.access_key_id} (see `cloudlet accounts list`)")
    if cluster:
        arn = join_cluster(store, cred, config.regions[0], cluster, allow_privileged)
        click.echo(f"cloudlet: this host is container instance {arn}"
                   + (", allowing privileged tasks" if allow_privileged else ""))
    click.echo(f"cloudlet: listening on {config.endpoint}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop_engine = daemon.start(config.data_dir)
    try:
        uvicorn.run(create_app(config, store), host=host, port=port, log_level="warning", access_log=False)
    finally:
        stop_engine()
