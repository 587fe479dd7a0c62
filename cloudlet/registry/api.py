"""The OCI distribution API at /v2/, on the same port as every AWS API.

ECR's way of authenticating: HTTP Basic with user "AWS" and a GetAuthorizationToken
password. The account and region come from the host name when it is a repository URI's
(`<account>.dkr.ecr.<region>.<host>`), from the token otherwise. A GetDownloadUrlForLayer
URL carries a token of its own (`?download=`) that stands for no password: it lets its
holder GET or HEAD the one blob it names, in its repository, until it expires.
"""

from __future__ import annotations

import base64
import json
import re
import time
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from . import errors
from .errors import RegistryError
from .registry import Registry, Scope
from .responses import API_HEADERS, error_response
from .tokens import Tokens

_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.")
_BUFFER = 1 << 20  # upload bytes go to disk (and the hash) in pieces this big
_MAX_MANIFEST = 4 << 20
_ROUTES = [
    ("uploads", re.compile(r"^(?P<name>.+)/blobs/uploads/?$")),
    ("upload", re.compile(r"^(?P<name>.+)/blobs/uploads/(?P<upload>[A-Za-z0-9-]+)$")),
    ("blob", re.compile(r"^(?P<name>.+)/blobs/(?P<digest>[^/]+)$")),
    ("manifest", re.compile(r"^(?P<name>.+)/manifests/(?P<reference>[^/]+)$")),
    ("tags", re.compile(r"^(?P<name>.+)/tags/list$")),
    ("referrers", re.compile(r"^(?P<name>.+)/referrers/(?P<digest>[^/]+)$")),
]
DOWNLOAD_PARAMETER = "download"


class DistributionAPI:
    def __init__(self, registry: Registry, tokens: Tokens, regions):
        self.registry = registry
        self.tokens = tokens
        self.regions = set(regions)

    async def handle(self, request: Request) -> Response:
        try:
            if DOWNLOAD_PARAMETER in request.query_params:
                return await self._download(request)
            scope = self._authenticate(request)
            return await self._route(request, scope)
        except RegistryError as e:
            return error_response(e, request.method)

    async def _download(self, request: Request) -> Response:
        grant = self.tokens.read_download(request.query_params[DOWNLOAD_PARAMETER])
        if grant is None:
            raise RegistryError("UNAUTHORIZED", "the download URL's token is not valid", 401)
        if grant.expires_at <= time.time():
            raise RegistryError("UNAUTHORIZED", "the download URL has expired (GetDownloadUrlForLayer makes "
                                "URLs that last an hour)", 401)
        blob = dict(_ROUTES)["blob"].match(request.path_params["path"])
        if request.method not in ("GET", "HEAD") or blob is None or \
                (blob["name"], blob["digest"]) != (grant.repository, grant.digest):
            raise RegistryError("DENIED", f"the download URL grants GET of blob {grant.digest} of repository "
                                f"{grant.repository}, nothing else", 403)
        return await self.blob_get(request, Scope(grant.account_id, grant.region), grant.repository, grant.digest)

    def _authenticate(self, request: Request) -> Scope:
        kind, _, value = request.headers.get("authorization", "").partition(" ")
        token = user = None
        if "token" in request.query_params:  # GetDownloadUrlForLayer's presigned URLs
            token = self.tokens.verify(request.query_params["token"])
        elif kind.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError:
                user = password = ""
            token = self.tokens.verify(password) if user == "AWS" else None
        if token is None:
            if kind or "token" in request.query_params:  # a password tried, not an anonymous first knock
                request.app.state.logins.failed(request.client.host if request.client else "", "registry", user)
            raise RegistryError("UNAUTHORIZED", "authentication required (aws ecr get-login-password)", 401,
                                headers={"WWW-Authenticate": f'Basic realm="{request.base_url}v2/",'
                                                             'service="ecr.amazonaws.com"'})
        account, region = token.account_id, token.region
        host = _HOST.match(request.headers.get("host", ""))
        if host:
            if host.group(1) != account:
                raise RegistryError("DENIED", f"Your authorization token does not grant access to the registry "
                                    f"of account {host.group(1)}", 403)
            region = host.group(2)
            if region not in self.regions:
                raise RegistryError("NAME_UNKNOWN", f"no registry in region {region}", 404)
        return Scope(account, region)

    async def _route(self, request: Request, scope: Scope) -> Response:
        path = request.path_params["path"]
        if path in ("", "/"):
            return Response(b"{}", 200, API_HEADERS, media_type="application/json")
        if path == "_catalog":
            return await self._paged(request, "repositories", await run_in_threadpool(self.registry.catalog, scope))
        for kind, pattern in _ROUTES:
            m = pattern.match(path)
            if m:
                handler = getattr(self, f"{kind}_{request.method.lower()}", None)
                if handler is None:
                    raise RegistryError("UNSUPPORTED", "The operation is unsupported.", 405)
                return await handler(request, scope, **m.groupdict())
        raise RegistryError("NAME_INVALID", f"no such endpoint: /v2/{path}", 404)

    # -- blobs ------------------------------------------------------------------------

    async def blob_get(self, request, scope, name, digest):
        f, size = await run_in_threadpool(self.registry.open_blob, scope, name, digest)
        headers = {**API_HEADERS, "Docker-Content-Digest": digest, "Accept-Ranges": "bytes"}
        try:
            start, end = _range(request.headers.get("range"), size)
        except RegistryError:
            f.close()
            raise
        status = 200
        if (start, end) != (0, size):
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        headers["Content-Length"] = str(end - start)
        if request.method == "HEAD":
            f.close()
            return Response(status_code=status, headers=headers, media_type="application/octet-stream")
        return StreamingResponse(_read(f, start, end), status, headers, media_type="application/octet-stream")

    blob_head = blob_get

    # -- uploads ----------------------------------------------------------------------

    async def uploads_post(self, request, scope, name):
        params = request.query_params
        if params.get("mount"):
            if params.get("from") and await run_in_threadpool(
                    self.registry.mount, scope, name, params["from"], params["mount"]):
                return _created(name, params["mount"])
        upload = await run_in_threadpool(self.registry.start_upload, scope, name)
        if params.get("digest"):  # monolithic: the whole blob in this one request
            await self._receive(request, scope, name, upload)
            digest = await run_in_threadpool(self.registry.finish_upload, scope, name, upload, params["digest"])
            return _created(name, digest)
        return _accepted(name, upload, 0)

    async def upload_get(self, request, scope, name, upload):
        ingest = await run_in_threadpool(self.registry.upload, scope, name, upload)
        return _accepted(name, upload, ingest.offset, status=204)

    async def upload_patch(self, request, scope, name, upload):
        offset = await self._receive(request, scope, name, upload, request.headers.get("content-range"))
        return _accepted(name, upload, offset)

    async def upload_put(self, request, scope, name, upload):
        digest = request.query_params.get("digest")
        if not digest:
            raise errors.digest_invalid("digest parameter missing")
        await self._receive(request, scope, name, upload, request.headers.get("content-range"))
        committed = await run_in_threadpool(self.registry.finish_upload, scope, name, upload, digest)
        return _created(name, committed)

    async def upload_delete(self, request, scope, name, upload):
        await run_in_threadpool(self.registry.cancel_upload, scope, name, upload)
        return Response(status_code=204, headers=API_HEADERS)

    async def _receive(self, request, scope, name, upload, content_range: str | None = None) -> int:
        ingest = await run_in_threadpool(self.registry.upload, scope, name, upload)
        if content_range:
            start = content_range.removeprefix("bytes=").split("-")[0]
            if not start.isdigit() or int(start) != ingest.offset:
                raise RegistryError("BLOB_UPLOAD_INVALID", f"range {content_range} does not start at the "
                                    f"upload's offset {ingest.offset}", 416,
                                    headers={"Range": f"0-{max(ingest.offset - 1, 0)}"})
        pending = bytearray()
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= _BUFFER:
                await run_in_threadpool(self.registry.write_upload, scope, upload, ingest, bytes(pending))
                pending.clear()
        if pending:
            await run_in_threadpool(self.registry.write_upload, scope, upload, ingest, bytes(pending))
        return ingest.offset

    # -- manifests --------------------------------------------------------------------

    async def manifest_get(self, request, scope, name, reference):
        stored = await run_in_threadpool(self.registry.get_manifest, scope, name, reference,
                                         pulled=request.method == "GET")
        headers = {**API_HEADERS, "Docker-Content-Digest": stored.digest}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(stored.body))
            return Response(b"", 200, headers, media_type=stored.media_type)
        return Response(stored.body, 200, headers, media_type=stored.media_type)

    manifest_head = manifest_get

    async def manifest_put(self, request, scope, name, reference):
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_MANIFEST:
                raise RegistryError("SIZE_INVALID", "manifest larger than 4 MiB", 413)
        digest = await run_in_threadpool(self.registry.put_manifest, scope, name, reference,
                                         request.headers.get("content-type"), body)
        headers = {**API_HEADERS, "Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
        subject = json.loads(body).get("subject")
        if isinstance(subject, dict) and subject.get("digest"):
            headers["OCI-Subject"] = subject["digest"]
        return Response(status_code=201, headers=headers)

    async def manifest_delete(self, request, scope, name, reference):
        await run_in_threadpool(self.registry.delete_manifest, scope, name, reference)
        return Response(status_code=202, headers=API_HEADERS)

    # -- listings -----------------------------------------------------------------------

    async def tags_get(self, request, scope, name):
        return await self._paged(request, "tags", await run_in_threadpool(self.registry.tags, scope, name),
                                 name=name)

    async def referrers_get(self, request, scope, name, digest):
        wanted = request.query_params.get("artifactType")
        found = await run_in_threadpool(self.registry.referrers, scope, name, digest, wanted)
        headers = {**API_HEADERS, **({"OCI-Filters-Applied": "artifactType"} if wanted else {})}
        body = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": found}
        return Response(json.dumps(body).encode(), 200, headers, media_type="application/vnd.oci.image.index.v1+json")

    async def _paged(self, request, key: str, items: list[str], name: str | None = None) -> Response:
        """n and last, as the distribution spec pages catalogs and tag lists."""
        params = request.query_params
        n = params.get("n")
        if n is not None and (not n.isdigit() or not 0 < int(n) <= 1000):
            raise RegistryError("PAGINATION_NUMBER_INVALID", f"invalid number of results requested: {n}", 400)
        last = params.get("last")
        items = [i for i in items if last is None or i > last]
        headers = dict(API_HEADERS)
        if n is not None and len(items) > int(n):
            items = items[: int(n)]
            where = f"/v2/{name}/tags/list" if name else "/v2/_catalog"
            headers["Link"] = f'<{where}?{urlencode({"last": items[-1], "n": n})}>; rel="next"'
        body = {"name": name, key: items} if name else {key: items}
        return Response(json.dumps(body).encode(), 200, headers, media_type="application/json")


def _range(header: str | None, size: int) -> tuple[int, int]:
    """[start, end) of a single-range "bytes=a-b", "bytes=a-" or "bytes=-n" header."""
    if not header:
        return 0, size
    m = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not m or m.groups() == ("", ""):
        raise RegistryError("RANGE_INVALID", f"unsupported range {header!r}", 416,
                            headers={"Content-Range": f"bytes */{size}"})
    first, last = m.groups()
    if first == "":
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), min(size, int(last) + 1) if last else size
    if start >= size or start >= end:
        raise RegistryError("RANGE_INVALID", f"range {header!r} is outside the blob's {size} bytes", 416,
                            headers={"Content-Range": f"bytes */{size}"})
    return start, end


def _read(f, start: int, end: int):
    """The blob's bytes from start to end, in pieces (Starlette runs this in a thread)."""
    with f:
        f.seek(start)
        left = end - start
        while left > 0:
            piece = f.read(min(_BUFFER, left))
            if not piece:
                return
            left -= len(piece)
            yield piece


def _created(name: str, digest: str) -> Response:
    return Response(status_code=201, headers={**API_HEADERS, "Location": f"/v2/{name}/blobs/{digest}",
                                              "Docker-Content-Digest": digest})


def _accepted(name: str, upload: str, offset: int, status: int = 202) -> Response:
    return Response(status_code=status, headers={
        **API_HEADERS, "Location": f"/v2/{name}/blobs/uploads/{upload}", "Docker-Upload-UUID": upload,
        "Range": f"0-{max(offset - 1, 0)}", "Content-Length": "0"})
