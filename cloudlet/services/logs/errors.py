"""The store's Logs errors (store/logs.py, shared with the awslogs driver) as AWS's answers."""

from contextlib import contextmanager

from cloudlet.edge.errors import AWSError
from cloudlet.store import logs as store_logs


def invalid(message: str) -> AWSError:
    """Logs' answer to a parameter it refuses."""
    return AWSError("InvalidParameterException", message)


@contextmanager
def as_aws():
    try:
        yield
    except store_logs.LogsError as e:
        raise AWSError(e.code, e.message) from None
