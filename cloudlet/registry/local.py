"""Push and pull between this host's engine and its registry: no bytes move, since both
use one content store; a push links the image's blobs into a repository and stores its
manifests, a pull unpacks the repository's image and tags it in the engine."""

from __future__ import annotations

from cloudlet.agent.images import ImageStore, oci

from .registry import Registry, Scope


def push(registry: Registry, images: ImageStore, source: str, scope: Scope, repo: str, tag: str) -> str:
    """The pushed manifest's digest; the repository must exist, as on ECR."""
    top = images.get(source).digest
    _push_manifest(registry, images, top, scope, repo)
    media = oci.parse(images.content.read(top)).media_type
    return registry.put_manifest(scope, repo, tag, media, images.content.read(top))


def _push_manifest(registry: Registry, images: ImageStore, digest: str, scope: Scope, repo: str) -> None:
    """What the manifest at digest needs in the repository before it can be stored."""
    parsed = oci.parse(images.content.read(digest))
    if isinstance(parsed, oci.Index):
        for child in parsed.manifests:
            if images.content.exists(child.digest):  # an index may name platforms we never fetched
                _push_manifest(registry, images, child.digest, scope, repo)
                registry.put_manifest(scope, repo, child.digest, child.media_type,
                                      images.content.read(child.digest))
        return
    for blob in parsed.children():
        registry.link_blob(scope, repo, blob)


def pull(registry: Registry, images: ImageStore, scope: Scope, repo: str, tag: str, local_ref: str) -> str:
    """Tag the repository's image in the engine as local_ref; returns its digest. Its layers
    are unpacked first, within the engine's limits: an image that passes them (a tenant's
    layer may be a gigabyte of zeros in a megabyte) is refused, and neither tagged nor
    left half unpacked."""
    stored = registry.get_manifest(scope, repo, tag, pulled=True)
    images.layer_dirs(images.get(stored.digest))
    images.tag(local_ref, stored.digest)
    return stored.digest
