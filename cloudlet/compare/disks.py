"""The bytes an AMI made by `cloudlet image to-ami` holds on this host: its disk's blocks
(a qcow2 file keeps the file system's free space out)."""

import json
from pathlib import Path

from cloudlet.bootstrap.amis import IMPORTED
from cloudlet.config import Config
from cloudlet.store import Store
from cloudlet.store.schema import ec2_images


def ami_disk_bytes(data_dir: Path, ec2, ami: str) -> int | None:
    image = ec2.describe_images(ImageIds=[ami])["Images"][0]
    with Store(Config(data_dir=data_dir).db_path).scoped(image["OwnerId"], ec2.meta.region_name, write=False) as db:
        row = db.one(ec2_images, ec2_images.c.image_id == ami)
    base = json.loads(row["body"]).get("_base", "") if row else ""
    if not IMPORTED.fullmatch(base):
        return None
    disk = Path(data_dir) / "boot" / "amis" / f"{base}.qcow2"
    return disk.stat().st_blocks * 512 if disk.exists() else None
