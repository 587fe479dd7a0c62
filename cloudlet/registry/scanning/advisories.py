"""Advisories in OSV's JSON format: imported into the store (`cloudlet scan-db import` takes
a file, a directory of files or an OSV zip dump), and matched against installed packages."""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import delete, func, insert, select

from cloudlet.store.schema import advisories, advisory_sources

from . import cvss
from .inventory import Package
from .versions import compare

SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]  # ECR's, worst first
_SEVERITY_WORDS = {"critical": "CRITICAL", "high": "HIGH", "important": "HIGH", "moderate": "MEDIUM",
                   "medium": "MEDIUM", "low": "LOW", "negligible": "INFORMATIONAL", "unimportant": "INFORMATIONAL"}


class ScanDBError(Exception):
    pass


def _each(name: str, data: bytes):
    """A file holds one advisory, or a list of them."""
    doc = json.loads(data)
    if not isinstance(doc, list):
        yield name, doc
        return
    for i, item in enumerate(doc):
        yield f"{name}[{i}]", item


def _documents(path: Path):
    """(name, parsed JSON) of every advisory under path."""
    if path.is_dir():
        for p in sorted(path.rglob("*.json")):
            yield from _each(str(p), p.read_bytes())
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for name in sorted(n for n in z.namelist() if n.endswith(".json")):
                yield from _each(name, z.read(name))
    else:
        yield from _each(str(path), path.read_bytes())


def import_path(store, path: str | Path) -> int:
    """Load every advisory under path (replacing earlier copies of the same ids); returns
    how many. Nothing is loaded if any document is not an OSV advisory."""
    path = Path(path)
    rows = []
    try:
        for name, doc in _documents(path):
            if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or "modified" not in doc:
                raise ScanDBError(f"{name}: not an OSV advisory (it needs an id and modified)")
            for affected in doc.get("affected") or []:
                package = affected.get("package") or {}
                if package.get("ecosystem") and package.get("name"):
                    rows.append({"id": doc["id"], "ecosystem": package["ecosystem"],
                                 "package": _normal(package["ecosystem"], package["name"]),
                                 "modified": doc["modified"], "data": json.dumps(doc)})
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ScanDBError(f"{path}: {e}") from None
    ids = {r["id"] for r in rows}
    with store.begin() as conn:
        for chunk in (list(ids)[i:i + 500] for i in range(0, len(ids), 500)):
            conn.execute(delete(advisories).where(advisories.c.id.in_(chunk)))
        for i in range(0, len(rows), 500):
            conn.execute(insert(advisories), rows[i:i + 500])
        conn.execute(delete(advisory_sources).where(advisory_sources.c.source == str(path.resolve())))
        conn.execute(insert(advisory_sources).values(source=str(path.resolve()), advisories=len(ids),
                                                     imported_at=datetime.now(timezone.utc).isoformat()))
    return len(ids)


@dataclass
class Database:
    sources: list[str]
    updated_at: str | None  # the newest advisory's modified time: what ECR calls the source's update time
    count: int


def describe(store) -> Database:
    with store.begin(write=False) as conn:
        sources = [r.source for r in conn.execute(select(advisory_sources).order_by(advisory_sources.c.source))]
        newest, count = conn.execute(select(func.max(advisories.c.modified),
                                            func.count(func.distinct(advisories.c.id)))).one()
    return Database(sources, newest, count)


def _affected(events: list[dict], ecosystem: str, version: str) -> bool:
    introduced = None
    for event in events:
        if "introduced" in event:
            introduced = event["introduced"]
        elif introduced is not None and ("fixed" in event or "last_affected" in event):
            bound = event.get("fixed") or event.get("last_affected")
            above = introduced == "0" or compare(ecosystem, version, introduced) >= 0
            below = compare(ecosystem, version, bound) < 0 if "fixed" in event else \
                compare(ecosystem, version, bound) <= 0
            if above and below:
                return True
            introduced = None
    return introduced is not None and (introduced == "0" or compare(ecosystem, version, introduced) >= 0)


def _severity(doc: dict, affected: dict) -> tuple[str, float | None, str | None]:
    """(ECR severity, CVSS v3 score, vector) from the distribution's own word when there is
    one, from the CVSS v3 vector otherwise."""
    vector = next((s["score"] for s in doc.get("severity") or [] if s.get("type") == "CVSS_V3"), None)
    score = cvss.base_score(vector) if vector else None
    for where in (affected.get("ecosystem_specific") or {}, affected.get("database_specific") or {},
                  doc.get("database_specific") or {}):
        word = str(where.get("severity") or where.get("urgency") or "").lower().rstrip("*")
        if word in _SEVERITY_WORDS:
            return _SEVERITY_WORDS[word], score, vector
    return (cvss.rating(score) if score is not None else "UNDEFINED"), score, vector


def _normal(ecosystem: str, name: str) -> str:
    """PyPI names compare as PEP 503 normalizes them (Flask_Login is flask-login)."""
    return re.sub(r"[-_.]+", "-", name).lower() if ecosystem == "PyPI" else name


def findings(store, os_name: str | None, packages: list[Package]) -> list[dict]:
    """ECR's finding records for every advisory that affects an installed package."""
    out, seen = [], set()
    with store.begin(write=False) as conn:
        for pkg in packages:
            ecosystems = [pkg.ecosystem] + ([os_name] if os_name and os_name.startswith(pkg.ecosystem) else [])
            names = {_normal(pkg.ecosystem, pkg.source), _normal(pkg.ecosystem, pkg.name)}
            rows = conn.execute(select(advisories.c.data).where(
                advisories.c.ecosystem.in_(ecosystems), advisories.c.package.in_(names))).all()
            for (data,) in rows:
                doc = json.loads(data)
                for affected in doc.get("affected") or []:
                    package = affected.get("package") or {}
                    if package.get("ecosystem") not in ecosystems or \
                            _normal(pkg.ecosystem, package.get("name", "")) not in names:
                        continue
                    hit = pkg.version in (affected.get("versions") or []) or any(
                        _affected(r.get("events") or [], pkg.ecosystem, pkg.version)
                        for r in affected.get("ranges") or [] if r.get("type") in ("ECOSYSTEM", "SEMVER"))
                    if hit and (doc["id"], pkg.name) not in seen:
                        seen.add((doc["id"], pkg.name))
                        out.append(_finding(doc, affected, pkg))
    return sorted(out, key=lambda f: (SEVERITIES.index(f["severity"]), f["name"]))


def _finding(doc: dict, affected: dict, pkg: Package) -> dict:
    severity, score, vector = _severity(doc, affected)
    name = next((a for a in doc.get("aliases") or [] if a.startswith("CVE-")), doc["id"])
    attributes = [{"key": "package_version", "value": pkg.version}, {"key": "package_name", "value": pkg.name}]
    if score is not None:
        attributes += [{"key": "CVSS3_SCORE", "value": str(score)}, {"key": "CVSS3_VECTOR", "value": vector}]
    return {"name": name, "description": doc.get("summary") or doc.get("details", "")[:500],
            "uri": f"https://osv.dev/vulnerability/{doc['id']}", "severity": severity, "attributes": attributes}
