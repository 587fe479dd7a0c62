"""What the SSM Parameter Store tests share."""

import pytest
from botocore.exceptions import ClientError


def refusal(call, **kw) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a boto3 call that must fail."""
    with pytest.raises(ClientError) as err:
        call(**kw)
    response = err.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def own_client(server, name: str, region: str = "us-east-1"):
    """An SSM client of an account of its own, whose listings only the test's parameters fill;
    its credentials are the client's `credentials` (key, secret)."""
    key, secret = server.new_account(name)
    client = server.client("ssm", region=region, key=key, secret=secret)
    client.credentials = (key, secret)
    return client
