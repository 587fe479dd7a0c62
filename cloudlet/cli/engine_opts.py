"""What the engine commands share: the state directory, clean error reporting, and the
option set of `run`."""

import contextlib
import functools
import os
from pathlib import Path

import click

from cloudlet.config import default_data_dir, engine_dir

data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False),
                               help="State directory [default: /var/lib/cloudlet as root].")


def needs_root(why: str):
    """A command that cannot work but as root says so before it starts, rather than fail
    deep inside runc, nft or mmdebstrap."""
    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, **kw):
            if os.geteuid() != 0:
                name = click.get_current_context().command_path
                raise click.ClickException(f"`{name}` needs root ({why}): run it as root")
            return f(*args, **kw)
        return wrapper
    return decorate


def engine(data_dir):
    from cloudlet.agent.engine import Engine
    from cloudlet.config import private_dir

    return Engine(engine_dir(private_dir(Path(data_dir) if data_dir else default_data_dir())))


@contextlib.contextmanager
def fail_cleanly():
    """The engine's errors as one line on stderr and exit status 125, as docker does."""
    from cloudlet.agent.engine import EngineError, OptionError
    from cloudlet.agent.images import ImageError
    from cloudlet.agent.network import NetworkError
    from cloudlet.agent.runtime import ContainerError

    try:
        yield
    except (EngineError, OptionError, ImageError, ContainerError, NetworkError, FileNotFoundError) as e:
        click.echo(f"cloudlet: {e}", err=True)
        raise SystemExit(125) from None


def run_options(f):
    """The options of `run` (and `create`), handed to the command as one RunOptions."""
    options = [
        click.argument("image"),
        click.argument("command", nargs=-1),
        click.option("--name"),
        click.option("-p", "--publish", multiple=True, help="[ip:]hostPort:containerPort[/udp]"),
        click.option("-e", "--env", multiple=True),
        click.option("--env-file", multiple=True, type=click.Path(exists=True, dir_okay=False)),
        click.option("-v", "--volume", multiple=True, help="/host:/path[:ro] or name:/path[:ro]"),
        click.option("--tmpfs", multiple=True),
        click.option("-m", "--memory", help="e.g. 128m"),
        click.option("--cpus", type=float),
        click.option("--cpu-shares", type=int),
        click.option("--pids-limit", type=int),
        click.option("--network", "--net", default="bridge", show_default=True, help="bridge, none, host or a network"),
        click.option("--network-alias", multiple=True),
        click.option("-u", "--user"),
        click.option("-w", "--workdir"),
        click.option("--hostname"),
        click.option("--entrypoint"),
        click.option("--read-only", is_flag=True),
        click.option("--restart", default="no", help="no, on-failure[:max], always, unless-stopped"),
        click.option("--ulimit", multiple=True, help="name=soft[:hard]"),
        click.option("--cap-add", multiple=True),
        click.option("--cap-drop", multiple=True),
        click.option("--privileged", is_flag=True, help="Every capability and host device, no seccomp filter."),
        click.option("--device", multiple=True, help="/dev/host[:/dev/container[:rwm]]"),
        click.option("--userns", is_flag=True,
                     help="Run in a user namespace: root inside is an unprivileged id range of the host."),
        click.option("--stop-signal"),
        click.option("--stop-timeout", type=float, default=10.0),
        click.option("-l", "--label", multiple=True),
    ]

    @functools.wraps(f)
    def wrapper(**kw):
        from cloudlet.agent.engine import OptionError, RunOptions
        from cloudlet.agent.engine import options as o

        try:
            env = dict(pair for path in kw.pop("env_file") for pair in o.env_file(path))
            env.update(o.env_pair(e) for e in kw.pop("env"))
            entrypoint, memory = kw.pop("entrypoint"), kw.pop("memory")
            opts = RunOptions(
                image=kw.pop("image"), command=list(kw.pop("command")) or None, name=kw.pop("name"),
                # `--entrypoint ""` clears the image's entrypoint, as docker's does
                entrypoint=None if entrypoint is None else [entrypoint] if entrypoint else [],
                env=env, ports=[o.port(p) for p in kw.pop("publish")], network=kw.pop("network"),
                aliases=list(kw.pop("network_alias")),
                memory=o.size(memory) if memory else None,
                cpus=kw.pop("cpus"), cpu_shares=kw.pop("cpu_shares"), pids_limit=kw.pop("pids_limit"),
                user=kw.pop("user"), workdir=kw.pop("workdir"), hostname=kw.pop("hostname"),
                mounts=[o.volume(v) for v in kw.pop("volume")], tmpfs=[o.tmpfs(t) for t in kw.pop("tmpfs")],
                ulimits=[o.ulimit(u) for u in kw.pop("ulimit")], readonly_rootfs=kw.pop("read_only"),
                cap_add=list(kw.pop("cap_add")), cap_drop=list(kw.pop("cap_drop")), privileged=kw.pop("privileged"),
                devices=[o.device(d) for d in kw.pop("device")], userns=kw.pop("userns"),
                stop_signal=kw.pop("stop_signal"), stop_timeout=kw.pop("stop_timeout"),
                restart=o.restart_policy(kw.pop("restart")),
                labels=dict(label.partition("=")[::2] for label in kw.pop("label")))
        except OptionError as e:
            raise click.UsageError(str(e)) from None
        return f(opts=opts, **kw)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
