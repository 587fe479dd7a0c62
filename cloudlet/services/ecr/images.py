"""ECR images: the manifests a repository holds, listed, described, fetched, put, deleted."""

from cloudlet.agent.content import digests
from cloudlet.edge.errors import AWSError
from cloudlet.registry.registry import StoredManifest
from cloudlet.services.common import pagination
from cloudlet.store.schema import ecr_images, ecr_scans, ecr_tags

from .errors import as_aws, id_text
from .repositories import check_registry, find
from .scans import scan_summary


def _tags_by_digest(db, repo: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in db.select(ecr_tags, ecr_tags.c.repository == repo, order_by=ecr_tags.c.tag):
        out.setdefault(row["digest"], []).append(row["tag"])
    return out


def _keep(tagged: bool, status: str | None) -> bool:
    return status in (None, "ANY") or (status == "TAGGED") == tagged


class Images:
    def _rows(self, ctx, db, request) -> tuple[str, list[dict], dict[str, list[str]]]:
        check_registry(ctx, request)
        repo = request["repositoryName"]
        find(ctx, db, repo)
        rows = db.select(ecr_images, ecr_images.c.repository == repo, order_by=ecr_images.c.digest)
        return repo, rows, _tags_by_digest(db, repo)

    @staticmethod
    def _scans(db, repo: str) -> dict[str, dict]:
        return {row["digest"]: row for row in db.select(ecr_scans, ecr_scans.c.repository == repo)}

    def _match(self, ctx, repo: str, rows: list[dict], tag_map: dict, image_id: dict) -> dict | None:
        """The image an imageId names, or None; both parts given must agree."""
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if not digest and not tag:
            return None
        for row in rows:
            if (not digest or row["digest"] == digest) and (not tag or tag in tag_map.get(row["digest"], [])):
                return row
        return None

    def list_images(self, ctx, request):
        status = (request.get("filter") or {}).get("tagStatus")
        with ctx.read() as db:
            _, rows, tag_map = self._rows(ctx, db, request)
        ids = []
        for row in rows:
            image_tags = tag_map.get(row["digest"], [])
            if _keep(bool(image_tags), status):
                ids += [{"imageDigest": row["digest"], "imageTag": t} for t in image_tags] or \
                       [{"imageDigest": row["digest"]}]
        page, token = pagination.page(ids, lambda i: (i["imageDigest"], i.get("imageTag") or ""),
                                      request.get("nextToken"), request.get("maxResults"), default=100)
        return {"imageIds": page, "nextToken": token}

    def describe_images(self, ctx, request):
        status = (request.get("filter") or {}).get("tagStatus")
        with ctx.read() as db:
            repo, rows, tag_map = self._rows(ctx, db, request)
            scans = self._scans(db, repo)
        if request.get("imageIds"):
            chosen = []
            for image_id in request["imageIds"]:
                row = self._match(ctx, repo, rows, tag_map, image_id)
                if row is None:
                    raise AWSError("ImageNotFoundException", f"The image with imageId {id_text(image_id)} does not "
                                   f"exist within the repository with name '{repo}' in the registry with id "
                                   f"'{ctx.account_id}'")
                if row not in chosen:
                    chosen.append(row)
            rows = chosen
        rows = [r for r in rows if _keep(bool(tag_map.get(r["digest"])), status)]
        page, token = pagination.page(rows, lambda r: r["digest"], request.get("nextToken"),
                                      request.get("maxResults"), default=100)
        return {"imageDetails": [self._detail(ctx, repo, r, tag_map, scans.get(r["digest"])) for r in page],
                "nextToken": token}

    def _detail(self, ctx, repo: str, row: dict, tag_map: dict, scan: dict | None) -> dict:
        return {"registryId": ctx.account_id, "repositoryName": repo, "imageDigest": row["digest"],
                "imageTags": tag_map.get(row["digest"]) or None, "imageSizeInBytes": row["size"],
                "imagePushedAt": row["pushed_at"], "imageManifestMediaType": row["media_type"],
                "artifactMediaType": row["artifact_type"], "lastRecordedPullTime": row["last_pulled_at"],
                "subjectManifestDigest": row["subject"], "imageStatus": "ACTIVE", **scan_summary(scan)}

    def batch_get_image(self, ctx, request):
        check_registry(ctx, request)
        repo = request["repositoryName"]
        accepted = request.get("acceptedMediaTypes")
        images, failures = [], []
        for image_id in request["imageIds"]:
            reference = image_id.get("imageDigest") or image_id.get("imageTag")
            if not reference:
                failures.append(_failure(image_id, "MissingDigestAndTag", "Invalid request: missing digest and tag"))
                continue
            try:
                with as_aws():
                    stored: StoredManifest = self.registry.get_manifest(self.scope(ctx), repo, reference, pulled=True)
            except AWSError as e:
                if e.code == "RepositoryNotFoundException":
                    raise
                failures.append(_failure(image_id, "ImageNotFound", "Requested image not found"))
                continue
            if image_id.get("imageDigest") and image_id.get("imageTag") and \
                    self.registry.get_manifest(self.scope(ctx), repo, image_id["imageTag"]).digest != stored.digest:
                failures.append(_failure(image_id, "ImageTagDoesNotMatchDigest", "Invalid request: image tag does "
                                         "not match digest"))
                continue
            if accepted and stored.media_type not in accepted:
                failures.append(_failure(image_id, "UnsupportedImageType", "Invalid image manifest media type"))
                continue
            images.append({"registryId": ctx.account_id, "repositoryName": repo,
                           "imageId": {"imageDigest": stored.digest, **({"imageTag": image_id["imageTag"]}
                                                                         if image_id.get("imageTag") else {})},
                           "imageManifest": stored.body.decode(), "imageManifestMediaType": stored.media_type})
        return {"images": images, "failures": failures}

    def batch_delete_image(self, ctx, request):
        """By digest: the image with its tags; by tag: the tag, and the image with its last tag."""
        deleted, failures = [], []
        with ctx.write() as db:
            repo, rows, tag_map = self._rows(ctx, db, request)
            for image_id in request["imageIds"]:
                row = self._match(ctx, repo, rows, tag_map, image_id)
                if row is None:
                    code = "MissingDigestAndTag" if not (image_id.get("imageDigest") or image_id.get("imageTag")) \
                        else "ImageNotFound"
                    failures.append(_failure(image_id, code, "Requested image not found"))
                    continue
                digest, tag = row["digest"], image_id.get("imageTag")
                remaining = [t for t in tag_map.get(digest, []) if t != tag]
                if tag and not image_id.get("imageDigest") and remaining:
                    db.delete(ecr_tags, ecr_tags.c.repository == repo, ecr_tags.c.tag == tag)
                    tag_map[digest] = remaining
                    deleted.append({"imageDigest": digest, "imageTag": tag})
                    continue
                deleted += [{"imageDigest": digest, "imageTag": t} for t in tag_map.pop(digest, [])] or \
                           [{"imageDigest": digest}]
                self.registry.drop_image(db, repo, digest)
                rows.remove(row)
        self.registry.sync_holder()
        return {"imageIds": deleted, "failures": failures}

    def put_image(self, ctx, request):
        check_registry(ctx, request)
        repo, tag, given = request["repositoryName"], request.get("imageTag"), request.get("imageDigest")
        body = request["imageManifest"].encode()
        digest = digests.of_bytes(body)
        if given and given != digest:
            raise AWSError("ImageDigestDoesNotMatchException", f"Invalid parameter at 'imageDigest' failed to satisfy "
                           f"constraint: 'the manifest's digest is {digest}, not {given}'")
        with ctx.read() as db:
            find(ctx, db, repo)
            current = db.one(ecr_tags, ecr_tags.c.repository == repo, ecr_tags.c.tag == tag) if tag else \
                db.one(ecr_images, ecr_images.c.repository == repo, ecr_images.c.digest == digest)
        if current and current["digest"] == digest:
            raise AWSError("ImageAlreadyExistsException", f"Image with digest '{digest}'"
                           f"{f' and tag {tag!r}' if tag else ''} already exists in the repository with name "
                           f"'{repo}' in registry with id '{ctx.account_id}'")
        with as_aws():
            self.registry.put_manifest(self.scope(ctx), repo, tag or digest, request.get("imageManifestMediaType"),
                                       body)
            stored = self.registry.get_manifest(self.scope(ctx), repo, digest)
        return {"image": {"registryId": ctx.account_id, "repositoryName": repo,
                          "imageId": {"imageDigest": digest, **({"imageTag": tag} if tag else {})},
                          "imageManifest": request["imageManifest"], "imageManifestMediaType": stored.media_type}}


def _failure(image_id: dict, code: str, reason: str) -> dict:
    return {"imageId": image_id, "failureCode": code, "failureReason": reason}
