"""Image scanning: scan on push and StartImageScan inventory an image's Debian and Python
packages (later layers and whiteouts win) and match them against the OSV advisories of
tests/fixtures/osv, imported with `cloudlet scan-db import`; the findings, severities and
counts come back as ECR reports them."""

import gzip
import io
import json
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.e2e.registry_http import OCI_CONFIG, OCI_MANIFEST, V2, digest
from tests.e2e.server import Server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "osv"
SITE = "usr/lib/python3/dist-packages"
DPKG_STATUS = """Package: libssl3
Status: install ok installed
Source: openssl
Version: 3.0.9-1

Package: zlib1g
Status: install ok installed
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: apt
Status: install ok installed
Version: 2.6.1

Package: bash
Status: install ok installed
Version: 5.2.15-2+b2

Package: libssl1.1
Status: deinstall ok config-files
Source: openssl
Version: 1.1.1n-0+deb11u5
"""


def layer(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def metadata(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nA package.\n".encode()


def push(v2: V2, repo: str, tag: str, layers: list[bytes]) -> str:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": [digest(gzip.decompress(ly)) for ly in layers]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": v2.push_blob(repo, config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": v2.push_blob(repo, ly), "size": len(ly)} for ly in layers]}
    reply = v2.request("PUT", f"/v2/{repo}/manifests/{tag}", json.dumps(manifest).encode(),
                       {"Content-Type": OCI_MANIFEST})
    assert reply.status == 201, reply.body
    return reply.headers["docker-content-digest"]


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """A server of our own: its advisory database starts empty."""
    srv = Server(tmp_path_factory.mktemp("scan")).start()
    yield srv
    srv.stop()


def scan_db(server, *args: str) -> subprocess.CompletedProcess:
    return server.cloudlet("scan-db", *args)


def scan_result(ecr, repo: str, tag: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        result = ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageTag": tag})
        if result["imageScanStatus"]["status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_scan_on_push_then_with_advisories(own):
    ecr = own.client("ecr")
    ecr.create_repository(repositoryName="scan/app", imageScanningConfiguration={"scanOnPush": True})
    v2 = V2.login(own, ecr)
    base = layer({"etc/os-release": b'ID=debian\nVERSION_ID="12"\n', "var/lib/dpkg/status": DPKG_STATUS.encode(),
                  f"{SITE}/requests-2.28.1.dist-info/METADATA": metadata("requests", "2.28.1"),
                  f"{SITE}/Flask_Login-0.6.2.dist-info/METADATA": metadata("Flask-Login", "0.6.2"),
                  f"{SITE}/gone-1.0.dist-info/METADATA": metadata("gone", "1.0")})
    removal = layer({f"{SITE}/.wh.gone-1.0.dist-info": b""})
    push(v2, "scan/app", "1", [base, removal])

    unavailable = scan_result(ecr, "scan/app", "1")
    assert unavailable["imageScanStatus"]["status"] == "FINDINGS_UNAVAILABLE"
    assert "scan-db import" in unavailable["imageScanStatus"]["description"]

    imported = scan_db(own, "import", str(FIXTURES))
    assert imported.returncode == 0 and "imported 7 advisories" in imported.stdout
    assert ecr.start_image_scan(repositoryName="scan/app", imageId={"imageTag": "1"})["imageScanStatus"] == \
        {"status": "IN_PROGRESS", "description": "The scan is in progress."}
    result = scan_result(ecr, "scan/app", "1")
    assert result["imageScanStatus"]["status"] == "COMPLETE"
    assert str(FIXTURES) in result["imageScanStatus"]["description"]
    found = result["imageScanFindings"]
    assert [(f["name"], f["severity"]) for f in found["findings"]] == [
        ("CVE-0000-0001", "CRITICAL"), ("CLOUDLET-TEST-0102", "MEDIUM"), ("CVE-0000-0101", "MEDIUM"),
        ("CVE-0000-0005", "INFORMATIONAL")]
    assert found["findingSeverityCounts"] == {"CRITICAL": 1, "MEDIUM": 2, "INFORMATIONAL": 1}
    assert found["vulnerabilitySourceUpdatedAt"].isoformat().startswith("2026-11-02T08:30:00")
    attributes = {a["key"]: a["value"] for a in found["findings"][0]["attributes"]}
    assert attributes == {"package_name": "libssl3", "package_version": "3.0.9-1", "CVSS3_SCORE": "9.8",
                          "CVSS3_VECTOR": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}

    detail = ecr.describe_images(repositoryName="scan/app")["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "COMPLETE"
    assert detail["imageScanFindingsSummary"]["findingSeverityCounts"] == found["findingSeverityCounts"]
    paged = ecr.describe_image_scan_findings(repositoryName="scan/app", imageId={"imageTag": "1"}, maxResults=3)
    rest = ecr.describe_image_scan_findings(repositoryName="scan/app", imageId={"imageTag": "1"},
                                            nextToken=paged["nextToken"])
    assert paged["imageScanFindings"]["findings"] + rest["imageScanFindings"]["findings"] == found["findings"]


def test_images_without_a_package_database_are_unsupported(own):
    ecr = own.client("ecr")
    ecr.create_repository(repositoryName="scan/static")
    push(V2.login(own, ecr), "scan/static", "1", [layer({"bin/app": b"\x7fELF"})])
    with pytest.raises(ClientError) as err:
        ecr.describe_image_scan_findings(repositoryName="scan/static", imageId={"imageTag": "1"})
    assert err.value.response["Error"]["Code"] == "ScanNotFoundException"  # no scan on push here
    ecr.start_image_scan(repositoryName="scan/static", imageId={"imageTag": "1"})
    assert scan_result(ecr, "scan/static", "1")["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE"
    with pytest.raises(ClientError) as err:
        ecr.start_image_scan(repositoryName="scan/static", imageId={"imageTag": "nope"})
    assert err.value.response["Error"]["Code"] == "ImageNotFoundException"


def test_bad_advisory_files_are_refused_whole(own, tmp_path):
    (tmp_path / "good.json").write_text(json.dumps({"id": "CLOUDLET-TEST-9", "modified": "2026-01-01T00:00:00Z"}))
    (tmp_path / "bad.json").write_text(json.dumps({"summary": "no id"}))
    before = scan_db(own, "show").stdout
    refused = scan_db(own, "import", str(tmp_path))
    assert refused.returncode == 125 and "not an OSV advisory" in refused.stderr
    assert scan_db(own, "show").stdout == before
