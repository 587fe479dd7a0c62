"""Logs' Describe* pages: nextToken and a limit member, refused with Logs' code."""

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination


def page(items: list, key, request, member: str = "limit", maximum: int = 50) -> tuple[list, str | None]:
    return pagination.page(items, key, request.get("nextToken"), request.get(member), default=maximum,
                           maximum=maximum, bad_token=lambda t: AWSError("InvalidParameterException",
                                                                         "The specified nextToken is invalid."))
