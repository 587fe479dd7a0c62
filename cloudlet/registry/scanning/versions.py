"""Version order per ecosystem: dpkg's (Debian), apk's (Alpine, close enough with the same
rules for the common forms), PEP 440's (PyPI)."""

from __future__ import annotations

import re
from functools import cmp_to_key

from packaging.version import InvalidVersion, Version


def _order(c: str) -> int:
    # dpkg: "~" sorts before everything, even the end; letters before non-letters.
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's verrevcmp: alternate runs of non-digits (by _order) and digits (numerically)."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i, j = i + 1, j + 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i, j = i + 1, j + 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_dpkg(v: str) -> tuple[int, str, str]:
    epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
    upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
    return int(epoch) if epoch.isdigit() else 0, upstream, revision


def dpkg_compare(a: str, b: str) -> int:
    ea, ua, ra = _split_dpkg(a)
    eb, ub, rb = _split_dpkg(b)
    if ea != eb:
        return ea - eb
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def _apk_key(v: str):
    # 1.2.3_rc1-r4: numbers, letters and the release number compare in turn.
    body, _, release = v.partition("-r")
    parts = [int(p) if p.isdigit() else p for p in re.split(r"[._]", body)]
    return [(0, p) if isinstance(p, int) else (1, p) for p in parts], int(release) if release.isdigit() else 0


def compare(ecosystem: str, a: str, b: str) -> int:
    """<0, 0, >0 as a is older than, equal to, newer than b."""
    if ecosystem == "Debian":
        return dpkg_compare(a, b)
    if ecosystem == "PyPI":
        try:
            va, vb = Version(a), Version(b)
            return (va > vb) - (va < vb)
        except InvalidVersion:
            pass
    ka, kb = _apk_key(a), _apk_key(b)
    return (ka > kb) - (ka < kb)


def sort_key(ecosystem: str):
    return cmp_to_key(lambda a, b: compare(ecosystem, a, b))
