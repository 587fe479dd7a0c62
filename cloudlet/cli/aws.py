"""A botocore client for the cloudlet commands that call the AWS API like any client would:
the `cloudlet` profile when it exists (`cloudlet up` writes it), else the usual chain."""


def session(profile: str | None):
    """The botocore session of that profile (its credentials, its region)."""
    import botocore.session

    found = botocore.session.get_session()
    if profile or (profile is None and "cloudlet" in found.available_profiles):
        found.set_config_variable("profile", profile or "cloudlet")
    return found


def client(service: str, profile: str | None, region: str | None, endpoint_url: str | None):
    return session(profile).create_client(service, region_name=region, endpoint_url=endpoint_url)


def api_options(f):
    """--profile, --region and --endpoint-url: how a command that calls the API finds it."""
    import click

    f = click.option("--endpoint-url", default=None)(f)
    f = click.option("--region", default=None)(f)
    return click.option("--profile", default=None,
                        help="AWS profile [default: cloudlet if it exists, else the usual chain].")(f)
