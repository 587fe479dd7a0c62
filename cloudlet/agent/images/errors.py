"""Errors of the image store, for callers to map onto their own (the CLI's, AWS's)."""

from cloudlet.agent.content import ContentError, DigestMismatch


class ImageError(Exception):
    """Anything that kept an image operation from happening, in words a person can act on."""


class InvalidReference(ImageError, ValueError):
    pass


class ImageNotFound(ImageError, LookupError):
    pass


# Where a missing base image comes from on a host that cannot pull from Docker Hub.
WHERE_IMAGES_COME_FROM = "`cloudlet image bootstrap` makes the base images, `cloudlet load` imports"


class InvalidManifest(ImageError):
    """A manifest, index or config that is not JSON, or not shaped as OCI or Docker says."""


class LayerError(ImageError):
    """A layer that cannot be unpacked safely: corrupt compression, a path leaving the
    layer, a DiffID that is not the one the image's config promises."""


class ArchiveError(ImageError):
    """An image archive (OCI layout or docker-archive) that is malformed or unsafe."""


__all__ = ["ArchiveError", "ContentError", "DigestMismatch", "ImageError", "ImageNotFound",
           "InvalidManifest", "InvalidReference", "LayerError", "WHERE_IMAGES_COME_FROM"]
