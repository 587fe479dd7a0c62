"""Scans: an image's inventory matched against the advisories, stored per image as
DescribeImageScanFindings reports it. Scans run one at a time on a worker thread, so
that a push returns at once with the scan IN_PROGRESS, as on ECR."""

from __future__ import annotations

import json
import logging
import tarfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from cloudlet.agent.content import ContentError
from cloudlet.agent.images import oci
from cloudlet.agent.images.errors import ImageError
from cloudlet.store.schema import ecr_scans

from . import advisories
from .inventory import inventory

log = logging.getLogger("cloudlet.scan")
UNSUPPORTED = "The operating system and/or package manager are not supported."


class Scanner:
    def __init__(self, registry, background: bool = True):
        self.registry = registry
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="scan") if background else None

    def start(self, scope, repo: str, digest: str) -> None:
        """Mark the image's scan IN_PROGRESS and run it (later, when in the background)."""
        self._record(scope, repo, digest, "IN_PROGRESS", "The scan is in progress.")
        if self._pool:
            self._pool.submit(self._run, scope, repo, digest)
        else:
            self._run(scope, repo, digest)

    def _run(self, scope, repo: str, digest: str) -> None:
        try:
            status, description, found, updated = self._scan(scope, repo, digest)
        except (ContentError, ImageError, OSError, ValueError, tarfile.TarError) as e:  # a layer that is no tar
            log.exception("scanning %s@%s", repo, digest)
            status, description, found, updated = "FAILED", f"The scan failed: {e}", None, None
        self._record(scope, repo, digest, status, description, found, updated)

    def _scan(self, scope, repo: str, digest: str):
        content = self.registry.content
        parsed = oci.parse(self.registry.get_manifest(scope, repo, digest).body)
        if isinstance(parsed, oci.Index):
            parsed = oci.parse(content.read(parsed.select(oci.Platform.host()).digest))
        if not parsed.is_image:
            return "UNSUPPORTED_IMAGE", UNSUPPORTED, None, None
        found = inventory(content, parsed)
        if found.os is None and not found.packages:
            return "UNSUPPORTED_IMAGE", UNSUPPORTED, None, None
        db = advisories.describe(self.registry.store)
        if not db.count:
            return ("FINDINGS_UNAVAILABLE", "No advisory database is imported: run `cloudlet scan-db import "
                    "FILE|DIR` with advisories in OSV format.", None, None)
        hits = advisories.findings(self.registry.store, found.os, found.packages)
        description = (f"The scan was completed successfully: {len(found.packages)} packages ({found.os or 'no OS'}) "
                       f"against {db.count} advisories from {', '.join(db.sources)}, updated {db.updated_at}.")
        return "COMPLETE", description, hits, db.updated_at

    def _record(self, scope, repo, digest, status, description, found=None, updated=None) -> None:
        values = {"status": status, "description": description, "source_updated_at": updated,
                  "findings": json.dumps(found) if found is not None else None,
                  "completed_at": datetime.now(timezone.utc).isoformat() if found is not None else None}
        with self.registry.db(scope, write=True) as db:
            where = (ecr_scans.c.repository == repo, ecr_scans.c.digest == digest)
            if db.one(ecr_scans, *where):
                db.update(ecr_scans, *where, **values)
            else:
                db.insert(ecr_scans, repository=repo, digest=digest, **values)
