"""A tiny client of the distribution API at /v2/, for the requests skopeo and podman
never make (chunks, bad ranges, mounts, cancels, wrong digests)."""

import base64
import hashlib
import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)

    def error(self) -> str:
        return self.json()["errors"][0]["code"]


class V2:
    def __init__(self, endpoint: str, password: str | None, host: str | None = None):
        self.netloc = urlsplit(endpoint).netloc
        self.auth = "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode() if password else None
        self.host = host  # a Host header of a repository URI's, <account>.dkr.ecr.<region>.<...>

    @classmethod
    def login(cls, server, ecr, **kw) -> "V2":
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        return cls(server.endpoint, base64.b64decode(token).decode().partition(":")[2], **kw)

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> Reply:
        conn = http.client.HTTPConnection(self.netloc, timeout=30)
        hdrs = dict(headers or {})
        if self.auth:
            hdrs["Authorization"] = self.auth
        if self.host:
            hdrs["Host"] = self.host
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def push_blob(self, repo: str, data: bytes) -> str:
        d = digest(data)
        reply = self.request("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", data)
        assert reply.status == 201, reply.body
        return d

    def push_image(self, repo: str, tag: str, layers: list[bytes], **extra) -> tuple[str, bytes]:
        """A small image (or artifact, with extra fields): config and layers, then its manifest."""
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
        config = config.encode()
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": self.push_blob(repo, config), "size": len(config)},
                    "layers": [{"mediaType": LAYER, "digest": self.push_blob(repo, ly), "size": len(ly)}
                               for ly in layers], **extra}
        body = json.dumps(manifest).encode()
        reply = self.request("PUT", f"/v2/{repo}/manifests/{tag}", body, {"Content-Type": OCI_MANIFEST})
        assert reply.status == 201, reply.body
        return reply.headers["docker-content-digest"], body
