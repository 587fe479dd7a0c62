"""The registry: ECR repositories holding OCI images, over the engine's content store.

registry.py is the core both surfaces share: the OCI distribution API (api.py, at /v2/)
and the ECR API (cloudlet/services/ecr). Blobs live once in the content store the
container engine uses, so a pushed image runs without a copy and a built one is pushed
without one; the store's holder file keeps them from the engine's garbage collection.
"""

from .errors import RegistryError

__all__ = ["Registry", "RegistryError", "open_registry"]


def __getattr__(name: str):
    # the core (and the engine under it) imported when first asked for, not by whoever
    # reaches a light module of the package (errors, responses)
    if name in ("Registry", "open_registry"):
        from . import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
