"""Credentials at rest, sealed (AES-256-GCM) under the host key: a file beside the state,
readable by its owner alone and never in the database, so that a copy of state.db gives
no access key's secret and no signing key away. What it seals: the secret access keys and
the keys the server makes for itself (the `secrets` table)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, select, update

from cloudlet.agent.content import sealed
from cloudlet.store.schema import access_keys, secrets

PREFIX = "sealed1:"  # what sets a sealed value apart from a plaintext one an older cloudlet wrote
KEY_NAME = "host.key"


class SealingError(Exception):
    pass


def access_key_purpose(access_key_id: str) -> str:
    return f"access-key:{access_key_id}"


def secret_purpose(name: str) -> str:
    return f"secret:{name}"


class Sealer:
    def __init__(self, data_dir: Path):
        self._aead = AESGCM(sealed.key_file(Path(data_dir) / KEY_NAME))

    def seal(self, value: str, purpose: str) -> str:
        """purpose binds the value to where it is kept: one cannot be moved to the other's place."""
        nonce = os.urandom(12)
        return PREFIX + (nonce + self._aead.encrypt(nonce, value.encode(), purpose.encode())).hex()

    def open(self, stored: str, purpose: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before values were sealed; seal_plaintext() seals it at start
        data = bytes.fromhex(stored[len(PREFIX):])
        try:
            return self._aead.decrypt(data[:12], data[12:], purpose.encode()).decode()
        except InvalidTag:
            raise SealingError("a stored credential does not open with this host's key "
                               f"({KEY_NAME} beside the state is not the one it was sealed with)") from None

    def seal_plaintext(self, conn) -> None:
        """Seal what an older cloudlet stored in the clear."""
        for row in conn.execute(select(access_keys.c.access_key_id, access_keys.c.secret_access_key)):
            if not row.secret_access_key.startswith(PREFIX):
                conn.execute(update(access_keys).where(access_keys.c.access_key_id == row.access_key_id).values(
                    secret_access_key=self.seal(row.secret_access_key, access_key_purpose(row.access_key_id))))
        for row in conn.execute(select(secrets.c.name, secrets.c.value)):
            if not row.value.startswith(PREFIX):
                conn.execute(update(secrets).where(secrets.c.name == row.name).values(
                    value=self.seal(row.value, secret_purpose(row.name))))


def server_secret(store, name: str, make) -> str:
    """A key the server makes once (make() gives it) and keeps, sealed, in the secrets table."""
    with store.begin() as conn:
        stored = conn.execute(select(secrets.c.value).where(secrets.c.name == name)).scalar()
        if stored is None:
            value = make()
            conn.execute(insert(secrets).values(name=name, value=store.sealer.seal(value, secret_purpose(name))))
            return value
    return store.sealer.open(stored, secret_purpose(name))
