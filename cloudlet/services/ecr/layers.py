"""ECR's own layer API (what the Docker credential helper era used) and authorization."""

import base64
from urllib.parse import urlencode

from cloudlet.agent.content import ContentError, digests
from cloudlet.edge.errors import AWSError
from cloudlet.registry.api import DOWNLOAD_PARAMETER
from cloudlet.store.schema import ecr_blobs

from .errors import as_aws
from .repositories import check_registry, find
from .uris import registry_host

PART_SIZE = 10 << 20  # what ECR tells clients to send per UploadLayerPart


class Layers:
    def get_authorization_token(self, ctx, request):
        password, expires = self.tokens.issue(ctx.account_id, ctx.region)
        token = base64.b64encode(f"AWS:{password}".encode()).decode()
        return {"authorizationData": [{
            "authorizationToken": token, "expiresAt": expires,
            "proxyEndpoint": f"http://{registry_host(ctx)}"}]}

    def batch_check_layer_availability(self, ctx, request):
        check_registry(ctx, request)
        repo = request["repositoryName"]
        layers, failures = [], []
        with ctx.read() as db:
            find(ctx, db, repo)
            for digest in request["layerDigests"]:
                try:
                    digests.validate(digest)
                except ContentError:
                    failures.append({"layerDigest": digest, "failureCode": "InvalidLayerDigest",
                                     "failureReason": "Invalid layer digest"})
                    continue
                row = db.one(ecr_blobs, ecr_blobs.c.repository == repo, ecr_blobs.c.digest == digest)
                if row is None or not self.registry.content.exists(digest):
                    failures.append({"layerDigest": digest, "failureCode": "MissingLayerDigest",
                                     "failureReason": "Could not find layer"})
                    continue
                layers.append({"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": row["size"]})
        return {"layers": layers, "failures": failures}

    def initiate_layer_upload(self, ctx, request):
        check_registry(ctx, request)
        with as_aws():
            upload = self.registry.start_upload(self.scope(ctx), request["repositoryName"])
        return {"uploadId": upload, "partSize": PART_SIZE}

    def upload_layer_part(self, ctx, request):
        check_registry(ctx, request)
        repo, upload = request["repositoryName"], request["uploadId"]
        first, last, data = request["partFirstByte"], request["partLastByte"], request["layerPartBlob"]
        with as_aws():
            ingest = self.registry.upload(self.scope(ctx), repo, upload)
        if first != ingest.offset or last - first + 1 != len(data):
            raise AWSError("InvalidLayerPartException", f"The layer part size is not valid, or the first byte "
                           f"specified is not consecutive to the last byte of a previous layer part upload. "
                           f"lastValidByteReceived: {ingest.offset - 1}")
        with as_aws():
            self.registry.write_upload(self.scope(ctx), upload, ingest, data)
        return {"registryId": ctx.account_id, "repositoryName": repo, "uploadId": upload,
                "lastByteReceived": ingest.offset - 1}

    def complete_layer_upload(self, ctx, request):
        check_registry(ctx, request)
        repo, upload, wanted = request["repositoryName"], request["uploadId"], request["layerDigests"]
        if len(wanted) != 1:
            raise AWSError("InvalidParameterException", "Invalid parameter at 'layerDigests' failed to satisfy "
                           "constraint: 'exactly one digest is expected'")
        scope = self.scope(ctx)
        with as_aws():
            ingest = self.registry.upload(scope, repo, upload)
            if ingest.offset == 0:
                raise AWSError("EmptyUploadException", f"The upload with id '{upload}' does not contain any layer "
                               "parts")
            with ctx.read() as db:
                exists = db.one(ecr_blobs, ecr_blobs.c.repository == repo, ecr_blobs.c.digest == wanted[0])
            committed = self.registry.finish_upload(scope, repo, upload, wanted[0])
        if exists:
            raise AWSError("LayerAlreadyExistsException", f"The layer with digest {committed} already exists in the "
                           f"repository with name '{repo}' in the registry with id '{ctx.account_id}'")
        return {"registryId": ctx.account_id, "repositoryName": repo, "uploadId": upload, "layerDigest": committed}

    def get_download_url_for_layer(self, ctx, request):
        check_registry(ctx, request)
        repo, digest = request["repositoryName"], request["layerDigest"]
        with as_aws():
            self.registry.open_blob(self.scope(ctx), repo, digest)[0].close()
        # Anyone holding the URL may fetch that one blob, as anyone holding AWS's presigned S3
        # URL may: it grants nothing else, and not for long.
        token = self.tokens.issue_download(ctx.account_id, ctx.region, repo, digest)
        query = urlencode({DOWNLOAD_PARAMETER: token})
        return {"downloadUrl": f"{ctx.config.endpoint}/v2/{repo}/blobs/{digest}?{query}", "layerDigest": digest}
