"""OCI image index, manifest and config, with Docker schema-2 accepted as their equals.

Docker's schema-2 manifest and manifest list are the same documents as OCI's image
manifest and index under other media types, so both parse into the same classes.
The bytes are never rewritten: a manifest's digest is its identity (a registry
serves it, a pull by digest checks it), so normalizing means reading both kinds
alike, not converting one into the other.
"""

from __future__ import annotations

import json
import platform as _platform
from dataclasses import dataclass, field

from cloudlet.agent.content import InvalidDigest
from cloudlet.agent.content import digests as _digests

from .errors import InvalidManifest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = OCI_LAYER + "+gzip"
OCI_LAYER_ZSTD = OCI_LAYER + "+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+prettyjws")

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
CONFIG_TYPES = (OCI_CONFIG, DOCKER_CONFIG)
# What layers we write are called; layers read are told apart by their magic bytes
# (Docker archives call plain tars .tar.gzip), so no table maps the other way.
LAYER_FOR_COMPRESSION = {None: OCI_LAYER, "gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
MAX_DOCUMENT = 4 << 20  # manifests and configs are small; anything bigger is not one


def dumps(doc: dict) -> bytes:
    """The one JSON encoding we write, so equal documents get equal digests."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _load(data: bytes, what: str) -> dict:
    if len(data) > MAX_DOCUMENT:
        raise InvalidManifest(f"{what} is {len(data)} bytes, more than a {what} can be")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidManifest(f"{what} is not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise InvalidManifest(f"{what} is not a JSON object")
    return doc


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def host(cls) -> "Platform":
        machine = _platform.machine()
        arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)
        return cls("linux", arch, "v8" if arch == "arm64" else None)

    @classmethod
    def from_dict(cls, d: dict | None) -> "Platform | None":
        if not d:
            return None
        return cls(str(d.get("os", "")), str(d.get("architecture", "")), d.get("variant"))

    def to_dict(self) -> dict:
        d = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            d["variant"] = self.variant
        return d

    def matches(self, other: "Platform") -> bool:
        # A missing variant matches any: most indexes leave arm64's v8 out.
        return (self.os, self.architecture) == (other.os, other.architecture) and \
            (not self.variant or not other.variant or self.variant == other.variant)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict = field(default_factory=dict, compare=False, hash=False)
    platform: Platform | None = None

    @classmethod
    def from_dict(cls, d, what: str) -> "Descriptor":
        if not isinstance(d, dict):
            raise InvalidManifest(f"{what} is not an object")
        try:
            digest = _digests.validate(d.get("digest"))
        except InvalidDigest as e:
            raise InvalidManifest(f"{what}: {e}") from None
        size = d.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidManifest(f"{what}: size must be a non-negative integer, not {size!r}")
        media_type = d.get("mediaType")
        if not isinstance(media_type, str) or not media_type:
            raise InvalidManifest(f"{what}: mediaType missing")
        annotations = d.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise InvalidManifest(f"{what}: annotations must be an object")
        return cls(media_type, digest, size, annotations, Platform.from_dict(d.get("platform")))

    def to_dict(self) -> dict:
        d = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        if self.platform:
            d["platform"] = self.platform.to_dict()
        return d


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_image(self) -> bool:
        """False for artifacts (signatures, attestations) that share the manifest format."""
        return self.config.media_type in CONFIG_TYPES

    def children(self) -> list[str]:
        return [self.config.digest, *(layer.digest for layer in self.layers)]


@dataclass(frozen=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: dict = field(default_factory=dict, compare=False, hash=False)

    def children(self) -> list[str]:
        return [m.digest for m in self.manifests]

    def select(self, want: Platform) -> Descriptor:
        """The manifest for a platform; raises InvalidManifest naming what there is."""
        images = [m for m in self.manifests if m.media_type in MANIFEST_TYPES + INDEX_TYPES]
        for m in images:
            if m.platform is None or m.platform.matches(want):
                return m
        have = ", ".join(str(m.platform) for m in images if m.platform) or "none"
        raise InvalidManifest(f"image has no variant for {want} (it has: {have})")


def parse(data: bytes, media_type: str | None = None) -> Manifest | Index:
    """Parse a manifest or index, Docker's or OCI's. media_type is what the transport
    said (a registry's Content-Type, a descriptor), for documents that omit it."""
    doc = _load(data, "manifest")
    declared = doc.get("mediaType")
    if declared is not None and media_type is not None and declared != media_type:
        # A descriptor and the document it names must agree (OCI image-spec, descriptor).
        raise InvalidManifest(f"manifest says it is {declared} but was given as {media_type}")
    kind = declared or media_type or (OCI_INDEX if "manifests" in doc else OCI_MANIFEST)
    if kind in DOCKER_SCHEMA1 or doc.get("schemaVersion") == 1:
        raise InvalidManifest("Docker schema 1 manifests are not supported; push the image again with a current client")
    if doc.get("schemaVersion") != 2:
        raise InvalidManifest(f"unsupported manifest schemaVersion {doc.get('schemaVersion')!r}")
    annotations = doc.get("annotations") or {}
    if kind in INDEX_TYPES:
        manifests = doc.get("manifests")
        if not isinstance(manifests, list):
            raise InvalidManifest("index has no manifests list")
        return Index(kind, tuple(Descriptor.from_dict(m, f"manifests[{i}]") for i, m in enumerate(manifests)),
                     annotations)
    if kind in MANIFEST_TYPES:
        layers = doc.get("layers")
        if not isinstance(layers, list):
            raise InvalidManifest("manifest has no layers list")
        return Manifest(kind, Descriptor.from_dict(doc.get("config"), "config"),
                        tuple(Descriptor.from_dict(ly, f"layers[{i}]") for i, ly in enumerate(layers)), annotations)
    raise InvalidManifest(f"unsupported manifest media type {kind!r}")


def manifest_bytes(config: Descriptor, layers: list[Descriptor], annotations: dict | None = None) -> bytes:
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.to_dict(),
           "layers": [ly.to_dict() for ly in layers]}
    if annotations:
        doc["annotations"] = annotations
    return dumps(doc)


def index_bytes(manifests: list[Descriptor]) -> bytes:
    return dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [m.to_dict() for m in manifests]})


@dataclass(frozen=True)
class ImageConfig:
    """An image's config blob: the runtime defaults and the layers' DiffIDs."""

    doc: dict = field(compare=False, hash=False)

    @classmethod
    def parse(cls, data: bytes) -> "ImageConfig":
        doc = _load(data, "image config")
        rootfs = doc.get("rootfs")
        if not isinstance(rootfs, dict) or rootfs.get("type") != "layers" or not isinstance(rootfs.get("diff_ids"), list):
            raise InvalidManifest('image config has no rootfs {"type": "layers", "diff_ids": [...]}')
        for d in rootfs["diff_ids"]:
            try:
                _digests.validate(d)
            except InvalidDigest as e:
                raise InvalidManifest(f"image config rootfs.diff_ids: {e}") from None
        if not isinstance(doc.get("config") or {}, dict):
            raise InvalidManifest("image config's config is not an object")
        return cls(doc)

    @property
    def diff_ids(self) -> list[str]:
        return list(self.doc["rootfs"]["diff_ids"])

    @property
    def runtime(self) -> dict:
        """The "config" member: Env, Entrypoint, Cmd, WorkingDir, User, ExposedPorts,
        Volumes, Labels, StopSignal, Healthcheck (Docker's capitalized names)."""
        return dict(self.doc.get("config") or {})
