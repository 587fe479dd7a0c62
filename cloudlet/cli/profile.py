"""Write the `cloudlet` profile into ~/.aws without touching any other profile.

Only the lines of our own section are replaced; the rest of each file (other profiles,
comments, ordering) is kept byte for byte.
"""

import os
from pathlib import Path


def replace_section(text: str, header: str, body: dict[str, str]) -> str:
    lines = text.splitlines()
    out, i, replaced = [], 0, False
    block = [f"[{header}]"] + [f"{k} = {v}" for k, v in body.items()]
    while i < len(lines):
        if lines[i].strip() == f"[{header}]":
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("["):
                i += 1
            out.extend(block)
            replaced = True
            continue
        out.append(lines[i])
        i += 1
    if not replaced:
        if out and out[-1].strip():
            out.append("")
        out.extend(block)
    return "\n".join(out) + "\n"


def _rewrite(path: Path, header: str, body: dict[str, str]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    old = path.read_text() if path.exists() else ""
    tmp = path.with_name(path.name + ".cloudlet-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(replace_section(old, header, body))
    os.replace(tmp, path)


def write_profile(cred, region: str, endpoint: str, home: Path | None = None) -> Path:
    aws = (home or Path.home()) / ".aws"
    _rewrite(aws / "credentials", "cloudlet", {
        "aws_access_key_id": cred.access_key_id,
        "aws_secret_access_key": cred.secret_access_key,
    })
    _rewrite(aws / "config", "profile cloudlet", {"region": region, "endpoint_url": endpoint, "output": "json"})
    return aws
