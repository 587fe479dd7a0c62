"""Keys of encryption at rest, as ECR has them: each repository has a data key of its own,
wrapped by a key-management key (the KMS key the repository names, or the account's
managed key for AES256), which is in turn wrapped by this host's master key, kept in a
file beside the state (mode 0600) and never in the database.

A blob is sealed once in the content store under a key of its own (see
agent/content/sealed.py); each repository that holds it keeps that key wrapped under the
repository's data key, so a blob shared by repositories with different keys is read
correctly through either, and dropping a repository's rows leaves it nothing to read with.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, select

from cloudlet.agent.content import sealed
from cloudlet.store.schema import kms_keys

MANAGED = "aws/ecr"  # the key-management key of repositories encrypted with AES256


class Keys:
    def __init__(self, master_path: Path):
        self.master = sealed.key_file(master_path)

    def _management_key(self, db, key_id: str) -> bytes:
        """The key-management key named key_id in the account and region, made on first use."""
        row = db.conn.execute(select(kms_keys.c.material).where(
            kms_keys.c.account_id == db.account_id, kms_keys.c.region == db.region,
            kms_keys.c.key_id == key_id)).scalar()
        if row is None:
            key = sealed.new_key()
            db.conn.execute(insert(kms_keys).values(account_id=db.account_id, region=db.region, key_id=key_id,
                                                    material=sealed.wrap(self.master, key).hex()))
            return key
        return sealed.unwrap(self.master, bytes.fromhex(row))

    def new_repository_key(self, db, kms_key: str | None) -> str:
        """A repository's data key, wrapped by its key-management key, for its row."""
        return sealed.wrap(self._management_key(db, kms_key or MANAGED), sealed.new_key()).hex()

    def repository_key(self, db, repository: dict) -> bytes:
        return sealed.unwrap(self._management_key(db, repository["kms_key"] or MANAGED),
                             bytes.fromhex(repository["data_key"]))

    @staticmethod
    def wrap_blob(repository_key: bytes, blob_key: bytes) -> str:
        return sealed.wrap(repository_key, blob_key).hex()

    @staticmethod
    def unwrap_blob(repository_key: bytes, wrapped: str) -> bytes:
        return sealed.unwrap(repository_key, bytes.fromhex(wrapped))
