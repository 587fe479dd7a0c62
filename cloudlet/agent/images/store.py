"""Images on one host: tags over a content store, and layers unpacked for overlayfs.

    <root>/content/             the content store (unless one is shared in)
    <root>/tags.json            {"<canonical reference>": "<manifest or index digest>"}
    <root>/layers/sha256/<hex>  each layer unpacked once, named by its DiffID, shared
                                by every image that has it
    <root>/limits.json          how much one image may unpack to (limits.py)

A tag names the digest it was given: an index for multi-platform images, in which
case the host's platform is picked whenever the image is used.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from cloudlet.agent.content import BlobNotFound, ContentError, ContentStore, GCResult, Lease, collect
from cloudlet.agent.content import digests

from . import oci, reference
from .errors import ImageError, ImageNotFound, InvalidManifest, InvalidReference
from .layer import LayerInfo, LayerWriter
from .limits import Budget, Limits
from .unpack import measure_layer, new_dir, unpack_into


@dataclass(frozen=True)
class Image:
    digest: str  # what the tag names: an index or a manifest
    manifest_digest: str  # the host platform's manifest
    manifest: oci.Manifest
    config: oci.ImageConfig

    @property
    def id(self) -> str:
        """Docker's image ID: the config's digest, the same whatever the layers' compression."""
        return self.manifest.config.digest

    @property
    def layers(self) -> list[LayerInfo]:
        return [LayerInfo(d.digest, diff_id, d.size, d.media_type)
                for d, diff_id in zip(self.manifest.layers, self.config.diff_ids)]

    @property
    def size(self) -> int:
        return self.manifest.config.size + sum(d.size for d in self.manifest.layers)


@dataclass
class PruneResult:
    content: GCResult
    layers_removed: list[str]


class ImageStore:
    def __init__(self, root: str | os.PathLike, content: ContentStore | None = None,
                 platform: oci.Platform | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.content = content or ContentStore(self.root / "content")
        self.platform = platform or oci.Platform.host()
        self.layers_dir = self.root / "layers" / digests.ALGORITHM
        self.layers_dir.mkdir(parents=True, exist_ok=True)
        self._tags_file = self.root / "tags.json"
        self._lock_file = self.root / "tags.lock"
        self._lock_file.touch(exist_ok=True)

    # -- tags ------------------------------------------------------------------

    @contextlib.contextmanager
    def _tags_locked(self):
        fd = os.open(self._lock_file, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            tags = self.tags()
            before = dict(tags)
            yield tags
            if tags != before:
                tmp = self._tags_file.with_name(f".tags.{secrets.token_hex(4)}")
                tmp.write_text(json.dumps(tags, indent=1, sort_keys=True))
                os.rename(tmp, self._tags_file)
        finally:
            os.close(fd)

    def tags(self) -> dict[str, str]:
        """Every tag, canonical reference -> digest."""
        try:
            return json.loads(self._tags_file.read_text())
        except FileNotFoundError:
            return {}

    def tag(self, ref: str, digest: str) -> str:
        """Point ref at a manifest or index already stored; returns the canonical reference."""
        r = reference.parse(ref)
        if r.digest:
            raise InvalidReference(f"cannot tag {ref!r}: a tag cannot carry a digest")
        self._load(digest)  # refuse to tag what is not a usable image
        with self._tags_locked() as tags:
            tags[str(r)] = digest
        return str(r)

    def untag(self, ref: str) -> list[str]:
        """Remove a tag, or every tag of a digest; returns the references removed.
        Blobs and layers stay until prune()."""
        with self._tags_locked() as tags:
            if reference.is_digest(ref):
                gone = [t for t, d in tags.items() if d == ref]
            else:
                gone = [t for t in [str(reference.parse(ref))] if t in tags]
            for t in gone:
                del tags[t]
        if not gone:
            raise ImageNotFound(f"no image tagged {ref}")
        return gone

    # -- reading images ----------------------------------------------------------

    def get(self, ref: str) -> Image:
        """An image by reference ("busybox", "x:1", "repo@sha256:..."), by manifest or
        index digest, or by image ID (config digest)."""
        if reference.is_digest(ref):
            if self.content.exists(ref):
                with contextlib.suppress(InvalidManifest):
                    return self._load(ref)
            for digest in set(self.tags().values()):
                with contextlib.suppress(ImageError, ContentError):
                    image = self._load(digest)
                    if image.id == ref:
                        return image
            raise ImageNotFound(f"no image with digest or ID {ref}")
        r = reference.parse(ref)
        digest = r.digest or self.tags().get(str(r))
        if digest is None or not self.content.exists(digest):
            raise ImageNotFound(f"image {r.familiar} not found")
        return self._load(digest)

    def list(self) -> list[tuple[reference.Reference, Image]]:
        """Tagged images, sorted by reference; a tag whose blobs are gone is left out."""
        out = []
        for ref, digest in sorted(self.tags().items()):
            with contextlib.suppress(ImageError, ContentError):
                out.append((reference.parse(ref), self._load(digest)))
        return out

    def _read_document(self, digest: str) -> bytes:
        try:
            return self.content.read(digest)
        except BlobNotFound:
            raise ImageNotFound(f"blob {digest} of the image is missing") from None

    def _load(self, digest: str) -> Image:
        doc = oci.parse(self._read_document(digest))
        manifest_digest = digest
        for _ in range(4):  # an index may name an index; not forever
            if isinstance(doc, oci.Manifest):
                break
            manifest_digest = doc.select(self.platform).digest
            doc = oci.parse(self._read_document(manifest_digest))
        if not isinstance(doc, oci.Manifest) or not doc.is_image:
            raise InvalidManifest(f"{digest} is not a container image")
        config = oci.ImageConfig.parse(self._read_document(doc.config.digest))
        if len(config.diff_ids) != len(doc.layers):
            raise InvalidManifest(f"image {digest} has {len(doc.layers)} layers but its config lists "
                                  f"{len(config.diff_ids)} DiffIDs")
        return Image(digest, manifest_digest, doc, config)

    def references(self, digest: str) -> list[str]:
        """The blobs a blob refers to (index -> manifests, manifest -> config and
        layers), nothing for a blob that is not a manifest: the GC's children()."""
        if self.content.size(digest) > oci.MAX_DOCUMENT:
            return []
        with self.content.open(digest) as f:
            if f.read(1) != b"{":
                return []
        with contextlib.suppress(InvalidManifest):
            return oci.parse(self.content.read(digest)).children()
        return []

    # -- making images -----------------------------------------------------------

    def write_layer(self, fill: Callable[[LayerWriter], None], *, lease: Lease | None = None,
                    compression: str | None = "gzip", mtime: int | None = 0,
                    uid: int | None = None, gid: int | None = None) -> LayerInfo:
        """A new layer blob: fill(writer) adds the entries (see LayerWriter)."""
        with self.content.ingest(lease=lease) as ingest:
            writer = LayerWriter(ingest, compression=compression, mtime=mtime, uid=uid, gid=gid)
            fill(writer)
            info = writer.close()
            ingest.commit(expected_digest=info.digest, expected_size=info.size)
        return info

    def commit(self, config: dict, layers: list[LayerInfo], *, tag: str | None = None,
               lease: Lease | None = None, annotations: dict | None = None) -> Image:
        """Store an image made of config (Docker's/OCI's config JSON, rootfs filled in
        here from layers) and layer blobs already in the content store; tag it."""
        doc = dict(config)
        doc.setdefault("architecture", self.platform.architecture)
        doc.setdefault("os", self.platform.os)
        doc["rootfs"] = {"type": "layers", "diff_ids": [ly.diff_id for ly in layers]}
        own_lease = lease is None
        lease = lease or self.content.lease()
        try:
            for ly in layers:
                if not lease.add(ly.digest):
                    raise ImageError(f"layer {ly.digest} is not in the content store")
            config_bytes = oci.dumps(doc)
            config_desc = oci.Descriptor(oci.OCI_CONFIG, self.content.write(config_bytes, lease=lease),
                                         len(config_bytes))
            manifest = oci.manifest_bytes(config_desc, [ly.descriptor() for ly in layers], annotations)
            digest = self.content.write(manifest, lease=lease)
            if tag:
                self.tag(tag, digest)
            return self._load(digest)
        finally:
            if own_lease:
                lease.release()

    # -- layers on disk ------------------------------------------------------------

    def layer_path(self, diff_id: str) -> Path:
        return self.layers_dir / digests.hex_of(diff_id)

    def layer_dirs(self, image: Image) -> list[Path]:
        """The image's layers unpacked (lowest first), unpacking those not yet done;
        what the snapshotter stacks. Each DiffID is checked against the config."""
        try:
            return self.unpacked(image.layers)
        except ImageNotFound:
            raise ImageNotFound(f"a layer of image {image.digest} is missing") from None

    def limits(self) -> Limits:
        return Limits.of(self.root, self.layers_dir)

    def unpacked(self, layers: list[LayerInfo]) -> list[Path]:
        """Directories of these layers, unpacked from their blobs where not yet done, within
        the store's limits (what this call unpacks counts against them), all or nothing: a
        layer refused leaves none of the others it brought."""
        dirs = [self.layer_path(layer.diff_id) for layer in layers]
        todo = self._not_unpacked(layers)
        if todo:
            budget = Budget(self.limits())
            with contextlib.ExitStack() as made:
                for layer in todo:
                    tmp = made.enter_context(new_dir(self.layer_path(layer.diff_id), keep_existing=True))
                    with self._blob(layer) as f:
                        unpack_into(f, tmp, expected_diff_id=layer.diff_id, budget=budget)
        return dirs

    def check_limits(self, layers: list[LayerInfo]) -> None:
        """LayerError if unpacking these layers would pass the store's limits (nothing is written)."""
        budget = Budget(self.limits())
        for layer in self._not_unpacked(layers):
            with self._blob(layer) as f:
                measure_layer(f, budget)

    def _not_unpacked(self, layers: list[LayerInfo]) -> list[LayerInfo]:
        todo: dict[str, LayerInfo] = {}  # an image may have a layer twice (empty ones, often)
        for layer in layers:
            if not self.layer_path(layer.diff_id).is_dir():
                todo.setdefault(layer.diff_id, layer)
        return list(todo.values())

    @contextlib.contextmanager
    def _blob(self, layer: LayerInfo):
        try:
            f = self.content.open(layer.digest, verify=True)
        except BlobNotFound:
            raise ImageNotFound(f"layer {layer.digest} is missing") from None
        with f:
            yield f

    def prune(self, *, keep_layers: Iterable[str | os.PathLike] = (), min_age: float = 0.0) -> PruneResult:
        """Remove blobs no tag reaches and unpacked layers no tagged image uses.

        keep_layers: layer directories still in use (by containers of untagged
        images), which stay. min_age: see content.gc.
        """
        content = collect(self.content, lambda: self.tags().values(), self.references, min_age=min_age)
        wanted = {Path(p).name for p in keep_layers}
        for _, image in self.list():
            wanted.update(digests.hex_of(d) for d in image.config.diff_ids)
        removed = []
        # ctime, not mtime: a layer's directories carry the mtimes of its tar entries.
        cutoff = time.time() - min_age
        for path in self.layers_dir.iterdir():
            if path.name.startswith("."):
                if path.stat().st_ctime < cutoff - 3600:  # an unpack that died long ago
                    shutil.rmtree(path, ignore_errors=True)
                continue
            if path.name not in wanted and path.stat().st_ctime < cutoff:
                shutil.rmtree(path)
                removed.append(f"{digests.ALGORITHM}:{path.name}")
        return PruneResult(content, removed)
