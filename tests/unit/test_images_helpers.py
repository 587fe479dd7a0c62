"""Small images made in-test with tarfile, and archives laid out by hand the way
`docker save` and OCI tools write them (not with the code under test)."""

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import zstandard

from cloudlet.agent.images import Platform


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hexof(digest: str) -> str:
    return digest.split(":", 1)[1]


def f(name, data=b"", mode=0o644, **kw):
    return dict(name=name, type=tarfile.REGTYPE, data=data, mode=mode, **kw)


def d(name, mode=0o755, **kw):
    return dict(name=name, type=tarfile.DIRTYPE, mode=mode, **kw)


def sym(name, target):
    return dict(name=name, type=tarfile.SYMTYPE, linkname=target, mode=0o777)


def hard(name, target):
    return dict(name=name, type=tarfile.LNKTYPE, linkname=target, mode=0o644)


def dev(name, major=1, minor=3):
    return dict(name=name, type=tarfile.CHRTYPE, devmajor=major, devminor=minor, mode=0o666)


def fifo(name):
    return dict(name=name, type=tarfile.FIFOTYPE, mode=0o644)


def tar(*entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            e = dict(e)
            ti = tarfile.TarInfo(e.pop("name"))
            data = e.pop("data", b"")
            xattrs = e.pop("xattrs", {})
            for k, v in e.items():
                setattr(ti, k, v)
            ti.mtime = e.get("mtime", 1_600_000_000)
            ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
            if ti.type == tarfile.REGTYPE:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            else:
                tf.addfile(ti)
    return buf.getvalue()


def compress(data: bytes, kind: str | None) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


LAYER_TYPES = {None: "application/vnd.oci.image.layer.v1.tar",
               "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
               "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}


def config_bytes(diff_ids, **runtime) -> bytes:
    host = Platform.host()
    return json.dumps({"architecture": host.architecture, "os": "linux",
                       "config": {"Cmd": ["/bin/sh"], **runtime},
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()


class Blobs(dict):
    def add(self, data: bytes) -> str:
        self[sha(data)] = data
        return sha(data)


def oci_image(layers: list[bytes], compression="gzip", blobs=None, docker_types=False):
    """(manifest bytes, blobs) of an image made of plain layer tars."""
    blobs = Blobs() if blobs is None else blobs
    cfg = config_bytes([sha(t) for t in layers])
    stored = [compress(t, compression) for t in layers]
    manifest = {
        "schemaVersion": 2,
        "mediaType": ("application/vnd.docker.distribution.manifest.v2+json" if docker_types
                      else "application/vnd.oci.image.manifest.v1+json"),
        "config": {"mediaType": ("application/vnd.docker.container.image.v1+json" if docker_types
                                 else "application/vnd.oci.image.config.v1+json"),
                   "digest": blobs.add(cfg), "size": len(cfg)},
        "layers": [{"mediaType": ("application/vnd.docker.image.rootfs.diff.tar.gzip" if docker_types
                                  else LAYER_TYPES[compression]),
                    "digest": blobs.add(s), "size": len(s)} for s in stored],
    }
    data = json.dumps(manifest, indent=2).encode()
    blobs.add(data)
    return data, blobs


def write_oci_layout(root: Path, top: bytes, blobs: dict, *, name="docker.io/library/busybox:latest",
                     media_type="application/vnd.oci.image.manifest.v1+json", annotations=None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    ann = annotations if annotations is not None else {"io.containerd.image.name": name,
                                                       "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": media_type, "digest": sha(top), "size": len(top), "annotations": ann}]}
    (root / "index.json").write_text(json.dumps(index))
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    for digest, data in blobs.items():
        (root / "blobs" / "sha256" / hexof(digest)).write_bytes(data)
    return root


def tar_dir(root: Path, out: Path, rename: dict | None = None) -> Path:
    """Tar up a directory's contents; rename maps member names to others (for bad archives)."""
    rename = rename or {}
    with tarfile.open(out, "w") as tf:
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root).as_posix()
            ti = tf.gettarinfo(p, arcname=rel)
            ti.name = rename.get(rel, rel)  # set afterwards: tarfile would strip a leading "/"
            with open(p, "rb") if p.is_file() else io.BytesIO() as data:
                tf.addfile(ti, data)
    return out


def docker_archive(out: Path, layers: list[bytes], repo_tags=("busybox:latest",), *, share_link=False,
                   diff_ids=None) -> Path:
    """A docker-archive as `docker save` (before 25) writes it: <id>/layer.tar, <config>.json,
    manifest.json, repositories. With share_link, the last layer is a symlink to the first's."""
    cfg = config_bytes(diff_ids or [sha(t) for t in layers])
    members = {f"{hexof(sha(cfg))}.json": cfg}
    paths = []
    for i, layer in enumerate(layers):
        layer_id = hashlib.sha256(f"v1-id-{i}".encode()).hexdigest()
        paths.append(f"{layer_id}/layer.tar")
        members[f"{layer_id}/VERSION"] = b"1.0"
        members[f"{layer_id}/layer.tar"] = layer
    manifest = [{"Config": f"{hexof(sha(cfg))}.json", "RepoTags": list(repo_tags), "Layers": paths}]
    members["manifest.json"] = json.dumps(manifest).encode()
    members["repositories"] = b"{}"
    with tarfile.open(out, "w") as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            if share_link and name == paths[-1]:
                ti.type, ti.linkname = tarfile.SYMTYPE, "../" + paths[0]
                tf.addfile(ti)
                continue
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return out
