"""Loading images from an OCI image layout (directory or tar) or a docker-archive tar.

Every blob is verified on the way in (digest and size against its descriptor or
the name it is stored under, each layer's DiffID against the config, which also
proves its compression sound), and tags are set only once every image of the
archive has passed: a bad archive leaves no image behind. Blobs already stored
before the failure are held by nothing and go at the next prune.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from typing import BinaryIO

from cloudlet.agent.content import DigestMismatch, Lease
from cloudlet.agent.content import digests

from . import oci, reference
from .compression import DiffIDHasher
from .errors import ArchiveError, ImageError, InvalidManifest, LayerError
from .sources import Source, open_source
from .store import Image, ImageStore

_CHUNK = 1 << 20
_HEX_NAMED = re.compile(r"^(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json)?$")


@dataclass(frozen=True)
class Loaded:
    image: Image
    reference: str | None  # canonical reference tagged, None if the archive gave no name


def import_archive(store: ImageStore, src: str | os.PathLike | BinaryIO, *, tag: str | None = None) -> list[Loaded]:
    """Load every image of an archive; tag overrides the archive's names (one image only)."""
    with open_source(src) as source, store.content.lease() as lease:
        importer = _Importer(store, source, lease)
        if source.exists("oci-layout") and source.exists("index.json"):
            named = importer.oci_layout()
        elif source.exists("manifest.json"):
            named = importer.docker_archive()
        else:
            raise ArchiveError("not an image archive: neither an OCI layout (oci-layout, index.json) "
                               "nor a docker-archive (manifest.json)")
        if tag is not None:
            if len({digest for _, digest in named}) != 1:
                raise ArchiveError(f"the archive holds {len(named)} images; one tag cannot name them all")
            named = [(tag, named[0][1])]
        # Everything is stored and checked before the first tag is written, the limits on
        # what an image may unpack to included.
        checked = [(str(reference.parse(ref)) if ref else None, store.get(digest)) for ref, digest in named]
        for _, image in checked:
            store.check_limits(image.layers)
        for ref, image in checked:
            if ref:
                store.tag(ref, image.digest)
        return [Loaded(image, ref) for ref, image in checked]


class _Importer:
    def __init__(self, store: ImageStore, source: Source, lease: Lease):
        self.store = store
        self.content = store.content
        self.source = source
        self.lease = lease

    # -- blobs -----------------------------------------------------------------

    def _copy(self, name: str, *, expected: str | None = None, size: int | None = None,
              diff_id: str | None = None) -> tuple[str, int, str | None]:
        """Store a file of the archive; (digest, size, compression found if a layer).

        A layer (diff_id given) is decompressed as it goes by, so a corrupt one or one
        whose DiffID is not the config's is refused before it is committed.
        """
        if expected and self.lease.add(expected):
            if diff_id is None:
                return expected, self.content.size(expected), None
        hasher = DiffIDHasher() if diff_id else None
        with self.source.open(name) as f, _blame(name), self.content.ingest(lease=self.lease) as ingest:
            while chunk := f.read(_CHUNK):
                ingest.write(chunk)
                if hasher:
                    hasher.update(chunk)
            ingest.verify(expected, size)  # a wrong digest is the first thing to report
            compression = None
            if hasher:
                found, compression = hasher.diff_id()
                if found != diff_id:
                    raise LayerError(f"layer DiffID {found} is not the {diff_id} the image config lists")
            digest = ingest.commit(expected_digest=expected, expected_size=size)
            return digest, ingest.offset, compression

    def _document(self, name: str, expected: str | None = None, size: int | None = None) -> bytes:
        data = self.source.read_document(name)
        with _blame(name):
            self.content.write(data, expected_digest=expected, expected_size=size, lease=self.lease)
        return data

    # -- OCI image layout ----------------------------------------------------------

    def oci_layout(self) -> list[tuple[str | None, str]]:
        layout = _json(self.source.read_document("oci-layout"), "oci-layout")
        if not isinstance(layout, dict) or "imageLayoutVersion" not in layout:
            raise ArchiveError("oci-layout has no imageLayoutVersion")
        try:
            index = oci.parse(self.source.read_document("index.json"), oci.OCI_INDEX)
        except InvalidManifest as e:
            raise ArchiveError(f"index.json: {e}") from None
        named = []
        for desc in index.manifests:
            if desc.media_type not in oci.MANIFEST_TYPES + oci.INDEX_TYPES:
                continue
            self._oci_node(desc, required=True)
            named.append((_oci_name(desc), desc.digest))
        if not named:
            raise ArchiveError("index.json lists no image")
        return named

    def _oci_node(self, desc: oci.Descriptor, *, required: bool) -> bool:
        """Import a manifest or index and what it refers to; False if absent and not required
        (other platforms' manifests, often left out of single-platform archives)."""
        name = f"blobs/sha256/{digests.hex_of(desc.digest)}"
        if not self.source.exists(name):
            if required:
                raise ArchiveError(f"{name} ({desc.media_type}) is missing from the archive")
            return False
        try:
            doc = oci.parse(self._document(name, desc.digest, desc.size), desc.media_type)
        except InvalidManifest as e:
            raise ArchiveError(f"{name}: {e}") from None
        if isinstance(doc, oci.Index):
            for m in doc.manifests:
                if m.media_type in oci.MANIFEST_TYPES + oci.INDEX_TYPES:
                    self._oci_node(m, required=False)
            if required:
                # An index without this host's platform is no image here.
                try:
                    chosen = doc.select(self.store.platform)
                except InvalidManifest as e:
                    raise ArchiveError(f"{name}: {e}") from None
                if not self.content.exists(chosen.digest):
                    raise ArchiveError(f"{name}: the manifest for {self.store.platform} is not in the archive")
            return True
        self._manifest_blobs(doc, name)
        return True

    def _manifest_blobs(self, manifest: oci.Manifest, name: str) -> None:
        cfg = manifest.config
        config_bytes = self._document(f"blobs/sha256/{digests.hex_of(cfg.digest)}", cfg.digest, cfg.size)
        diff_ids: list[str | None] = [None] * len(manifest.layers)
        if manifest.is_image:
            diff_ids = _config(config_bytes, len(manifest.layers), name).diff_ids
        for layer, diff_id in zip(manifest.layers, diff_ids):
            self._copy(f"blobs/sha256/{digests.hex_of(layer.digest)}", expected=layer.digest,
                       size=layer.size, diff_id=diff_id)

    # -- docker-archive ---------------------------------------------------------------

    def docker_archive(self) -> list[tuple[str | None, str]]:
        entries = _json(self.source.read_document("manifest.json"), "manifest.json")
        if not isinstance(entries, list) or not entries:
            raise ArchiveError("manifest.json is not a list of images")
        named = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str) \
                    or not isinstance(entry.get("Layers"), list):
                raise ArchiveError(f"manifest.json entry {i} lacks Config or Layers")
            digest = self._docker_image(entry)
            tags = entry.get("RepoTags") or [None]
            named.extend((t, digest) for t in tags)
        return named

    def _docker_image(self, entry: dict) -> str:
        config_name = entry["Config"]
        config_bytes = self._document(config_name, _named_digest(config_name))
        config = _config(config_bytes, len(entry["Layers"]), "manifest.json")
        layers = []
        for path, diff_id in zip(entry["Layers"], config.diff_ids):
            if not isinstance(path, str):
                raise ArchiveError(f"manifest.json: layer {path!r} is not a path")
            digest, size, compression = self._copy(path, expected=_named_digest(path), diff_id=diff_id)
            layers.append(oci.Descriptor(oci.LAYER_FOR_COMPRESSION[compression], digest, size))
        config_desc = oci.Descriptor(oci.OCI_CONFIG, digests.of_bytes(config_bytes), len(config_bytes))
        # The archive has no manifest; this one is a function of config and layers only,
        # so loading the same archive twice (or on two hosts) gives the same digest.
        return self.content.write(oci.manifest_bytes(config_desc, layers), lease=self.lease)


@contextlib.contextmanager
def _blame(name: str):
    """Errors about a file's content, told with the file's name in the archive."""
    try:
        yield
    except (DigestMismatch, LayerError) as e:
        raise ArchiveError(f"{name} in the archive: {e}") from None


def _json(data: bytes, name: str):
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ArchiveError(f"{name} is not JSON: {e}") from None


def _config(data: bytes, n_layers: int, where: str) -> oci.ImageConfig:
    try:
        config = oci.ImageConfig.parse(data)
    except InvalidManifest as e:
        raise ArchiveError(f"{where}: {e}") from None
    if len(config.diff_ids) != n_layers:
        raise ArchiveError(f"{where}: {n_layers} layers, but the image config lists {len(config.diff_ids)} DiffIDs")
    return config


def _named_digest(path: str) -> str | None:
    """The digest a docker-archive file is named after, when it is: "<hex>.json" configs
    and "blobs/sha256/<hex>" (docker 25+); "<id>/layer.tar" ids are not digests."""
    m = _HEX_NAMED.match(path)
    return f"sha256:{m.group(1)}" if m else None


def _oci_name(desc: oci.Descriptor) -> str | None:
    """The reference an index.json entry is given: containerd's and Docker's full name,
    else OCI's ref.name when it is a full reference rather than a bare tag."""
    full = desc.annotations.get(oci.ANNOTATION_IMAGE_NAME)
    if full:
        return full
    name = desc.annotations.get(oci.ANNOTATION_REF_NAME)
    if name and ("/" in name or ":" in name):
        try:
            reference.parse(name)
            return name
        except ImageError:
            return None
    return None
