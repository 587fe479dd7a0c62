"""The policy documents ECR keeps (repository and registry policies): IAM-style JSON whose
text is stored as given, once it reads as a policy."""

import json
import re

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


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _names_account(principal, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return any(p in ("*", account, f"arn:aws:iam::{account}:root") for p in _listed(principal.get("AWS", [])))


def _names_action(actions, action: str) -> bool:
    # IAM's wildcards only: * any run of characters, ? one
    return any(isinstance(a, str) and re.fullmatch(re.escape(a).replace(r"\*", ".*").replace(r"\?", "."), action,
                                                   re.IGNORECASE | re.DOTALL) for a in _listed(actions))


def grants(text: str | None, account: str, action: str) -> bool:
    """Whether a registry policy lets another account (as its root) do action: an Allow
    naming both, and no Deny that does. Statements with a Condition, NotPrincipal or
    NotAction are not evaluated: such an Allow grants nothing, such a Deny is taken as
    denying (the safe side of what cloudlet cannot tell)."""
    if not text:
        return False
    allowed = False
    for s in _listed(json.loads(text)["Statement"]):
        # a Not... member may name anyone or anything: taken as naming this one
        names = (("NotPrincipal" in s or _names_account(s.get("Principal"), account))
                 and ("NotAction" in s or _names_action(s.get("Action", []), action)))
        if s.get("Effect") == "Deny" and names:
            return False
        unsure = any(k in s for k in ("Condition", "NotPrincipal", "NotAction"))
        allowed |= s.get("Effect") == "Allow" and names and not unsure
    return allowed
