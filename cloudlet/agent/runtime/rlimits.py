"""Ulimits for the container process, clamped to what this host lets us grant.

Raising a hard limit needs CAP_SYS_RESOURCE, which the agent may not have (it does not
on our own hosts): runc would then fail the whole start. So a request above the host's
hard limit is lowered to it, and the caller is told which limits were lowered.
"""

from __future__ import annotations

import resource

from .spec import Ulimit

# The soft file limit programs expect (select() breaks above 1024); the hard limit is
# whatever the host allows, so programs that know better can raise their own.
_DEFAULT_NOFILE_SOFT = 1024
_U64 = (1 << 64) - 1


class UlimitError(ValueError):
    pass


def _resource(name: str) -> tuple[str, int]:
    key = name.upper()
    if not key.startswith("RLIMIT_"):
        key = "RLIMIT_" + key
    num = getattr(resource, key, None)
    if num is None:
        raise UlimitError(f"unknown ulimit {name!r}")
    return key, num


def _as_int(v: int) -> int:
    return -1 if v == resource.RLIM_INFINITY else v


def clamp_rlimits(ulimits: list[Ulimit]) -> tuple[list[dict], list[str]]:
    """OCI process.rlimits for the request (-1 meaning unlimited), and one warning per
    limit that had to be lowered."""
    nofile_hard = _as_int(resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    wanted = {"RLIMIT_NOFILE": (_DEFAULT_NOFILE_SOFT, nofile_hard)}
    for u in ulimits:
        key, _ = _resource(u.name)
        if u.hard != -1 and (u.soft == -1 or u.soft > u.hard):
            raise UlimitError(f"ulimit {u.name}: soft limit {u.soft} is above hard limit {u.hard}")
        wanted[key] = (u.soft, u.hard)
    out, warnings = [], []
    for key, (soft, hard) in wanted.items():
        host_hard = _as_int(resource.getrlimit(_resource(key)[1])[1])
        if host_hard != -1:
            new_hard = host_hard if hard == -1 else min(hard, host_hard)
            new_soft = new_hard if soft == -1 else min(soft, new_hard)
            if (new_soft, new_hard) != (soft, hard):
                warnings.append(f"ulimit {key.removeprefix('RLIMIT_').lower()} {soft}:{hard} is above "
                                f"the host's hard limit {host_hard}; using {new_soft}:{new_hard}")
            soft, hard = new_soft, new_hard
        # OCI limits are unsigned 64-bit: unlimited (-1) is all ones.
        out.append({"type": key, "soft": soft & _U64, "hard": hard & _U64})
    return out, warnings
