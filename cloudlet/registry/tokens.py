"""ECR authorization tokens: what GetAuthorizationToken hands out and the registry's Basic
auth accepts (user "AWS", the token as password), valid 12 hours for one account; and the
tokens of GetDownloadUrlForLayer's URLs, which grant the download of one blob of one
repository for an hour (as the presigned S3 URLs AWS hands out) and nothing else.

A token is self-contained and signed with a key the server makes once and keeps in the
store (sealed under the host key), so it needs no table and survives restarts; a forged or
expired one is refused.
A download token names its kind in the signed claims, so it never passes for a password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets as random
import time
from dataclasses import dataclass

from cloudlet.store import Store
from cloudlet.store.sealing import server_secret

LIFETIME = 12 * 3600
DOWNLOAD_LIFETIME = 3600
_DOWNLOAD = "blob"  # the "k" claim of a download token; passwords have none
_KEY_NAME = "registry-token-key"


@dataclass(frozen=True)
class Token:
    account_id: str
    region: str
    expires_at: float


@dataclass(frozen=True)
class DownloadGrant:
    account_id: str
    region: str
    repository: str
    digest: str
    expires_at: float


def _key(store: Store) -> bytes:
    return bytes.fromhex(server_secret(store, _KEY_NAME, lambda: random.token_hex(32)))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    def __init__(self, store: Store):
        self._key = _key(store)

    def issue(self, account_id: str, region: str, now: float | None = None) -> tuple[str, float]:
        """(password, expiry in seconds since the epoch)."""
        expires = int((now or time.time()) + LIFETIME)
        return self._signed({"a": account_id, "r": region, "e": expires}), expires

    def verify(self, password: str, now: float | None = None) -> Token | None:
        claims = self._claims(password)
        if claims is None or "k" in claims:
            return None
        try:
            token = Token(str(claims["a"]), str(claims["r"]), float(claims["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return token if token.expires_at > (now or time.time()) else None

    def issue_download(self, account_id: str, region: str, repository: str, digest: str,
                       now: float | None = None) -> str:
        expires = int((now or time.time()) + DOWNLOAD_LIFETIME)
        return self._signed({"k": _DOWNLOAD, "a": account_id, "r": region, "n": repository, "d": digest,
                             "e": expires})

    def read_download(self, token: str) -> DownloadGrant | None:
        """What a download token grants, expired or not (the caller says which); None if we
        did not sign it as one."""
        claims = self._claims(token)
        if claims is None or claims.get("k") != _DOWNLOAD:
            return None
        try:
            return DownloadGrant(str(claims["a"]), str(claims["r"]), str(claims["n"]), str(claims["d"]),
                                 float(claims["e"]))
        except (ValueError, KeyError, TypeError):
            return None

    def _signed(self, claims: dict) -> str:
        payload = _b64(json.dumps(claims).encode())
        return f"{payload}.{self._sign(payload)}"

    def _claims(self, token: str) -> dict | None:
        payload, _, signature = token.partition(".")
        # As bytes: compare_digest refuses str with anything but ASCII, and tokens come from anyone.
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            return None
        try:
            claims = json.loads(_unb64(payload))
        except ValueError:
            return None
        return claims if isinstance(claims, dict) else None

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
