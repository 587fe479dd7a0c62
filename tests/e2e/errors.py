"""What the tests of AWS's refusals share."""

import pytest
from botocore.exceptions import ClientError


def code(call, *args, **kw) -> str:
    """The AWS error code a boto3 call fails with (it must fail)."""
    with pytest.raises(ClientError) as err:
        call(*args, **kw)
    return err.value.response["Error"]["Code"]
