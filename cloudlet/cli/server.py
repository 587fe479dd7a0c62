"""`cloudlet up`: open the state, make sure an admin account exists, serve every API."""

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import click

from cloudlet.config import DEFAULT_REGIONS, Config, private_dir
from cloudlet.store import Store
from cloudlet.store.accounts import create_account, list_credentials

ADMIN = "admin"
_TERMINATED = threading.Event()  # stopped by SIGTERM (not by a crash): what it made may go


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
          metrics_interval: float = 20.0,
          cluster: str | None = None, allow_privileged: bool = False, vpc_pool: str = "172.16.0.0/12",
          public_pool: str = "198.18.0.0/16", public_interface: str | None = None, hosts_file: str | None = None,
          log_level: str = "info") -> None:
    from cloudlet.cli import daemon, listeners
    from cloudlet.cli.datadir import AlreadyRunning, ServerLock

    region_list = tuple(r.strip() for r in regions.split(",") if r.strip()) if regions else DEFAULT_REGIONS
    config = Config(host=host, port=port, regions=region_list, lifecycle_interval=lifecycle_interval,
                    metrics_interval=metrics_interval, vpc_pool=vpc_pool,
                    public_pool=public_pool, public_interface=public_interface,
                    hosts_file=Path(hosts_file).absolute() if hosts_file else None,
                    **({"data_dir": Path(data_dir)} if data_dir else {}))
    private_dir(config.data_dir)
    try:
        lock = ServerLock(config.data_dir)
        api_socket = listeners.bind(host, port)
    except (AlreadyRunning, OSError) as e:
        raise click.ClickException(str(e) if isinstance(e, AlreadyRunning) else
                                   f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    # the guests' metadata services: ports of their own, which their DNAT points at (routers
    # at the host's end of their uplinks, bridges at loopback); the host's filter keeps
    # everyone else off them
    imds_socket, task_socket = listeners.bind("0.0.0.0", 0), listeners.bind("0.0.0.0", 0)
    config.imds_port, config.task_metadata_port = imds_socket.getsockname()[1], task_socket.getsockname()[1]
    lock.own(port)
    # first: the fork server imports what it keeps warm while this process makes the rest
    listening, stop_engine = daemon.start(config.data_dir)
    try:
        _serve(config, Store(config.db_path), sockets=(api_socket, imds_socket, task_socket),
               listening=listening, write_profile=write_profile, cluster=cluster,
               allow_privileged=allow_privileged, log_level=log_level)
    finally:
        stop_engine()
        if _TERMINATED.is_set():
            _clean_up_after(config.data_dir, lock)


def _serve(config, store, sockets, listening, write_profile: bool, cluster: str | None, allow_privileged: bool,
           log_level: str) -> None:
    from cloudlet.cli import listeners
    from cloudlet.cli.profile import write_profile as write
    from cloudlet.edge import models
    from cloudlet.edge.app import create_app, start_controllers
    from cloudlet.edge.listeners import instance_metadata_app, router_of, task_metadata_app

    api_socket, imds_socket, task_socket = sockets
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
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(config, store)
    click.echo(f"cloudlet: listening on {config.endpoint}")
    # uvicorn stops on SIGTERM and then raises it again: as an exit, so that what follows runs
    signal.signal(signal.SIGTERM, _terminated)
    # the API answers while the controllers start; /_cloudlet/health says ok once they have
    threading.Thread(target=start_controllers, args=(app, listening), name="start-controllers", daemon=True).start()
    try:
        listeners.serve(app, api_socket, [(instance_metadata_app(store, router_of(app.state.edge)), imds_socket),
                                          (task_metadata_app(app.state.edge), task_socket)])
    finally:
        app.state.edge.provider("elbv2").close()  # its block of the hosts file goes; its proxies stay


def _terminated(*_):
    _TERMINATED.set()
    sys.exit(0)


def _clean_up_after(data_dir: Path, lock) -> None:
    """Become `cloudlet down`'s clean-up (cli/down.py), the lock kept across exec: the
    controllers' threads end here, so none makes a router again while the network goes (what
    one was doing is cut off as by a crash: the state holds only what was done), and no other
    server can take the data dir before it is gone."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.set_inheritable(lock.fd, True)
    os.execv(sys.executable, [sys.executable, "-m", "cloudlet.cli.down", str(data_dir)])
