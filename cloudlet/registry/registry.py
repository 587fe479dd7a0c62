"""The registry's core: repositories' blobs, manifests, tags and uploads, in the store
(what each repository holds) and the content store (the bytes, once for everyone)."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, union

from cloudlet.agent.content import ContentError, ContentStore, DigestMismatch, Ingest, digests
from cloudlet.agent.engine import image_store
from cloudlet.agent.images import oci
from cloudlet.agent.images.errors import InvalidManifest
from cloudlet.config import engine_dir
from cloudlet.ids import now
from cloudlet.store import Store
from cloudlet.store.schema import (ecr_blobs, ecr_images, ecr_replications, ecr_repositories, ecr_scans, ecr_tags,
                                   ecr_uploads)

from . import errors, lifecycle, names
from .errors import RegistryError
from .keys import Keys
from .space import unless_full

HOLDER = "registry"  # the content store's holder file that keeps our blobs alive
_DROPPED = "the upload was removed; push again once there is space"
MANIFEST_TYPES = oci.MANIFEST_TYPES + oci.INDEX_TYPES


@dataclass(frozen=True)
class Scope:
    account_id: str
    region: str


@dataclass(frozen=True)
class StoredManifest:
    digest: str
    media_type: str
    body: bytes


def open_registry(store: Store, data_dir: Path) -> "Registry":
    """The registry of a data dir: the engine's content store, the keys beside the state."""
    return Registry(store, image_store(engine_dir(data_dir)).content, Keys(Path(data_dir) / "registry.key"))


class Registry:
    def __init__(self, store: Store, content: ContentStore, keys: Keys):
        self.store = store
        self.content = content
        self.keys = keys
        # Called (scope, repo, digest, new, image) after each manifest pushed (new: not there
        # before; image: a manifest, not an index); whoever serves the registry decides
        # whether it is scanned and where it is replicated (the repository's or registry's settings).
        self.pushed = None
        self._ingests: dict[str, Ingest] = {}  # uploads between requests, so bytes are hashed once
        # Uploads a full disk ended, so that a client retrying one (SDKs retry ECR's
        # LimitExceededException) hears why it is gone; the latest few suffice.
        self._dropped: dict[str, None] = {}
        self._lock = threading.Lock()

    def db(self, scope: Scope, write: bool = False):
        return self.store.scoped(scope.account_id, scope.region, write=write)

    # -- repositories ----------------------------------------------------------------

    @staticmethod
    def repository(db, name: str) -> dict:
        row = db.one(ecr_repositories, ecr_repositories.c.name == name)
        if row is None:
            raise errors.name_unknown(name, db.account_id)
        return row

    def add_repository(self, db, arn: str, name: str, *, mutability: str = "MUTABLE", scan_on_push: bool = False,
                       encryption: str = "AES256", kms_key: str | None = None) -> None:
        """A new repository (ECR's defaults: what replication makes in a destination)."""
        db.insert(ecr_repositories, name=name, arn=arn, created_at=now(), tag_mutability=mutability,
                  scan_on_push=int(scan_on_push), encryption_type=encryption, kms_key=kms_key,
                  data_key=self.keys.new_repository_key(db, kms_key))

    def catalog(self, scope: Scope) -> list[str]:
        with self.db(scope) as db:
            return [r["name"] for r in db.select(ecr_repositories, order_by=ecr_repositories.c.name)]

    def drop_repository(self, db, name: str) -> None:
        """Every row of a repository; the bytes go with the next garbage collection."""
        for table in (ecr_tags, ecr_images, ecr_blobs, ecr_scans, ecr_replications):
            db.delete(table, table.c.repository == name)
        db.delete(ecr_uploads, ecr_uploads.c.repository == name)
        db.delete(ecr_repositories, ecr_repositories.c.name == name)

    # -- blobs -----------------------------------------------------------------------

    def open_blob(self, scope: Scope, repo: str, digest: str) -> tuple[BinaryIO, int]:
        """A blob of the repository to read, opened with the repository's own key, and its size."""
        digest = _digest(digest)
        with self.db(scope) as db:
            repository = self.repository(db, repo)
            row = db.one(ecr_blobs, ecr_blobs.c.repository == repo, ecr_blobs.c.digest == digest)
            if row is None or not self.content.exists(digest):
                raise errors.blob_unknown(digest)
            key = self.keys.unwrap_blob(self.keys.repository_key(db, repository), row["wrapped_key"]) \
                if row["wrapped_key"] else None
        return self.content.open(digest, data_key=key), row["size"]

    def _link(self, db, repo: str, digest: str, size: int) -> None:
        if db.one(ecr_blobs, ecr_blobs.c.repository == repo, ecr_blobs.c.digest == digest) is not None:
            return
        try:
            blob_key = self.content.data_key(digest)
        except ContentError:
            wrapped = ""  # stored before the content store sealed blobs: there is no key to keep
        else:
            wrapped = self.keys.wrap_blob(self.keys.repository_key(db, self.repository(db, repo)), blob_key)
        db.insert(ecr_blobs, repository=repo, digest=digest, size=size, wrapped_key=wrapped, linked_at=now())

    def link_blob(self, scope: Scope, repo: str, digest: str) -> int:
        """Give a repository a blob the content store has (a push of what this host built).
        The holder file is brought up to date by the put_manifest that follows, once for
        all the blobs: meanwhile the engine's own tag keeps them."""
        digest = _digest(digest)
        if not self.content.exists(digest):
            raise errors.blob_unknown(digest)
        size = self.content.size(digest)
        with self.db(scope, write=True) as db:
            self.repository(db, repo)
            self._link(db, repo, digest, size)
        return size

    def mount(self, scope: Scope, repo: str, source: str, digest: str) -> bool:
        """Cross-repository mount within the account: True if the source had the blob."""
        digest = _digest(digest)
        with self.db(scope, write=True) as db:
            self.repository(db, repo)
            row = db.one(ecr_blobs, ecr_blobs.c.repository == source, ecr_blobs.c.digest == digest)
            if row is None or not self.content.exists(digest):
                return False
            self._link(db, repo, digest, row["size"])
        return True

    # -- uploads ---------------------------------------------------------------------

    def start_upload(self, scope: Scope, repo: str) -> str:
        with unless_full("BLOB_UPLOAD_INVALID", "the upload was not started"):
            ingest = self.content.ingest()
            try:
                with self.db(scope, write=True) as db:
                    self.repository(db, repo)
                    # ECR's upload ids are UUIDs; the ingest's is the same 128 bits without dashes.
                    upload_id = str(uuid.UUID(hex=ingest.id))
                    db.insert(ecr_uploads, upload_id=upload_id, repository=repo, created_at=now())
            except BaseException:
                ingest.abort()
                raise
        with self._lock:
            self._ingests[upload_id] = ingest
        return upload_id

    def upload(self, scope: Scope, repo: str, upload_id: str) -> Ingest:
        """The upload's ingest, to write to; one request at a time per upload."""
        with self.db(scope) as db:
            row = db.one(ecr_uploads, ecr_uploads.c.upload_id == upload_id)
        if row is None or row["repository"] != repo:
            raise errors.upload_unknown(upload_id, f"removed, {errors.STORAGE_FULL}" if row is None and upload_id
                                        in self._dropped else None)
        with self._lock:
            ingest = self._ingests.get(upload_id)
        if ingest is None:  # the server restarted meanwhile: continue from the disk
            try:
                ingest = self.content.resume(upload_id.replace("-", ""))
            except ContentError:
                raise errors.upload_unknown(upload_id) from None
            with self._lock:
                self._ingests[upload_id] = ingest
        return ingest

    def write_upload(self, scope: Scope, upload_id: str, ingest: Ingest, data: bytes) -> int:
        """Append to an upload; its offset after. On a full disk the upload ends and its bytes
        go at once: a push that did not fit leaves the disk as it found it."""
        with unless_full("BLOB_UPLOAD_INVALID", _DROPPED, lambda: self._drop(scope, upload_id, ingest)):
            ingest.write(data)
        return ingest.offset

    def finish_upload(self, scope: Scope, repo: str, upload_id: str, digest: str) -> str:
        """Verify and commit; a mismatch removes the upload and everything it wrote."""
        digest = _digest(digest)
        ingest = self.upload(scope, repo, upload_id)
        with unless_full("BLOB_UPLOAD_INVALID", _DROPPED, lambda: self._drop(scope, upload_id, ingest)):
            try:
                committed = ingest.commit(expected_digest=digest)
            except DigestMismatch as e:
                self._forget(scope, upload_id)
                raise errors.digest_invalid(f"provided digest did not match uploaded content ({e.actual})") from None
            with self.db(scope, write=True) as db:
                db.delete(ecr_uploads, ecr_uploads.c.upload_id == upload_id)
                self._link(db, repo, committed, self.content.size(committed))
        with self._lock:
            self._ingests.pop(upload_id, None)
        self.sync_holder()
        return committed

    def cancel_upload(self, scope: Scope, repo: str, upload_id: str) -> None:
        self.upload(scope, repo, upload_id).abort()
        self._forget(scope, upload_id)

    def _forget(self, scope: Scope, upload_id: str) -> None:
        with self._lock:
            self._ingests.pop(upload_id, None)
        with self.db(scope, write=True) as db:
            db.delete(ecr_uploads, ecr_uploads.c.upload_id == upload_id)

    def _drop(self, scope: Scope, upload_id: str, ingest: Ingest) -> None:
        ingest.abort()
        with self._lock:
            self._dropped[upload_id] = None
            while len(self._dropped) > 1000:
                del self._dropped[next(iter(self._dropped))]
        self._forget(scope, upload_id)

    # -- manifests -------------------------------------------------------------------

    def put_manifest(self, scope: Scope, repo: str, reference: str, media_type: str | None, body: bytes) -> str:
        """Store a manifest under a tag or its digest; returns its digest."""
        digest = digests.of_bytes(body)
        by_digest = reference.startswith(digests.ALGORITHM + ":")
        if by_digest and reference != digest:
            raise errors.digest_invalid(f"manifest digest {digest} does not match {reference}")
        if not by_digest:
            names.check_tag(reference)
        media_type, doc, parsed = _parse(body, media_type)
        with unless_full("DENIED", "the manifest was not stored"), self.db(scope, write=True) as db:
            repository = self.repository(db, repo)
            size = self._check_references(db, repo, parsed)
            if not by_digest:
                self._check_tag(db, repository, reference, digest)
            self.content.write(body, expected_digest=digest)
            new = db.one(ecr_images, ecr_images.c.repository == repo, ecr_images.c.digest == digest) is None
            if new:
                subject = doc.get("subject", {}).get("digest") if isinstance(doc.get("subject"), dict) else None
                artifact = doc.get("artifactType") or (
                    parsed.config.media_type if isinstance(parsed, oci.Manifest) else None)
                db.insert(ecr_images, repository=repo, digest=digest, media_type=media_type, size=size,
                          artifact_type=artifact, subject=subject, pushed_at=now())
            if not by_digest:
                self._put_tag(db, repo, reference, digest)
        self.sync_holder()
        if self.pushed:
            self.pushed(scope, repo, digest, new, isinstance(parsed, oci.Manifest))
        return digest

    @staticmethod
    def _check_tag(db, repository: dict, tag: str, digest: str) -> None:
        """An immutable repository's tag stays on its image."""
        repo = repository["name"]
        current = db.one(ecr_tags, ecr_tags.c.repository == repo, ecr_tags.c.tag == tag)
        if current and current["digest"] != digest and repository["tag_mutability"] == "IMMUTABLE":
            raise RegistryError("TAG_INVALID", f"The image tag '{tag}' already exists in the '{repo}' repository "
                                "and cannot be overwritten because the repository is immutable.", 400,
                                ecr="ImageTagAlreadyExistsException")

    @staticmethod
    def _put_tag(db, repo: str, tag: str, digest: str) -> None:
        db.delete(ecr_tags, ecr_tags.c.repository == repo, ecr_tags.c.tag == tag)
        db.insert(ecr_tags, repository=repo, tag=tag, digest=digest)

    def _check_references(self, db, repo: str, parsed) -> int:
        """Every blob (manifests: config and layers) or manifest (indexes) it names must be
        in the repository; returns the image size as ECR counts it."""
        if isinstance(parsed, oci.Index):
            size = 0
            for m in parsed.manifests:
                row = db.one(ecr_images, ecr_images.c.repository == repo, ecr_images.c.digest == m.digest)
                if row is None:
                    raise RegistryError("MANIFEST_BLOB_UNKNOWN", f"manifest {m.digest} is not in the repository",
                                        400, {"digest": m.digest})
                size += row["size"]
            return size
        for d in (parsed.config, *parsed.layers):
            row = db.one(ecr_blobs, ecr_blobs.c.repository == repo, ecr_blobs.c.digest == d.digest)
            if row is None:
                raise RegistryError("MANIFEST_BLOB_UNKNOWN", f"blob {d.digest} is not in the repository", 400,
                                    {"digest": d.digest})
        return sum(d.size for d in parsed.layers)

    def resolve(self, db, repo: str, reference: str) -> str:
        """A tag's or digest's manifest digest in the repository."""
        if reference.startswith(digests.ALGORITHM + ":"):
            row = db.one(ecr_images, ecr_images.c.repository == repo, ecr_images.c.digest == reference)
        else:
            row = db.one(ecr_tags, ecr_tags.c.repository == repo, ecr_tags.c.tag == reference)
        if row is None:
            raise errors.manifest_unknown(reference)
        return row["digest"]

    def get_manifest(self, scope: Scope, repo: str, reference: str, *, pulled: bool = False) -> StoredManifest:
        with self.db(scope, write=pulled) as db:
            self.repository(db, repo)
            digest = self.resolve(db, repo, reference)
            row = db.one(ecr_images, ecr_images.c.repository == repo, ecr_images.c.digest == digest)
            if pulled:
                db.update(ecr_images, ecr_images.c.repository == repo, ecr_images.c.digest == digest,
                          last_pulled_at=now())
        return StoredManifest(digest, row["media_type"], self.content.read(digest))

    def delete_manifest(self, scope: Scope, repo: str, reference: str) -> None:
        """By digest: the image and its tags; by tag: that tag only."""
        with self.db(scope, write=True) as db:
            self.repository(db, repo)
            digest = self.resolve(db, repo, reference)
            if reference == digest:
                self.drop_image(db, repo, digest)
            else:
                db.delete(ecr_tags, ecr_tags.c.repository == repo, ecr_tags.c.tag == reference)
        self.sync_holder()

    def copy_image(self, source: Scope, repo: str, digest: str, dest: Scope, repository_arn: str) -> None:
        """The image (an index: with its manifests) and its tags, from one registry to the
        same repository of another, made there with ECR's defaults if need be (replication);
        the bytes stay where they are, the destination repository's key wraps their keys.
        RegistryError when a tag cannot move there (its repository is immutable)."""
        with self.db(source) as db:
            images = self._closure(db, repo, digest)
            tagged = [t["tag"] for t in db.select(ecr_tags, ecr_tags.c.repository == repo, ecr_tags.c.digest == digest)]
        blobs = {d.digest: d.size for _, parsed in images if isinstance(parsed, oci.Manifest)
                 for d in (parsed.config, *parsed.layers)}
        with self.db(dest, write=True) as db:
            if db.one(ecr_repositories, ecr_repositories.c.name == repo) is None:
                self.add_repository(db, repository_arn, repo)
            repository = self.repository(db, repo)
            for blob, size in blobs.items():
                self._link(db, repo, blob, size)
            for row, _ in images:
                if db.one(ecr_images, ecr_images.c.repository == repo, ecr_images.c.digest == row["digest"]) is None:
                    db.insert(ecr_images, repository=repo, digest=row["digest"], media_type=row["media_type"],
                              artifact_type=row["artifact_type"], subject=row["subject"], size=row["size"],
                              pushed_at=now())
            for tag in tagged:
                self._check_tag(db, repository, tag, digest)
                self._put_tag(db, repo, tag, digest)
        self.sync_holder()

    def _closure(self, db, repo: str, digest: str) -> list[tuple[dict, object]]:
        """The rows and parsed manifests of the image and, for an index, of every manifest
        under it, each once (a tenant's indexes may name one manifest many times, nested)."""
        found: dict[str, tuple[dict, object]] = {}
        todo = [digest]
        while todo:
            current = todo.pop()
            if current in found:
                continue
            row = db.one(ecr_images, ecr_images.c.repository == repo, ecr_images.c.digest == current)
            if row is None:
                raise errors.manifest_unknown(current)
            parsed = _parse(self.content.read(current), row["media_type"])[2]
            found[current] = (row, parsed)
            todo += [m.digest for m in parsed.manifests] if isinstance(parsed, oci.Index) else []
        return list(found.values())

    @staticmethod
    def drop_image(db, repo: str, digest: str) -> None:
        db.delete(ecr_replications, ecr_replications.c.repository == repo, ecr_replications.c.digest == digest)
        db.delete(ecr_scans, ecr_scans.c.repository == repo, ecr_scans.c.digest == digest)
        db.delete(ecr_tags, ecr_tags.c.repository == repo, ecr_tags.c.digest == digest)
        db.delete(ecr_images, ecr_images.c.repository == repo, ecr_images.c.digest == digest)

    def tags(self, scope: Scope, repo: str) -> list[str]:
        with self.db(scope) as db:
            self.repository(db, repo)
            return sorted(r["tag"] for r in db.select(ecr_tags, ecr_tags.c.repository == repo))

    def referrers(self, scope: Scope, repo: str, digest: str, artifact_type: str | None) -> list[dict]:
        """Descriptors of the manifests whose subject is digest (OCI 1.1 referrers API)."""
        digest = _digest(digest)
        with self.db(scope) as db:
            self.repository(db, repo)
            rows = db.select(ecr_images, ecr_images.c.repository == repo, ecr_images.c.subject == digest,
                             order_by=ecr_images.c.digest)
        out = []
        for row in rows:
            if artifact_type and row["artifact_type"] != artifact_type:
                continue
            doc = json.loads(self.content.read(row["digest"]))
            desc = {"mediaType": row["media_type"], "digest": row["digest"], "size": self.content.size(row["digest"])}
            if row["artifact_type"]:
                desc["artifactType"] = row["artifact_type"]
            if doc.get("annotations"):
                desc["annotations"] = doc["annotations"]
            out.append(desc)
        return out

    # -- lifecycle policies -------------------------------------------------------------

    @staticmethod
    def candidates(db, repo: str) -> list[lifecycle.Candidate]:
        tags: dict[str, list[str]] = {}
        for row in db.select(ecr_tags, ecr_tags.c.repository == repo):
            tags.setdefault(row["digest"], []).append(row["tag"])
        return [lifecycle.Candidate(row["digest"], tuple(sorted(tags.get(row["digest"], []))), row["pushed_at"])
                for row in db.select(ecr_images, ecr_images.c.repository == repo)]

    def apply_lifecycle_policies(self) -> list[str]:
        """Expire what every repository's policy says should go; returns repo@digest of each."""
        expired = []
        with self.store.begin(write=False) as conn:
            repos = [(r.account_id, r.region, r.name) for r in conn.execute(
                select(ecr_repositories).where(ecr_repositories.c.lifecycle_policy.is_not(None)))]
        for account_id, region, name in repos:
            with self.db(Scope(account_id, region), write=True) as db:
                row = db.one(ecr_repositories, ecr_repositories.c.name == name)
                if row is None or row["lifecycle_policy"] is None:
                    continue  # deleted meanwhile
                for expiry in lifecycle.evaluate(lifecycle.parse(row["lifecycle_policy"]), self.candidates(db, name)):
                    self.drop_image(db, name, expiry.image.digest)
                    expired.append(f"{name}@{expiry.image.digest}")
                db.update(ecr_repositories, ecr_repositories.c.name == name, lifecycle_evaluated_at=now())
        if expired:
            self.sync_holder()
        return expired

    # -- garbage collection ------------------------------------------------------------

    def sync_holder(self) -> None:
        """Tell the content store which blobs the registry keeps (across all accounts)."""
        with self.store.begin(write=False) as conn:
            query = union(select(ecr_blobs.c.digest), select(ecr_images.c.digest))
            held = [row[0] for row in conn.execute(query)]
        self.content.hold(HOLDER, held)


def _digest(text: str) -> str:
    try:
        return digests.validate(text)
    except ContentError:
        raise errors.digest_invalid(f"invalid digest: {text}") from None


def _parse(body: bytes, media_type: str | None):
    """The manifest's media type (the client's Content-Type when it names one of ours,
    else the document's own), its JSON and its parsed form."""
    if media_type and media_type.split(";")[0].strip() not in MANIFEST_TYPES:
        media_type = None
    try:
        parsed = oci.parse(body, media_type)
        doc = json.loads(body)
    except (InvalidManifest, ValueError) as e:
        raise errors.manifest_invalid(f"manifest invalid: {e}") from None
    return parsed.media_type, doc, parsed
