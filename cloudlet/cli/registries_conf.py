"""Tell podman, skopeo and buildah (containers-registries.conf) that cloudlet's registry
speaks plain HTTP, so that `podman pull 127.0.0.1:4566/...` works as typed. `cloudlet
setup` writes it for the default endpoint; `cloudlet setup --registry HOST:PORT` for another."""

from pathlib import Path

DROP_IN = Path("/etc/containers/registries.conf.d/50-cloudlet.conf")


def text(host_port: str) -> str:
    # *.localhost: the repository URIs' <account>.dkr.ecr.<region>.localhost names. A
    # wildcard entry may not name a port, nor have a location.
    return ("# Written by `cloudlet setup`: cloudlet's registry listens without TLS.\n"
            f'[[registry]]\nlocation = "{host_port}"\ninsecure = true\n\n'
            '[[registry]]\nprefix = "*.localhost"\ninsecure = true\n')


def write(host_port: str, path: Path = DROP_IN) -> bool:
    """True if the file was written (or already said so); False where there is no
    containers configuration to extend or no right to."""
    if not path.parent.parent.is_dir():
        return False
    wanted = text(host_port)
    try:
        if path.exists() and path.read_text() == wanted:
            return True
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(wanted)
        tmp.replace(path)
    except PermissionError:
        return False
    return True
