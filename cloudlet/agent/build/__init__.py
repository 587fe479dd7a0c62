"""Dockerfile builds into the image store."""

from .builder import Builder
from .dockerfile import BuildError

__all__ = ["BuildError", "Builder"]
