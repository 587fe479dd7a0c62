"""Docker-like commands on this host's engine: run, ps, logs, exec, stats, stop, rm, ...
Daemonless, like podman: each command works on the engine's state directory, and the
containers it starts outlive it (conmon supervises them)."""

import sys
import time

import click

from cloudlet.cli.engine_opts import data_dir_option, engine, fail_cleanly, needs_root, run_options


def _echo(line, timestamps: bool = False) -> None:
    """A log line on the stream the container wrote it to."""
    stream = sys.stderr if line.stream == "stderr" else sys.stdout
    print(f"{line.time} {line.text}" if timestamps else line.text, file=stream, flush=True)


@click.command(context_settings={"allow_interspersed_args": False})
@run_options
@click.option("-d", "--detach", is_flag=True, help="Run in the background and print the container id.")
@click.option("--rm", "auto_remove", is_flag=True, help="Remove the container when it exits.")
@data_dir_option
@needs_root("containers run under runc, in namespaces and cgroups of the host")
def run(opts, detach, auto_remove, data_dir):
    """Run a command in a new container."""
    with fail_cleanly():
        eng = engine(data_dir)
        container = eng.run(opts)
        for warning in container.state.warnings:
            click.echo(f"WARNING: {warning}", err=True)
        if detach:
            click.echo(container.id)
            return
        try:
            for line in eng.runtime.logs(container.id, follow=True):
                _echo(line)
            code = eng.runtime.wait(container.id)
        except KeyboardInterrupt:
            code = eng.stop(container.id)
        if auto_remove:
            eng.remove(container.id, force=True)
        raise SystemExit(code or 0)


def _age(iso: str | None) -> str:
    if not iso:
        return ""
    from datetime import datetime
    seconds = time.time() - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} seconds"


def _status(c) -> str:
    st = c.state
    if st.status == "running":
        return f"Up {_age(st.started_at)}"
    if st.status == "exited":
        oom = " (OOM killed)" if st.oom_killed else ""
        return f"Exited ({st.exit_code}){oom} {_age(st.finished_at)} ago"
    return st.status.capitalize()


@click.command()
@click.option("-a", "--all", "show_all", is_flag=True, help="Show stopped containers too.")
@click.option("-q", "--quiet", is_flag=True, help="Only ids.")
@data_dir_option
def ps(show_all, quiet, data_dir):
    """List containers."""
    with fail_cleanly():
        containers = engine(data_dir).list(all=show_all)
    if quiet:
        for c in containers:
            click.echo(c.id[:12])
        return
    click.echo(f"{'CONTAINER ID':<14}{'IMAGE':<26}{'STATUS':<28}{'IP':<16}{'PORTS':<30}NAMES")
    for c in containers:
        ports = ", ".join(str(p) for p in c.ports)
        click.echo(f"{c.id[:12]:<14}{c.image[:25]:<26}{_status(c)[:27]:<28}{(c.ip or '')[:15]:<16}{ports[:29]:<30}{c.name}")


@click.command()
@click.argument("container")
@click.option("-f", "--follow", is_flag=True)
@click.option("--tail", type=int, default=None, help="Only the last N lines.")
@click.option("-t", "--timestamps", is_flag=True)
@data_dir_option
def logs(container, follow, tail, timestamps, data_dir):
    """Show a container's output."""
    with fail_cleanly():
        eng = engine(data_dir)
        try:
            for line in eng.runtime.logs(eng.resolve(container), follow=follow, tail=tail):
                _echo(line, timestamps)
        except KeyboardInterrupt:
            pass


@click.command(name="exec", context_settings={"allow_interspersed_args": False})
@click.option("-i", "--interactive", is_flag=True, help="Pass standard input on.")
@click.option("-t", "--tty", is_flag=True)
@click.option("-u", "--user")
@click.option("-w", "--workdir")
@click.option("-e", "--env", multiple=True)
@click.argument("container")
@click.argument("command", nargs=-1, required=True)
@data_dir_option
@needs_root("containers run under runc, in namespaces and cgroups of the host")
def exec_(interactive, tty, user, workdir, env, container, command, data_dir):
    """Run a command in a running container."""
    from cloudlet.agent.engine.options import env_pair

    with fail_cleanly():
        eng = engine(data_dir)
        stdin = sys.stdin.buffer.read() if interactive and not tty else None
        result = eng.runtime.exec(eng.resolve(container), list(command), env=dict(env_pair(e) for e in env),
                                  user=user, workdir=workdir, stdin=stdin, tty=tty)
    sys.stdout.buffer.write(result.stdout)
    sys.stderr.buffer.write(result.stderr)
    raise SystemExit(result.exit_code)


def _mib(n: int) -> str:
    return f"{n / 1024**2:.1f}MiB" if n < 1024**3 else f"{n / 1024**3:.2f}GiB"


@click.command()
@click.argument("containers", nargs=-1)
@click.option("--no-stream", is_flag=True, help="One reading, then exit.")
@data_dir_option
def stats(containers, no_stream, data_dir):
    """CPU, memory, pids and network of running containers, from their cgroups."""
    with fail_cleanly():
        eng = engine(data_dir)
        ids = [eng.resolve(c) for c in containers] or [c.id for c in eng.list(all=False)]
        while True:
            click.echo(f"{'CONTAINER ID':<14}{'NAME':<20}{'CPU %':>8}  {'MEM USAGE / LIMIT':<24}{'MEM %':>7}"
                       f"{'NET I/O':>24}{'PIDS':>6}")
            for cid in ids:
                s = eng.runtime.stats(cid, interval=0.5)
                name = eng.runtime.state(cid).name
                click.echo(f"{cid[:12]:<14}{name[:19]:<20}{s.cpu_percent:>7.2f}%  "
                           f"{_mib(s.memory_usage) + ' / ' + _mib(s.memory_limit):<24}{s.memory_percent:>6.2f}%"
                           f"{_mib(s.net_rx_bytes) + ' / ' + _mib(s.net_tx_bytes):>24}{s.pids:>6}")
            if no_stream:
                return
            time.sleep(1)


@click.command()
@click.argument("containers", nargs=-1, required=True)
@click.option("-t", "--time", "timeout", type=float, default=None, help="Seconds to wait before SIGKILL.")
@data_dir_option
def stop(containers, timeout, data_dir):
    """Stop containers: their stop signal, then SIGKILL after the grace period."""
    with fail_cleanly():
        eng = engine(data_dir)
        for c in containers:
            eng.stop(c, timeout)
            click.echo(c)


@click.command()
@click.argument("containers", nargs=-1, required=True)
@data_dir_option
@needs_root("containers run under runc, in namespaces and cgroups of the host")
def start(containers, data_dir):
    """Start stopped containers again."""
    with fail_cleanly():
        eng = engine(data_dir)
        for c in containers:
            eng.start(c)
            click.echo(c)


@click.command()
@click.argument("containers", nargs=-1, required=True)
@click.option("-s", "--signal", "sig", default="SIGKILL")
@data_dir_option
def kill(containers, sig, data_dir):
    """Send a signal to containers."""
    with fail_cleanly():
        eng = engine(data_dir)
        for c in containers:
            eng.runtime.kill(eng.resolve(c), sig)
            click.echo(c)


@click.command()
@click.argument("containers", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Kill running containers first.")
@data_dir_option
def rm(containers, force, data_dir):
    """Remove containers and everything they hold on the host."""
    with fail_cleanly():
        eng = engine(data_dir)
        for c in containers:
            eng.remove(c, force=force)
            click.echo(c)


@click.command()
@click.argument("container")
@data_dir_option
def inspect(container, data_dir):
    """A container's state as JSON, with docker's key names."""
    import json

    with fail_cleanly():
        c = engine(data_dir).get(container)
    st = c.state
    state = {"Status": st.status, "Running": st.status == "running", "Paused": st.status == "paused",
             "OOMKilled": st.oom_killed, "Pid": st.pid or 0, "ExitCode": st.exit_code or 0,
             "StartedAt": st.started_at, "FinishedAt": st.finished_at}
    click.echo(json.dumps({"Id": c.id, "Name": c.name, "Created": st.created_at, "Image": c.image,
                           "State": state, "RestartCount": st.restart_count, "Labels": st.labels,
                           "Network": c.network, "IPAddress": c.ip, "Ports": [str(p) for p in c.ports]}, indent=2))


@click.command()
@click.option("--since", help="Only events at or after this RFC 3339 time.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events.")
@data_dir_option
def events(since, follow, data_dir):
    """Container events: create, start, kill, stop, oom, die, destroy."""
    with fail_cleanly():
        try:
            for event in engine(data_dir).runtime.events(since=since, follow=follow):
                attributes = ", ".join(f"{k}={v}" for k, v in event.attributes.items())
                click.echo(f"{event.time} container {event.action} {event.id[:12]} (name={event.name}"
                           f"{', ' + attributes if attributes else ''})")
        except KeyboardInterrupt:
            pass


COMMANDS = [run, ps, logs, exec_, stats, stop, start, kill, rm, inspect, events]
