"""`cloudlet compare`: the same image as an ECS task and as an EC2 instance on this host,
measured side by side, through the running cloudlet's APIs; a table here, and compare.json,
SVG plots and index.html in --out."""

from pathlib import Path

import click

from cloudlet.cli import aws


def run(opts, out: Path) -> None:
    from rich.console import Console

    from cloudlet.cli.engine_opts import engine as open_engine
    from cloudlet.compare import report
    from cloudlet.compare.driver import compare
    from cloudlet.config import default_data_dir

    opts.data_dir = Path(opts.data_dir) if opts.data_dir else default_data_dir()
    engine = open_engine(opts.data_dir)
    clients = {name: aws.client(name, opts.profile, opts.region, opts.endpoint_url) for name in ("ec2", "ecs", "logs", "sts")}

    def ami_bytes(ami: str):
        from cloudlet.compare.disks import ami_disk_bytes

        return ami_disk_bytes(opts.data_dir, clients["ec2"], ami)

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        figures = compare(opts, ami_bytes, clients, engine)
    except (ClientError, BotoCoreError, RuntimeError) as e:  # what was started is removed by then
        raise click.ClickException(f"compare failed: {e}") from None
    written = report.write(figures, out)
    Console().print(report.table(figures))
    click.echo(f"report: {', '.join(str(p) for p in written)}")
