"""AWS-style identifiers and ARNs."""

import secrets
import string
from datetime import datetime, timezone

_UPPER_ALNUM = string.ascii_uppercase + string.digits


def resource_id(prefix: str) -> str:
    """EC2-style long ID: prefix, dash, 17 lowercase hex digits (e.g. i-0abc...)."""
    return f"{prefix}-{secrets.token_hex(9)[:17]}"


def account_id() -> str:
    # 12 digits, never starting with 0 so it survives being read as a number by tools.
    return str(secrets.randbelow(9 * 10**11) + 10**11)


def access_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(_UPPER_ALNUM) for _ in range(16))


def secret_access_key() -> str:
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(secrets.choice(alphabet) for _ in range(40))


def user_id() -> str:
    return "AIDA" + "".join(secrets.choice(_UPPER_ALNUM) for _ in range(17))


def request_id() -> str:
    """A UUID-shaped request id, as most AWS services return."""
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def now() -> str:
    """The current time as AWS's APIs write it (ISO 8601, UTC)."""
    return datetime.now(timezone.utc).isoformat()
