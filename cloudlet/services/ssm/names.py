"""What Parameter Store takes as a parameter name or a path, refused with its errors:
letters, digits and . - _ in up to 15 levels ("a", "/a", "/a/b"; a name with a level
needs its leading slash), at most 1011 characters with the ARN's prefix, and nothing a
tenant writes may begin with "aws" (AWS's own parameters, refused as access denied) or
"ssm"."""

import re

from cloudlet.edge.errors import AWSError

MAX_LEVELS = 15
MAX_NAME = 1011  # the ARN's "arn:aws:ssm:<region>:<account>:parameter/" counted in
_SEGMENT = r"[a-zA-Z0-9_.\-]+"
_NAME = re.compile(rf"{_SEGMENT}|(/{_SEGMENT})+")
_PATH = re.compile(rf"/|(/{_SEGMENT})+/?")

BAD_NAME = ("Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it can consist "
            "of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the "
            "following 3 symbols .-_")
_PREFIXED = "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive)."
# AWS's message, its backslashes included
_BAD_PATH = ("The parameter doesn't meet the parameter name requirements. The parameter name must begin with a "
             "forward slash \"/\". It can't be prefixed with \\\"aws\\\" or \\\"ssm\\\" (case-insensitive). It must "
             "use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special "
             "characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". "
             "Valid example: /get/parameters2-/by1./path0_.")
_COMMON = ("Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). When using "
           "global parameters, please specify within a global namespace.")


def invalid(message: str) -> AWSError:
    return AWSError("ValidationException", message)


def reserved(name: str) -> bool:
    """AWS's own namespace: public parameters live under /aws, and no account writes there."""
    return name.strip().lstrip("/").lower().startswith("aws")


def refuse_reserved(name: str) -> None:
    if reserved(name):
        raise AWSError("AccessDeniedException", f"No access to reserved parameter name: {name.strip().lstrip('/')}.")


def _levels(name: str) -> int:
    return len(name.strip("/").split("/"))


def check_read(name: str) -> None:
    """A name (after its ARN and selector are taken off) that can name a parameter at all."""
    if not _NAME.fullmatch(name):
        raise invalid(BAD_NAME)


def check_new(name: str, arn_prefix: str) -> None:
    """A name PutParameter may create."""
    refuse_reserved(name)
    check_read(name)
    if name.lstrip("/").lower().startswith("ssm"):
        raise invalid(BAD_NAME if name.count("/") > 1 else _PREFIXED)
    if _levels(name) > MAX_LEVELS:
        raise AWSError("HierarchyLevelLimitExceededException", f"A hierarchy can have a maximum of {MAX_LEVELS} "
                       f"levels. {name.strip('/').count('/') + 1} levels were given: {name[:100]}")
    if len(arn_prefix) + len(name.lstrip("/")) > MAX_NAME:
        raise invalid(f"Parameter name: the fully qualified name, with the ARN's prefix {arn_prefix}, can have at "
                      f"most {MAX_NAME} characters; this one has {len(arn_prefix) + len(name.lstrip('/'))}.")


def check_path(path: str) -> None:
    """A GetParametersByPath path: "/" or levels, with or without a trailing slash."""
    if not _PATH.fullmatch(path):
        raise invalid(_BAD_PATH)
    if path != "/" and _levels(path) > MAX_LEVELS:
        raise invalid(f"A hierarchy can have a maximum of {MAX_LEVELS} levels.")


def check_filter_path(path: str) -> None:
    """A DescribeParameters Path filter, which searches the account's own parameters only."""
    check_path(path)
    if path.lstrip("/").lower().startswith(("aws", "ssm")):
        raise invalid(_COMMON)
