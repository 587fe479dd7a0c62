"""SSM Parameter Store's state: String, StringList and SecureString parameters with versions.
SecureString values are sealed (AES-256-GCM) under a key kept in a file beside the state,
so the database alone does not give them away. The SSM API (services/ssm) and ECS secrets
(control/tasks.py) both read through here."""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudlet.agent.content import sealed
from cloudlet.store.schema import ssm_parameters as table

TYPES = ("String", "StringList", "SecureString")
_NAME = re.compile(r"^/?[a-zA-Z0-9_.\-]+(/[a-zA-Z0-9_.\-]+)*$")
_ARN = re.compile(r"arn:aws[a-z-]*:ssm:[a-z0-9-]*:[0-9]{12}:parameter(/.+)")


class ParameterError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def normal(name: str) -> str:
    """A name or ARN (arn:aws:ssm:<region>:<account>:parameter/<name>) as the store keys it."""
    if name.startswith("arn:"):
        arn = _ARN.fullmatch(name)
        if arn is None:
            raise ParameterError("ValidationException", f"Invalid parameter ARN: {name[:2048]}. A parameter's ARN is "
                                 "arn:aws:ssm:<region>:<account-id>:parameter/<name>.")
        name = arn.group(1)
        return name if name.count("/") > 1 else name.lstrip("/")
    return name


class Parameters:
    def __init__(self, data_dir: Path):
        self._aead = AESGCM(sealed.key_file(Path(data_dir) / "parameters.key"))

    def _seal(self, value: str) -> str:
        nonce = os.urandom(12)
        return (nonce + self._aead.encrypt(nonce, value.encode(), b"ssm")).hex()

    def _open(self, sealed_hex: str) -> str:
        data = bytes.fromhex(sealed_hex)
        try:
            return self._aead.decrypt(data[:12], data[12:], b"ssm").decode()
        except InvalidTag:
            raise ParameterError("InvalidKeyId", "The parameter's value does not decrypt with this host's key.") \
                from None

    def put(self, db, name: str, value: str, kind: str, *, overwrite: bool, description: str | None,
            key_id: str | None) -> int:
        if not _NAME.match(name) or len(name) > 2048:
            raise ParameterError("ValidationException", f"Parameter name: can't be prefixed with \"aws\" or \"ssm\" "
                                 f"(case-insensitive), and may hold letters, numbers and . - _ / only: {name}")
        if name.lstrip("/").lower().startswith(("aws", "ssm")):
            raise ParameterError("ValidationException", "Parameter name: can't be prefixed with \"aws\" or \"ssm\" "
                                 "(case-insensitive).")
        row = db.one(table, table.c.name == name)
        if row and not overwrite:
            raise ParameterError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, "
                                 "set the overwrite option in the request to true.")
        stored = self._seal(value) if kind == "SecureString" else value
        values = dict(type=kind, value=stored, description=description if description is not None else
                      (row["description"] if row else None), key_id=key_id or ("alias/aws/ssm" if kind ==
                                                                                 "SecureString" else None),
                      modified_at=datetime.now(timezone.utc).isoformat())
        if row:
            db.update(table, table.c.name == name, version=row["version"] + 1, **values)
            return row["version"] + 1
        db.insert(table, name=name, version=1, **values)
        return 1

    def get(self, db, name: str, decrypt: bool) -> dict:
        """The parameter's row, its value decrypted when asked (a SecureString's stays sealed
        otherwise, as SSM returns its ciphertext)."""
        row = db.one(table, table.c.name == normal(name))
        if row is None:
            raise ParameterError("ParameterNotFound", f"Parameter {name} not found.")
        if row["type"] == "SecureString" and decrypt:
            row = {**row, "value": self._open(row["value"])}
        return row
