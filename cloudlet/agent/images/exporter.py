"""Saving images as an OCI image layout (tar or directory) or a docker-archive tar.

Archives are written reproducibly (sorted members, zero times and owners), so
saving the same images twice gives the same bytes. A file or directory being
written appears under its name only once complete.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from cloudlet.agent.content import digests

from . import oci, reference
from .compression import DecompressingReader
from .errors import ImageError, LayerError
from .store import Image, ImageStore
from .unpack import new_dir

FORMATS = ("oci", "oci-dir", "docker")
_SPOOL = 64 << 20


def export_archive(store: ImageStore, refs: list[str], out: str | os.PathLike | BinaryIO, *,
                   format: str = "oci") -> None:
    """Write the images named by refs (references or digests) to out: a path, or a
    writable binary file for the tar formats. format: "oci" (OCI layout in a tar),
    "oci-dir" (OCI layout in a new directory) or "docker" (docker-archive, as `docker
    save` writes it)."""
    if format not in FORMATS:
        raise ValueError(f"unknown archive format {format!r}; choose one of {', '.join(FORMATS)}")
    if not refs:
        raise ImageError("no image to save")
    images = [(None if reference.is_digest(r) else reference.parse(r), store.get(r)) for r in refs]
    if format == "oci-dir":
        with new_dir(out) as tmp:
            _oci(store, images, _DirWriter(tmp))
        return
    write = _oci if format == "oci" else _docker
    if isinstance(out, (str, os.PathLike)):
        _to_new_file(Path(out), lambda f: _tar(f, lambda w: write(store, images, w)))
    else:
        _tar(out, lambda w: write(store, images, w))


def _to_new_file(path: Path, fill) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as f:
            fill(f)
        os.rename(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class _TarWriter:
    def __init__(self, tf: tarfile.TarFile):
        self._tf = tf
        self._dirs: set[str] = set()

    def add(self, name: str, f: BinaryIO, size: int) -> None:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self._dirs:
                self._dirs.add(d)
                self._tf.addfile(_info(d, tarfile.DIRTYPE, 0o755, 0))
        self._tf.addfile(_info(name, tarfile.REGTYPE, 0o644, size), f)


class _DirWriter:
    def __init__(self, root: Path):
        self._root = root

    def add(self, name: str, f: BinaryIO, size: int) -> None:
        path = self._root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            shutil.copyfileobj(f, out, 1 << 20)


def _info(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.size, ti.mtime = kind, mode, size, 0
    return ti


def _tar(f: BinaryIO, fill) -> None:
    with tarfile.open(fileobj=f, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        fill(_TarWriter(tf))


def _add_bytes(w, name: str, data: bytes) -> None:
    w.add(name, io.BytesIO(data), len(data))


def _add_blob(store: ImageStore, w, digest: str) -> None:
    with store.content.open(digest, verify=True) as f:
        w.add(f"blobs/sha256/{digests.hex_of(digest)}", f, store.content.size(digest))


def _top(store: ImageStore, image: Image) -> tuple[str, set[str]]:
    """What to save for an image and every blob that takes: the tagged index when all
    of it is here, else the host platform's manifest alone (an index that names
    blobs the archive lacks would be a broken layout)."""
    for top in (image.digest, image.manifest_digest):
        blobs, todo = set(), [top]
        while todo:
            d = todo.pop()
            if d in blobs:
                continue
            blobs.add(d)
            if not store.content.exists(d):
                break
            todo.extend(store.references(d))
        else:
            return top, blobs
    raise ImageError(f"blobs of image {image.digest} are missing; pull or build it again")


def _oci(store: ImageStore, images: list, w) -> None:
    entries, blobs = [], set()
    for ref, image in images:
        top, needed = _top(store, image)
        blobs |= needed
        annotations = {}
        if ref is not None:
            annotations[oci.ANNOTATION_IMAGE_NAME] = str(ref)
            if ref.tag:
                annotations[oci.ANNOTATION_REF_NAME] = ref.tag
        media_type = oci.parse(store.content.read(top)).media_type
        entries.append(oci.Descriptor(media_type, top, store.content.size(top), annotations))
    _add_bytes(w, "oci-layout", oci.dumps({"imageLayoutVersion": "1.0.0"}))
    _add_bytes(w, "index.json", oci.index_bytes(entries))
    for digest in sorted(blobs):
        _add_blob(store, w, digest)


def _docker(store: ImageStore, images: list, w) -> None:
    by_id: dict[str, dict] = {}
    for ref, image in images:
        entry = by_id.setdefault(image.id, {
            "Config": f"{digests.hex_of(image.id)}.json",
            "RepoTags": [],
            "Layers": [f"{digests.hex_of(d)}/layer.tar" for d in image.config.diff_ids],
            "image": image,
        })
        if ref is not None and ref.tag and ref.familiar not in entry["RepoTags"]:
            entry["RepoTags"].append(ref.familiar)
    written: set[str] = set()
    for image_id in sorted(by_id):
        image = by_id[image_id].pop("image")
        _add_bytes(w, by_id[image_id]["Config"], store.content.read(image.id))
        for layer, diff_id in zip(image.manifest.layers, image.config.diff_ids):
            if diff_id not in written:
                written.add(diff_id)
                _add_tar_layer(store, w, f"{digests.hex_of(diff_id)}/layer.tar", layer.digest, diff_id)
    _add_bytes(w, "manifest.json", json.dumps(list(by_id.values()), separators=(",", ":")).encode())


def _add_tar_layer(store: ImageStore, w, name: str, digest: str, diff_id: str) -> None:
    """docker-archive layers are plain tars: compressed blobs are undone into a spool
    first, since a tar member's size comes before its bytes."""
    with store.content.open(digest, verify=True) as blob, tempfile.SpooledTemporaryFile(_SPOOL) as spool:
        reader = DecompressingReader(blob)
        shutil.copyfileobj(reader, spool, 1 << 20)
        if reader.diff_id() != diff_id:
            raise LayerError(f"layer {digest} does not unpack to the DiffID {diff_id} its image lists")
        size = spool.tell()
        spool.seek(0)
        w.add(name, spool, size)
