"""Keeping the registry sound: fsck checks every blob and every row against each other,
gc removes what no image references, without taking anything from a push under way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select

from cloudlet.agent.content import ContentError, GCResult, collect
from cloudlet.agent.images import ImageStore, oci
from cloudlet.agent.images.errors import InvalidManifest
from cloudlet.store.schema import ecr_blobs, ecr_images, ecr_repositories, ecr_uploads

from .registry import Registry

GRACE = 3600.0  # seconds a blob may sit in a repository before a manifest refers to it


@dataclass
class FsckReport:
    blobs: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)


def fsck(registry: Registry) -> FsckReport:
    """Every blob decrypts and hashes to its name; every row names a blob that is there,
    whose key the repository can unwrap; every manifest parses."""
    report = FsckReport()
    content = registry.content
    for digest in content.list():
        report.blobs += 1
        try:
            with content.open(digest, verify=True) as f:
                while f.read(1 << 20):
                    pass
        except ContentError as e:
            report.problems.append(f"blob {digest}: {e}")
    with registry.store.begin(write=False) as conn:
        repos = {(r.account_id, r.region, r.name): r._mapping for r in conn.execute(select(ecr_repositories))}
        blobs = list(conn.execute(select(ecr_blobs)))
        images = list(conn.execute(select(ecr_images)))
    for row in blobs:
        report.rows += 1
        where = f"{row.repository} ({row.account_id}/{row.region}) blob {row.digest}"
        if not content.exists(row.digest):
            report.problems.append(f"{where}: missing from the content store")
            continue
        if row.wrapped_key:
            try:
                with registry.store.scoped(row.account_id, row.region, write=False) as db:
                    key = registry.keys.repository_key(db, dict(repos[(row.account_id, row.region, row.repository)]))
                with content.open(row.digest, data_key=registry.keys.unwrap_blob(key, row.wrapped_key)) as f:
                    f.read(1)
            except (ContentError, KeyError) as e:
                report.problems.append(f"{where}: its repository cannot read it ({e or 'no repository'})")
    for row in images:
        report.rows += 1
        try:
            oci.parse(content.read(row.digest), row.media_type)
        except (ContentError, InvalidManifest) as e:
            report.problems.append(f"{row.repository} ({row.account_id}/{row.region}) manifest {row.digest}: {e}")
    return report


def referenced(registry: Registry, repo_images: list) -> set[str]:
    """The blobs and manifests that a repository's images reach."""
    out: set[str] = set()
    todo = [row.digest for row in repo_images]
    while todo:
        digest = todo.pop()
        if digest in out:
            continue
        out.add(digest)
        try:
            todo.extend(oci.parse(registry.content.read(digest)).children())
        except (ContentError, InvalidManifest):
            continue  # a config or a layer: nothing below it
    return out


@dataclass
class GCReport:
    unlinked: list[str] = field(default_factory=list)
    uploads: int = 0
    content: GCResult | None = None


def gc(registry: Registry, engine_images: ImageStore, *, grace: float = GRACE) -> GCReport:
    """Unlink from each repository the blobs none of its images uses (older than the grace
    period), drop uploads abandoned for a day, then collect the content store: the engine's
    tags and the registry's holder are its roots, so neither takes the other's blobs."""
    report = GCReport()
    now = datetime.now(timezone.utc)
    cutoff = (now - timedelta(seconds=grace)).isoformat()
    with registry.store.begin() as conn:
        by_repo: dict[tuple, list] = {}
        for image in conn.execute(select(ecr_images)):
            by_repo.setdefault((image.account_id, image.region, image.repository), []).append(image)
        reached: dict[tuple, set[str]] = {}
        for row in list(conn.execute(select(ecr_blobs).where(ecr_blobs.c.linked_at < cutoff))):
            repo = (row.account_id, row.region, row.repository)
            if repo not in reached:
                reached[repo] = referenced(registry, by_repo.get(repo, []))
            if row.digest not in reached[repo]:
                conn.execute(delete(ecr_blobs).where(
                    ecr_blobs.c.account_id == row.account_id, ecr_blobs.c.region == row.region,
                    ecr_blobs.c.repository == row.repository, ecr_blobs.c.digest == row.digest))
                report.unlinked.append(f"{row.repository}@{row.digest}")
        stale = (now - timedelta(days=1)).isoformat()
        report.uploads = conn.execute(delete(ecr_uploads).where(ecr_uploads.c.created_at < stale)).rowcount
    registry.sync_holder()
    report.content = collect(registry.content, lambda: engine_images.tags().values(), engine_images.references,
                             min_age=grace)
    return report
