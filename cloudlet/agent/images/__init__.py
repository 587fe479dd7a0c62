"""OCI images on one host: references and tags, manifests, layers unpacked and created,
archives loaded and saved. Knows nothing of registries' wire protocols or of AWS."""

from .errors import (ArchiveError, ImageError, ImageNotFound, InvalidManifest, InvalidReference,
                     LayerError)
from .exporter import export_archive
from .importer import Loaded, import_archive
from .layer import LayerInfo, LayerWriter
from .limits import Budget, Limits
from .oci import Descriptor, ImageConfig, Index, Manifest, Platform
from .reference import Reference
from .reference import parse as parse_reference
from .store import Image, ImageStore, PruneResult
from .unpack import UnpackResult, apply_layer, flatten, unpack_layer

__all__ = [
    "ArchiveError", "Budget", "Descriptor", "Image", "ImageConfig", "ImageError", "ImageNotFound", "ImageStore",
    "Index", "InvalidManifest", "InvalidReference", "LayerError", "LayerInfo", "LayerWriter", "Limits",
    "Loaded", "Manifest", "Platform", "PruneResult", "Reference", "UnpackResult", "apply_layer", "export_archive",
    "flatten", "import_archive", "parse_reference", "unpack_layer",
]
