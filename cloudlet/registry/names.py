"""What ECR accepts as repository names and tags."""

import re

from .errors import RegistryError

_REPOSITORY = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def valid_repository(name: str) -> bool:
    return 2 <= len(name) <= 256 and _REPOSITORY.fullmatch(name) is not None


def valid_tag(tag: str) -> bool:
    return _TAG.fullmatch(tag) is not None


def check_repository(name: str) -> None:
    if not valid_repository(name):
        raise RegistryError("NAME_INVALID", f"invalid repository name: {name}", 400)


def check_tag(tag: str) -> None:
    if not valid_tag(tag):
        raise RegistryError("TAG_INVALID", f"invalid tag: {tag}", 400)
