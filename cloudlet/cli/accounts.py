"""`cloudlet accounts ...`: works on the store directly, with or without a running server."""

import click

from cloudlet.config import Config
from cloudlet.store import Store
from cloudlet.store.accounts import create_account, list_credentials


def _store(data_dir) -> Store:
    config = Config(**({"data_dir": data_dir} if data_dir else {}))
    return Store(config.db_path)


def create(name: str, data_dir) -> None:
    try:
        cred = create_account(_store(data_dir), name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"account {cred.account_name}: {cred.account_id}")
    click.echo(f"aws_access_key_id = {cred.access_key_id}")
    click.echo(f"aws_secret_access_key = {cred.secret_access_key}")


def show(data_dir) -> None:
    for cred in list_credentials(_store(data_dir)):
        click.echo(f"{cred.account_id}  {cred.account_name:<20} {cred.user_name:<10} {cred.access_key_id}")
