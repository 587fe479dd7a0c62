"""SSM Parameter Store's state: String, StringList and SecureString parameters with their
versions and labels. The SSM API (services/ssm) and ECS secrets (control/sources.py) both
read through here.

A parameter is one row of ssm_parameters, keyed by its name as SSM identifies it: "a" and
"/a" are one parameter, so a single-level name is keyed without its slash ("/a/b" keeps
its). The columns hold the current version (type, version, description, key id, time); the
`value` column holds the whole parameter as JSON: the name as first written and its last
100 versions (what Parameter Store keeps), each with its value, labels, tier, data type and
who wrote it. SecureString values are sealed (AES-256-GCM) under a key kept in a file
beside the state, so the database alone does not give them away. Rows written before
versions were kept hold the bare value and read as their one version.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudlet.agent.content import sealed
from cloudlet.store.schema import ssm_parameters as table

TYPES = ("String", "StringList", "SecureString")
MAX_VERSIONS = 100
MAX_LABELS = 10
LIMITS = {"Standard": (4096, 10_000), "Advanced": (8192, 100_000)}  # value characters, parameters
_DOCUMENT = "cloudlet.parameter/1\n"  # starts a row's value that is the JSON document, not a bare value
_ARN = re.compile(r"arn:aws[a-z-]*:ssm:([a-z0-9-]*):([0-9]{12}|):parameter(/[^:]*)(?::([^:]*))?")
_LABEL = re.compile(r"[a-zA-Z_.\-][a-zA-Z0-9_.\-]{0,99}")


class ParameterError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Ref:
    """A parameter as a request names it: a name or ARN, optionally with ":version" or ":label"."""

    name: str
    selector: str | None = None
    account: str | None = None  # an ARN's: whose parameter, and where
    region: str | None = None


def ref(text: str) -> Ref:
    text = text.strip()  # SSM drops spaces around a name
    if text.startswith("arn:"):
        arn = _ARN.fullmatch(text)
        if arn is None:
            raise ParameterError("ValidationException", f"Invalid parameter ARN: {text[:2048]}. A parameter's ARN is "
                                 "arn:aws:ssm:<region>:<account-id>:parameter/<name>.")
        region, account, path, selector = arn.groups()
        return Ref(path if path.count("/") > 1 else path[1:], selector, account, region)
    name, colon, selector = text.partition(":")
    return Ref(name, selector if colon else None)


def key(name: str) -> str:
    return name[1:] if name.startswith("/") and name.count("/") == 1 else name


def not_found(name: str) -> ParameterError:
    return ParameterError("ParameterNotFound", f"Parameter {name} not found.")


def valid_label(label: str) -> bool:
    """Letters, digits, . - _, at most 100; not starting with a digit, "aws" or "ssm"."""
    return bool(_LABEL.fullmatch(label)) and not label.lower().startswith(("aws", "ssm"))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


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

    # --- rows and documents ---------------------------------------------------------------

    @staticmethod
    def _row(db, name: str) -> dict | None:
        k = key(name)
        row = db.one(table, table.c.name == k)
        if row is None and "/" not in k:  # a row written before "/a" and "a" were one parameter
            row = db.one(table, table.c.name == "/" + k)
        return row

    @staticmethod
    def _document(row: dict) -> dict:
        if row["value"].startswith(_DOCUMENT):
            return json.loads(row["value"][len(_DOCUMENT):])
        return {"name": row["name"], "versions": [{
            "version": row["version"], "type": row["type"], "value": row["value"], "description": row["description"],
            "key_id": row["key_id"], "modified_at": row["modified_at"], "modified_by": None, "tier": "Standard",
            "data_type": "text", "labels": []}]}

    @staticmethod
    def _save(db, row: dict | None, document: dict) -> None:
        current = document["versions"][-1]
        values = dict(type=current["type"], version=current["version"], description=current["description"],
                      key_id=current["key_id"], modified_at=current["modified_at"],
                      value=_DOCUMENT + json.dumps(document, separators=(",", ":")))
        if row is None:
            db.insert(table, name=key(document["name"]), **values)
        else:
            db.update(table, table.c.name == row["name"], **values)

    @staticmethod
    def _flat(document: dict, version: dict) -> dict:
        """A version as callers see it: its fields with the parameter's name and key."""
        return {**version, "name": document["name"], "key": key(document["name"])}

    def reveal(self, version: dict) -> dict:
        """The version with a SecureString's value decrypted (SSM returns the ciphertext unless asked)."""
        if version["type"] != "SecureString":
            return version
        return {**version, "value": self._open(version["value"])}

    def _find(self, db, name: str) -> tuple[dict, dict]:
        row = self._row(db, _own(db, name).name)
        if row is None:
            raise not_found(name)
        return row, self._document(row)

    # --- reads ----------------------------------------------------------------------------

    def get(self, db, name: str, decrypt: bool) -> dict:
        """A parameter's version, by name or ARN with an optional ":version" or ":label" (its
        current version without): its fields, a SecureString's value sealed unless asked to
        decrypt it (SSM then returns ciphertext), and "selector" when one was given."""
        wanted = ref(name)
        _, document = self._find(db, name)
        if wanted.selector is None:
            chosen = document["versions"][-1:]
        elif wanted.selector.isdigit():
            chosen = [v for v in document["versions"] if v["version"] == int(wanted.selector)]
            if not chosen:
                raise ParameterError("ParameterVersionNotFound", f"Systems Manager could not find version "
                                     f"{wanted.selector} of {wanted.name}. Verify the version and try again.")
        else:
            chosen = [v for v in document["versions"] if wanted.selector in v["labels"]]
            if not chosen:
                raise not_found(name)
        version = {**self._flat(document, chosen[0]), "selector": None if wanted.selector is None else
                   ":" + wanted.selector}
        return self.reveal(version) if decrypt else version

    def history(self, db, name: str) -> list[dict]:
        """Every version kept, oldest first, values as stored."""
        _, document = self._find(db, name)
        return [self._flat(document, v) for v in document["versions"]]

    def listing(self, db, *, under: str = "/", every_version: bool = False) -> list[list[dict]]:
        """Each parameter's versions (newest first, values as stored): only its current one
        unless asked for all; only parameters below a path, if given one."""
        base = "/" + under.strip("/") + "/" if under.strip("/") else None
        out = []
        for row in db.select(table, *([table.c.name.startswith(base, autoescape=True)] if base else [])):
            document = self._document(row)
            versions = document["versions"][::-1] if every_version else document["versions"][-1:]
            out.append([self._flat(document, v) for v in versions])
        return out

    # --- writes ---------------------------------------------------------------------------

    def put(self, db, name: str, value: str, *, kind: str | None, overwrite: bool, description: str | None,
            key_id: str | None, tier: str | None, data_type: str | None, by: str,
            accept: Callable[[dict], bool] = lambda version: True) -> tuple[dict, bool]:
        """A new parameter or a new version of one, with Parameter Store's rules: (the version,
        whether it was written). A version `accept` turns down is checked in full but not written
        (Parameter Store validates an aws:ec2:image value after answering)."""
        row = self._row(db, name)
        document = self._document(row) if row else {"name": name, "versions": []}
        last = document["versions"][-1] if row else None
        if last and not overwrite:
            raise ParameterError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, "
                                 "set the overwrite option in the request to true.")
        if last is None and kind is None:
            raise ParameterError("ValidationException", "A parameter type is required when you create a parameter.")
        kind = kind or last["type"]
        data_type = data_type or (last["data_type"] if last else "text")
        if data_type == "aws:ec2:image" and kind != "String":
            raise ParameterError("ValidationException", f"The aws:ec2:image data type is not supported for the "
                                 f"following input type: {kind}")
        if last and "aws:ec2:image" in {data_type, last["data_type"]} and data_type != last["data_type"]:
            raise ParameterError("ValidationException", f"The data type of an existing parameter can't be changed "
                                 f"from {last['data_type']} to {data_type}.")
        chosen = _tier(tier, last["tier"] if last else "Standard", value)
        if last is None and db.count(table) >= LIMITS[chosen][1]:  # all the account's parameters count here
            more = "either delete existing parameters or upgrade to the advanced-parameter tier (charges apply)" \
                if chosen == "Standard" else "delete existing parameters"
            raise ParameterError("ParameterLimitExceeded", f"You have reached the maximum number of "
                                 f"{chosen.lower()} parameters for this AWS account and Region "
                                 f"({LIMITS[chosen][1]}). To add more parameters, {more}.")
        versions = document["versions"]
        if len(versions) >= MAX_VERSIONS:
            if versions[0]["labels"]:
                raise ParameterError("ParameterMaxVersionLimitExceeded", f"You attempted to create a new version of "
                                     f"{name} by calling the PutParameter API with the overwrite flag. Version "
                                     f"{versions[0]['version']}, the oldest version, can't be deleted because it has "
                                     "a label associated with it. Move the label to another version of the "
                                     "parameter, and try again.")
            versions = versions[1:]
        secure = kind == "SecureString"
        version = {"version": last["version"] + 1 if last else 1, "type": kind,
                   "value": self._seal(value) if secure else value,
                   "description": description if description is not None else (last or {}).get("description"),
                   "key_id": (key_id or (last["key_id"] if last and last["type"] == kind else None) or
                              "alias/aws/ssm") if secure else None,
                   "modified_at": _now(), "modified_by": by, "tier": chosen, "data_type": data_type, "labels": []}
        if not accept(version):
            return version, False
        self._save(db, row, {**document, "versions": versions + [version]})
        return version, True

    def label(self, db, name: str, version: int | None, labels: list[str]) -> tuple[list[str], int]:
        """Attach labels to a version (the current one by default), moving each from any other
        version; those SSM refuses come back as invalid. (invalid labels, version)"""
        row, document = self._find(db, name)
        target = self._version(document, name, version)
        invalid = [label for label in labels if not valid_label(label)]
        adding = [label for label in dict.fromkeys(labels) if valid_label(label) and label not in target["labels"]]
        if len(target["labels"]) + len(adding) > MAX_LABELS:
            raise ParameterError("ParameterVersionLabelLimitExceeded", "A parameter version can have maximum 10 "
                                 "labels. Move one or more labels to another version and try again.")
        for other in document["versions"]:
            other["labels"] = [label for label in other["labels"] if label not in adding]
        target["labels"] += adding
        self._save(db, row, document)
        return invalid, target["version"]

    def unlabel(self, db, name: str, version: int, labels: list[str]) -> tuple[list[str], list[str]]:
        """(removed labels, labels the version did not have)"""
        row, document = self._find(db, name)
        target = self._version(document, name, version)
        removed = [label for label in dict.fromkeys(labels) if label in target["labels"]]
        target["labels"] = [label for label in target["labels"] if label not in removed]
        self._save(db, row, document)
        return removed, [label for label in dict.fromkeys(labels) if label not in removed]

    @staticmethod
    def _version(document: dict, name: str, version: int | None) -> dict:
        if version is None:
            return document["versions"][-1]
        for v in document["versions"]:
            if v["version"] == version:
                return v
        raise ParameterError("ParameterVersionNotFound", f"Systems Manager could not find version {version} of "
                             f"{name}. Verify the version and try again.")

    def delete(self, db, name: str) -> str | None:
        """Remove a parameter with all its versions; its key, or None if there was none."""
        row = self._row(db, _own(db, name).name)
        if row is None:
            return None
        db.delete(table, table.c.name == row["name"])
        return key(row["name"])

    def exists(self, db, name: str) -> str | None:
        row = self._row(db, _own(db, name).name)
        return key(row["name"]) if row else None


def _own(db, name: str) -> Ref:
    """The parameter a name or ARN names in the handle's account and region; an ARN of another
    account's or region's parameter names none of them."""
    wanted = ref(name)
    if wanted.account is not None and (wanted.account, wanted.region) != (db.account_id, db.region):
        raise not_found(name)
    return wanted


def _tier(asked: str | None, current: str, value: str) -> str:
    """The tier a version goes in: as asked, else the parameter's (a new one is Standard, the
    default tier); Intelligent-Tiering picks Advanced only for what Standard cannot hold."""
    if asked == "Intelligent-Tiering":
        asked = "Advanced" if current == "Advanced" or len(value) > LIMITS["Standard"][0] else "Standard"
    tier = asked or current
    if current == "Advanced" and tier == "Standard":
        raise ParameterError("ValidationException", "This parameter uses the advanced-parameter tier. You can't "
                             "downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. "
                             "If necessary, you can delete the advanced parameter and recreate it as a standard "
                             "parameter.")
    if len(value) > LIMITS[tier][0]:
        raise ParameterError("ValidationException", f"{tier} tier parameters support a maximum parameter value of "
                             f"{LIMITS[tier][0]} characters." + (" To create a larger parameter value, upgrade the "
                             "parameter to use the advanced-parameter tier. For more information, see https://docs."
                             "aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
                             if tier == "Standard" else ""))
    return tier
