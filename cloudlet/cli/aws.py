"""A botocore client for the cloudlet commands that call the AWS API like any client would:
the `cloudlet` profile when it exists (`cloudlet up` writes it), else the usual chain."""


def client(service: str, profile: str | None, region: str | None, endpoint_url: str | None):
    import botocore.session

    session = botocore.session.get_session()
    if profile or (profile is None and "cloudlet" in session.available_profiles):
        session.set_config_variable("profile", profile or "cloudlet")
    return session.create_client(service, region_name=region, endpoint_url=endpoint_url)
