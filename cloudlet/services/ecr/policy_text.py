"""The policy documents ECR keeps (repository and registry policies): IAM-style JSON whose
text is stored as given, once it reads as a policy."""

import json

from cloudlet.edge.errors import AWSError


def _refuse(constant: str):
    raise ValueError(f"{constant} is not JSON")


def check_policy(text: str, kind: str) -> None:
    """Refuse text that is not a policy document (kind: "repository" or "registry"), as ECR does."""
    try:
        doc = json.loads(text, parse_constant=_refuse)
        statements = doc["Statement"]
        if isinstance(statements, dict):
            statements = [statements]
        valid = isinstance(statements, list) and all(
            isinstance(s, dict) and s.get("Effect") in ("Allow", "Deny") for s in statements)
    except (ValueError, TypeError, KeyError, RecursionError):  # RecursionError: nesting past Python's limit
        valid = False
    if not valid:
        raise AWSError("InvalidParameterException", f"Invalid parameter at 'PolicyText' failed to satisfy "
                       f"constraint: 'Invalid {kind} policy provided'")
