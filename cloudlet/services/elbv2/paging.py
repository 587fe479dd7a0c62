"""ELBv2's Marker/PageSize paging (PageSize 1-400, the model checks it), over a stable order."""

from __future__ import annotations

from cloudlet.services.common import pagination
from cloudlet.store import elbv2 as records

from .errors import find, invalid


def page(items: list, key, request: dict, member: str) -> dict:
    """{member: this page's items, NextMarker: where the next page starts (when there is one)}."""
    got, marker = pagination.page(items, key, request.get("Marker"), request.get("PageSize"), default=400,
                                  maximum=400, bad_token=lambda m: invalid(f"The marker '{m}' is not valid"))
    return {member: got, **({"NextMarker": marker} if marker else {})}


def listed(db, kind: str, arns: list[str] | None, parent_kind: str, parent: str | None) -> list[dict]:
    """What a Describe* call names: the objects of one parent, or those listed by ARN (AWS's
    NotFound for any that is not one), never both nor neither."""
    what, whose = kind.replace("-", " "), parent_kind.replace("-", " ")
    if parent and arns:
        raise invalid(f"{what.capitalize()} ARNs and a {whose} ARN cannot be specified at the same time")
    if not parent and not arns:
        raise invalid(f"You must specify either {what} ARNs or a {whose} ARN")
    if parent:
        find(db, parent_kind, parent)
        return records.objects_of(db, kind, parent)
    return [find(db, kind, arn) for arn in dict.fromkeys(arns)]
