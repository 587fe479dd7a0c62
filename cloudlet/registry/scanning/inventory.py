"""What an image has installed: Debian packages (dpkg status), Alpine packages (apk
installed db) and Python distributions (dist-info METADATA), read from its layers in
order so that later layers and whiteouts win, as they do in the running container."""

from __future__ import annotations

import email.parser
import posixpath
import tarfile
from dataclasses import dataclass

from cloudlet.agent.content import ContentStore
from cloudlet.agent.images import oci
from cloudlet.agent.images.compression import DecompressingReader

DPKG_STATUS = "var/lib/dpkg/status"
APK_INSTALLED = "lib/apk/db/installed"
_MAX_FILE = 64 << 20  # package databases are small; a huge file of that name is not one


@dataclass(frozen=True)
class Package:
    ecosystem: str  # "Debian", "Alpine", "PyPI" (OSV's names, without the release)
    name: str
    version: str
    source: str  # the name advisories use: Debian's source package, else the name itself


@dataclass
class Inventory:
    os: str | None  # "Debian:12", "Alpine:v3.19", or None when no OS package db was found
    packages: list[Package]


def _wanted(path: str) -> bool:
    return path in (DPKG_STATUS, APK_INSTALLED, "etc/os-release", "usr/lib/os-release") or (
        path.endswith("/METADATA") and ".dist-info/" in path)


def _files(content: ContentStore, manifest: oci.Manifest) -> dict[str, bytes]:
    """The wanted files as the image's final filesystem has them."""
    files: dict[str, bytes] = {}
    for layer in manifest.layers:
        with content.open(layer.digest) as blob, tarfile.open(fileobj=DecompressingReader(blob), mode="r|") as tar:
            for member in tar:
                name = member.name[2:] if member.name.startswith("./") else member.name
                path = posixpath.normpath(name.lstrip("/"))
                head, base = posixpath.split(path)
                if base == ".wh..wh..opq":
                    files = {p: v for p, v in files.items() if not p.startswith(head + "/")}
                elif base.startswith(".wh."):
                    gone = posixpath.join(head, base[4:])
                    files = {p: v for p, v in files.items() if p != gone and not p.startswith(gone + "/")}
                elif member.isfile() and member.size <= _MAX_FILE and _wanted(path):
                    files[path] = tar.extractfile(member).read()
    return files


def _os_release(files: dict[str, bytes]) -> dict[str, str]:
    text = (files.get("etc/os-release") or files.get("usr/lib/os-release") or b"").decode(errors="replace")
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip().strip('"')
    return out


def _stanzas(text: str):
    for block in text.split("\n\n"):
        fields, last = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and last:
                continue  # continuation lines (descriptions, conffiles): not needed
            key, sep, value = line.partition(":")
            if sep:
                last = key.strip()
                fields[last] = value.strip()
        if fields:
            yield fields


def _dpkg(text: str) -> list[Package]:
    out = []
    for f in _stanzas(text):
        if f.get("Status", "").split()[-1:] != ["installed"] or "Package" not in f:
            continue
        source = f.get("Source", f["Package"]).split(" ")[0]  # "src (version)" when versions differ
        out.append(Package("Debian", f["Package"], f.get("Version", ""), source))
    return out


def _apk(text: str) -> list[Package]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if len(line) > 2 and line[1] == ":")
        if "P" in fields:
            out.append(Package("Alpine", fields["P"], fields.get("V", ""), fields.get("o", fields["P"])))
    return out


def _python(files: dict[str, bytes]) -> list[Package]:
    out = []
    for path, data in sorted(files.items()):
        if path.endswith("/METADATA"):
            meta = email.parser.BytesHeaderParser().parsebytes(data)
            if meta.get("Name") and meta.get("Version"):
                out.append(Package("PyPI", meta["Name"], meta["Version"], meta["Name"]))
    return out


def inventory(content: ContentStore, manifest: oci.Manifest) -> Inventory:
    files = _files(content, manifest)
    release = _os_release(files)
    packages, os_name = [], None
    if DPKG_STATUS in files:
        packages += _dpkg(files[DPKG_STATUS].decode(errors="replace"))
        os_name = f"Debian:{release.get('VERSION_ID', '')}".rstrip(":")
    if APK_INSTALLED in files:
        packages += _apk(files[APK_INSTALLED].decode(errors="replace"))
        os_name = f"Alpine:v{'.'.join(release.get('VERSION_ID', '').split('.')[:2])}"
    return Inventory(os_name, packages + _python(files))
