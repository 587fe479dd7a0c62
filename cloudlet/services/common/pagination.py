"""NextToken/MaxResults paging over a stably ordered list.

The token is opaque to clients but carries the sort key of the last item returned, so a
page boundary stays right when items are added or removed between calls.
"""

import base64
import json
from collections.abc import Callable

from cloudlet.edge.errors import AWSError


def encode(key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode(token: str):
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        return None


def invalid_token(token: str) -> AWSError:
    return AWSError("InvalidNextToken", f"The token '{token}' is invalid.")


def page(
    items: list,
    key: Callable,
    token: str | None,
    max_results: int | None,
    *,
    default: int = 1000,
    minimum: int = 1,
    maximum: int = 1000,
    bad_token: Callable[[str], AWSError] = invalid_token,
    bad_max: Callable[[int], AWSError] | None = None,
) -> tuple[list, str | None]:
    """Return (items of this page, NextToken or None). `items` need not be sorted."""
    if max_results is None:
        limit = default
    elif minimum <= max_results <= maximum:
        limit = max_results
    else:
        raise (bad_max or _bad_max(minimum, maximum))(max_results)
    ordered = sorted(items, key=key)
    if token:
        after = decode(token)
        if not isinstance(after, list):
            raise bad_token(token)
        try:
            ordered = [item for item in ordered if _as_list(key(item)) > after]
        except TypeError:  # a token made up by hand, whose key is not of the items' kind
            raise bad_token(token) from None
    chunk = ordered[:limit]
    more = len(ordered) > limit
    return chunk, (encode(_as_list(key(chunk[-1]))) if more else None)


def _as_list(key) -> list:
    return list(key) if isinstance(key, tuple) else [key]


def _bad_max(minimum: int, maximum: int):
    def error(value: int) -> AWSError:
        return AWSError(
            "InvalidParameterValue",
            f"Value ( {value} ) for parameter maxResults is invalid. "
            f"Expecting a value between {minimum} and {maximum}.",
        )

    return error
