"""Digests as OCI writes them ("sha256:<64 hex>"), and the errors of the content store."""

from __future__ import annotations

import hashlib
import re

ALGORITHM = "sha256"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ContentError(Exception):
    """Base of the content store's errors; messages are meant for people."""


class InvalidDigest(ContentError, ValueError):
    pass


class BlobNotFound(ContentError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "blob not found"


class DigestMismatch(ContentError):
    """The bytes do not hash (or measure) to what the writer or reader promised."""

    def __init__(self, message: str, *, expected: str | None = None, actual: str | None = None):
        super().__init__(message)
        self.expected = expected
        self.actual = actual


def validate(digest: str) -> str:
    """Return digest unchanged if it is a well-formed sha256 digest, else raise InvalidDigest.

    Only sha256 is accepted: it is what every image tool writes, and a single algorithm
    keeps one blob from being stored twice under two names.
    """
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidDigest(f"invalid digest {digest!r}: expected sha256:<64 lowercase hex>")
    return digest


def hex_of(digest: str) -> str:
    return validate(digest).split(":", 1)[1]


def of_bytes(data: bytes) -> str:
    return f"{ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


def hasher():
    return hashlib.sha256()


def of_hasher(h) -> str:
    return f"{ALGORITHM}:{h.hexdigest()}"
