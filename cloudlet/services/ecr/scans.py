"""ECR image scanning: StartImageScan and DescribeImageScanFindings over the scanner's
stored results."""

import json
from collections import Counter

from cloudlet.agent.images import oci
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination
from cloudlet.store.schema import ecr_images, ecr_repositories, ecr_scans

from .errors import as_aws, id_text
from .registry import SCANNING, setting
from .registry_rules import scans_on_push
from .repositories import check_registry, find


def scan_summary(row: dict | None) -> dict:
    """imageScanStatus and imageScanFindingsSummary of DescribeImages for a scan row."""
    if row is None:
        return {}
    out = {"imageScanStatus": {"status": row["status"], "description": row["description"]}}
    if row["findings"] is not None:
        counts = Counter(f["severity"] for f in json.loads(row["findings"]))
        out["imageScanFindingsSummary"] = {"imageScanCompletedAt": row["completed_at"],
                                           "vulnerabilitySourceUpdatedAt": row["source_updated_at"],
                                           "findingSeverityCounts": dict(counts)}
    return out


class Scans:
    def scan_pushed(self, scope, repo: str, digest: str) -> None:
        """The registry's hook for a newly pushed image: scanned if its repository scans on push
        or a rule of the registry's scanning configuration picks the repository."""
        with self.registry.db(scope) as db:
            row = db.one(ecr_repositories, ecr_repositories.c.name == repo)
            config = setting(db, SCANNING)
        if row and (row["scan_on_push"] or scans_on_push(config, repo)):
            self.scanner.start(scope, repo, digest)

    def _image(self, ctx, request) -> tuple[str, str, dict]:
        check_registry(ctx, request)
        repo, image_id = request["repositoryName"], request["imageId"]
        reference = image_id.get("imageDigest") or image_id.get("imageTag")
        if not reference:
            raise AWSError("InvalidParameterException", "Invalid parameter at 'imageId' failed to satisfy "
                           "constraint: 'an image digest or tag is required'")
        with ctx.read() as db:
            find(ctx, db, repo)
            try:
                with as_aws():
                    digest = self.registry.resolve(db, repo, reference)
            except AWSError:
                raise AWSError("ImageNotFoundException", f"The image with imageId {id_text(image_id)} does not "
                               f"exist within the repository with name '{repo}' in the registry with id "
                               f"'{ctx.account_id}'") from None
            row = db.one(ecr_images, ecr_images.c.repository == repo, ecr_images.c.digest == digest)
        return repo, digest, {**image_id, "imageDigest": digest, "mediaType": row["media_type"]}

    def start_image_scan(self, ctx, request):
        repo, digest, image = self._image(ctx, request)
        if image.pop("mediaType") in oci.INDEX_TYPES:
            raise AWSError("UnsupportedImageTypeException", "The image is of a type that cannot be scanned.")
        self.scanner.start(self.scope(ctx), repo, digest)
        return {"registryId": ctx.account_id, "repositoryName": repo, "imageId": image,
                "imageScanStatus": {"status": "IN_PROGRESS", "description": "The scan is in progress."}}

    def describe_image_scan_findings(self, ctx, request):
        repo, digest, image = self._image(ctx, request)
        image.pop("mediaType")
        with ctx.read() as db:
            row = db.one(ecr_scans, ecr_scans.c.repository == repo, ecr_scans.c.digest == digest)
        if row is None:
            raise AWSError("ScanNotFoundException", f"Image scan does not exist for the image with "
                           f"{id_text(request['imageId'])} in the repository with name '{repo}' in the registry "
                           f"with id '{ctx.account_id}'")
        summary = scan_summary(row)
        out = {"registryId": ctx.account_id, "repositoryName": repo, "imageId": image,
               "imageScanStatus": summary["imageScanStatus"]}
        if "imageScanFindingsSummary" in summary:
            findings = json.loads(row["findings"])
            page, token = pagination.page(list(enumerate(findings)), lambda pair: pair[0], request.get("nextToken"),
                                          request.get("maxResults"), default=100, maximum=1000)
            out["imageScanFindings"] = {**summary["imageScanFindingsSummary"], "findings": [f for _, f in page]}
            out["nextToken"] = token
        return out
