"""Content-addressed blobs (sha256), shared by the image store and the registry."""

from .digests import BlobNotFound, ContentError, DigestMismatch, InvalidDigest
from .gc import GCResult, collect
from .store import BlobInfo, ContentStore, Ingest, Lease

__all__ = [
    "BlobInfo", "BlobNotFound", "ContentError", "ContentStore", "DigestMismatch", "GCResult",
    "Ingest", "InvalidDigest", "Lease", "collect",
]
